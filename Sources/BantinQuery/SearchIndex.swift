import BantinCore
import Foundation
import NIOConcurrencyHelpers

/// The in-memory index a query replica serves from: articles, folded-syllable postings with
/// positions (title and body), and canonical entities with their articles.
///
/// Readers take an immutable snapshot (copy-on-write structs behind a lock held only to swap a
/// reference), so a search never sees a half-applied article and never waits for the follower.
public final class SearchIndex: Sendable {
    /// The postings of one term, in document order, packed into a few flat arrays: no allocation per
    /// posting (which cost 32 bytes of array header each and a cache miss on every visit), and a
    /// phrase check streams through two position arrays instead of chasing one pointer per document.
    struct PostingList: Sendable {
        var documents: [Int32] = []
        /// Occurrences in each document's title (saturating at 65,535: BM25 flattens long before).
        var titleFrequencies: [UInt16] = []
        /// The positions in documents[i] are positions[ends[i - 1] ..< ends[i]] (from 0 for the first).
        var ends: [UInt32] = []
        var positions: [Int32] = []

        var count: Int { documents.count }

        func positionRange(_ i: Int) -> Range<Int> { (i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i]) }

        func frequency(_ i: Int) -> Int { Int(ends[i]) - (i == 0 ? 0 : Int(ends[i - 1])) }

        mutating func append(document: Int32, positions new: [Int32], titleLength: Int32) {
            documents.append(document)
            var inTitle = 0
            for p in new { if p < titleLength { inTitle += 1 } else { break } }
            titleFrequencies.append(UInt16(clamping: inTitle))
            positions.append(contentsOf: new)
            ends.append(UInt32(positions.count))
        }
    }

    /// The documents where two syllables stand side by side, in order ("phong vu", from "phòng vụ"), with
    /// how often and how often in the title. Two-syllable words are most of Vietnamese vocabulary, so most
    /// phrases (and the side-by-side bonus of every two-word query) are one lookup here rather than a walk
    /// through both syllables' positions in every document holding both.
    struct PairList: Sendable {
        var documents: [Int32] = []
        var frequencies: [UInt16] = []
        var titleFrequencies: [UInt16] = []

        var count: Int { documents.count }

        mutating func append(document: Int32, frequency: Int, titleFrequency: Int) {
            documents.append(document)
            frequencies.append(UInt16(clamping: frequency))
            titleFrequencies.append(UInt16(clamping: titleFrequency))
        }
    }

    struct Snapshot: Sendable {
        var articles: [Article] = []
        var articleIndex: [String: Int] = [:]
        var postings: [String: PostingList] = [:]
        /// Adjacent syllable pairs, keyed "first second" (folded).
        var pairs: [String: PairList] = [:]
        /// Lower-case syllables with diacritics → the documents holding them, ascending. What ranks
        /// exact-diacritic matches first: "thông tin" prefers articles with "thông" over ones with only "thong".
        var exactDocuments: [String: [Int32]] = [:]
        var lengths: [Int32] = []
        /// lengthsBefore[d]: the summed lengths of documents 0..<d, so that BM25's statistics can be taken over any
        /// prefix of the collection (see `search`: a cursor pins the prefix its ranking was made from).
        var lengthsBefore: [Int] = [0]
        var titleLengths: [Int32] = []
        /// Per document, for filters and facets: folded province names (as filed and current), the province to
        /// show, the date (ISO, or ""), and the entity ids mentioned.
        var provinceKeys: [[String]] = []
        var provinceNames: [String] = []
        var dates: [String] = []
        var documentEntities: [[String]] = []
        /// Per document, the events its extraction found (who met whom, where, when).
        var documentEvents: [[Event]] = []
        var entities: [String: Entity] = [:]
        var entityArticles: [String: [Int]] = [:]
        var entityRoles: [String: [Role]] = [:]
        var entityDocuments: [String: [DocumentRef]] = [:]
        var entityEvents: [String: [Event]] = [:]
        var appliedSeq: UInt64 = 0
        var headSeq: UInt64 = 0
    }

    private let current = NIOLockedValueBox(Snapshot())
    private let progress = NIOLockedValueBox(ProgressState())

    private struct ProgressState {
        /// Whether the feed has told this replica where ingest's head is (every change and heartbeat carries it).
        var headKnown = false
        /// When the replica last had everything up to the head applied (start time until then).
        var caughtUpAt = ContinuousClock.now
    }

    /// Where this replica stands against ingest, for readiness and the lag metrics.
    public struct FeedProgress: Sendable {
        /// False until the feed first reports ingest's head: until then the lag is unknown, not zero.
        public var headKnown: Bool
        public var lagSequences: UInt64
        /// How long the replica has been behind: 0 when caught up, else the time since it last was.
        public var lagSeconds: Double
    }

    public var feedProgress: FeedProgress {
        let s = snapshot
        let lag = max(s.headSeq, s.appliedSeq) - s.appliedSeq
        let (known, caughtUpAt) = progress.withLockedValue { ($0.headKnown, $0.caughtUpAt) }
        let behind = lag == 0 ? 0 : (ContinuousClock.now - caughtUpAt).inSeconds
        return FeedProgress(headKnown: known, lagSequences: lag, lagSeconds: behind)
    }

    public init() {}

    var snapshot: Snapshot { current.withLockedValue { $0 } }

    /// Swaps in a whole index (a loaded snapshot) at once.
    func replace(with snapshot: Snapshot) { current.withLockedValue { $0 = snapshot } }

    public var appliedSeq: UInt64 { snapshot.appliedSeq }

    public func noteHead(_ head: UInt64) {
        current.withLockedValue { $0.headSeq = max($0.headSeq, head) }
    }

    /// Applies one change from the feed, atomically for readers.
    public func apply(_ change: Change) { apply([change]) }

    /// Applies changes from the feed in one step: readers see all of them or none. Applying a batch costs one
    /// copy-on-write of the snapshot (when a reader still holds the previous one) instead of one per article.
    public func apply(_ changes: [Change]) {
        let caughtUp = current.withLockedValue { s in
            for change in changes { Self.apply(change, to: &s) }
            return s.appliedSeq >= s.headSeq
        }
        guard !changes.isEmpty else { return }
        progress.withLockedValue { p in
            p.headKnown = true
            if caughtUp { p.caughtUpAt = .now }
        }
    }

    private static func apply(_ change: Change, to s: inout Snapshot) {
            s.headSeq = max(s.headSeq, change.headSeq)
            guard let stored = change.stored, let article = stored.article else { return }
            defer { s.appliedSeq = max(s.appliedSeq, change.seq) }
            guard s.articleIndex[article.id] == nil else { return }  // replayed: already applied
            let doc = s.articles.count
            // The replica keeps the structure it searches and shows (title, lead, paragraphs, captions), not the
            // whole normalized text again: that would double its memory and its snapshots. Get on ingest has it.
            var kept = article
            kept.text = ""
            s.articles.append(kept)
            s.articleIndex[article.id] = doc
            var positions: [String: [Int32]] = [:]
            var pairs: [String: (count: Int, inTitle: Int)] = [:]
            var position: Int32 = 0
            let body = Self.body(of: article)
            for (field, isTitle) in [(article.title, true), (body, false)] {
                var previous: String?
                for token in VietnameseText.tokens(VietnameseText.fold(field)) {
                    let term = String(token.text)
                    positions[term, default: []].append(position)
                    if let previous {
                        pairs[previous + " " + term, default: (0, 0)].count += 1
                        if isTitle { pairs[previous + " " + term]!.inTitle += 1 }
                    }
                    previous = term
                    position += 1
                }
                if isTitle { s.titleLengths.append(position) }
                position += 8  // no phrase spans the title/body boundary
            }
            for (term, termPositions) in positions {
                s.postings[term, default: PostingList()].append(document: Int32(doc), positions: termPositions, titleLength: s.titleLengths[doc])
            }
            for (pair, counts) in pairs {
                s.pairs[pair, default: PairList()].append(document: Int32(doc), frequency: counts.count, titleFrequency: counts.inTitle)
            }
            for exact in Self.exactForms(article.title + "\n" + body) {
                s.exactDocuments[exact, default: []].append(Int32(doc))
            }
            s.lengths.append(position)
            s.lengthsBefore.append(s.lengthsBefore[doc] + Int(position))
            let extraction = stored.extraction ?? Extraction()
            // The article's province: the main event's place, else the province-level place mentioned most.
            let mentionCounts = extraction.mentions.reduce(into: [String: Int]()) { $0[$1.entityID, default: 0] += 1 }
            let located = extraction.events.first.flatMap { event in extraction.entities.first { $0.id == event.locationID } }
                ?? extraction.entities.filter { $0.type == .location && !$0.province.isEmpty }
                    .max { (mentionCounts[$0.id] ?? 0, $1.id) < (mentionCounts[$1.id] ?? 0, $0.id) }
            let provinceName = article.province.isEmpty ? located?.name ?? "" : article.province
            s.provinceNames.append(provinceName)
            s.provinceKeys.append(Array(Set([provinceName, located?.name ?? "", located?.province ?? ""].filter { !$0.isEmpty }.map(VietnameseText.fold))))
            let date = article.publishedAt.isEmpty ? extraction.events.first?.date ?? "" : article.publishedAt
            s.dates.append(date.first?.isNumber == true ? String(date.prefix(10)) : "")
            s.documentEntities.append(Array(Set(extraction.entities.map(\.id))))
            s.documentEvents.append(extraction.events)
            if let extraction = stored.extraction {
                for entity in extraction.entities {
                    if s.entities[entity.id] == nil { s.entities[entity.id] = entity } else {
                        for alias in entity.aliases where !s.entities[entity.id]!.aliases.contains(alias) {
                            s.entities[entity.id]!.aliases.append(alias)
                        }
                    }
                    s.entityArticles[entity.id, default: []].append(doc)
                }
                for var role in extraction.roles {
                    role.asOf = article.publishedAt
                    s.entityRoles[role.personID, default: []].append(role)
                    if !role.organizationID.isEmpty { s.entityRoles[role.organizationID, default: []].append(role) }
                }
                for document in extraction.documents { s.entityDocuments[document.id, default: []].append(document) }
                for event in extraction.events {
                    for participant in event.participantIDs { s.entityEvents[participant, default: []].append(event) }
                }
            }
    }

    /// The distinct syllables of `text` that carry diacritics, lower-cased (ASCII syllables have no
    /// other exact form than their folded one, which the postings hold already).
    static func exactForms(_ text: String) -> Set<String> {
        var distinct = Set<Substring>()
        for token in VietnameseText.tokens(text) where token.text.utf8.contains(where: { $0 >= 0x80 }) { distinct.insert(token.text) }
        // Most syllables are lower case already; lowercased() is only paid for the capitalized ones.
        return Set(distinct.map { $0.unicodeScalars.contains(where: VietnameseText.isUppercase) ? $0.lowercased() : String($0) })
    }

    /// The text searched besides the title: paragraphs, then captions.
    public static func body(of article: Article) -> String { (article.paragraphs + article.captions).joined(separator: "\n") }

    // MARK: queries

    public struct Hit: Sendable {
        public var article: Article
        public var score: Double
        public var provinceName: String
        /// The publication date, or the main event's when the page gave none (ISO, or "").
        public var date: String
        /// Which of the body's syllables (by index) the query matched, with the folded syllable: from the
        /// postings, so a snippet needs no second search of the text.
        public var bodyMatches: [Int: String]
    }

    public struct Result: Sendable {
        public var hits: [Hit]
        public var total: Int
        /// The prefix of the collection the ranking was computed over, for the next page's cursor.
        public var documents: Int
        public var facets: [Facet]
    }

    /// Ranks the articles matching `query` (and the request's filters, merged into it by the caller).
    ///
    /// BM25 (k1 1.2, b 0.75) over folded syllables, title matches counting three times; unquoted words that also
    /// appear side by side, in order, score double; articles holding every syllable the query typed with
    /// diacritics, with those diacritics, score a quarter more. Everything is computed over the first `documents`
    /// articles only (all of them when nil), which makes a ranking repeatable: a cursor carries that number, so
    /// page two is cut from the same ranking as page one however many articles arrived in between.
    public func search(_ query: SearchQuery, offset: Int, limit: Int, documents: Int? = nil, facets: [String] = []) -> Result {
        let s = snapshot
        let n = min(documents ?? s.articles.count, s.articles.count)
        guard n > 0 else { return Result(hits: [], total: 0, documents: n, facets: []) }
        let average = Double(s.lengthsBefore[n]) / Double(n)

        /// A term's postings and how many of them are below n (documents ascend).
        func postings(_ term: String) -> (list: PostingList, count: Int) {
            guard let list = s.postings[term] else { return (PostingList(), 0) }
            return (list, Self.seek(list.documents, from: 0, to: Int32(n)) { $0 })
        }
        func idf(_ documentFrequency: Int) -> Double {
            log(1 + (Double(n) - Double(documentFrequency) + 0.5) / (Double(documentFrequency) + 0.5))
        }
        func bm25(_ tf: Double, idf: Double, document: Int32) -> Double {
            let length = Double(s.lengths[Int(document)])
            return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
        }
        /// Documents matching one atom, ascending, with its score in each.
        func evaluate(_ atom: SearchQuery.Atom) -> [Match] {
            let lists = atom.terms.map(postings)
            guard let first = lists.first, !lists.contains(where: { $0.count == 0 }) else { return [] }
            var matches: [Match] = []
            if atom.terms.count == 1 {
                matches.reserveCapacity(first.count)
                let idf = idf(first.count)
                let list = first.list
                for i in 0..<first.count {
                    let inTitle = Int(list.titleFrequencies[i])
                    if atom.titleOnly, inTitle == 0 { continue }
                    let tf = atom.titleOnly ? Double(inTitle * 3) : Double(list.frequency(i) + inTitle * 2)
                    matches.append(Match(document: list.documents[i], score: bm25(tf, idf: idf, document: list.documents[i])))
                }
                return matches
            }
            // A phrase: every syllable, adjacent and in order.
            let pivot = lists.indices.min { lists[$0].count < lists[$1].count }!
            let idfSum = lists.reduce(0) { $0 + idf($1.count) }
            if lists.count == 2 {
                // Two syllables: the pair index has each document's count of them side by side.
                guard let pair = s.pairs[atom.terms[0] + " " + atom.terms[1]] else { return [] }
                let count = Self.seek(pair.documents, from: 0, to: Int32(n)) { $0 }
                matches.reserveCapacity(count)
                for i in 0..<count {
                    let inTitle = Int(pair.titleFrequencies[i])
                    if atom.titleOnly, inTitle == 0 { continue }
                    let tf = atom.titleOnly ? Double(inTitle * 3) : Double(Int(pair.frequencies[i]) + inTitle * 2)
                    matches.append(Match(document: pair.documents[i], score: bm25(tf, idf: idfSum, document: pair.documents[i])))
                }
                return matches
            }
            // Longer phrases: walk the rarest syllable's postings, seek the others forward to the same
            // document, then walk the positions of all of them together.
            let pivotList = lists[pivot].list
            var cursors = [Int](repeating: 0, count: lists.count)
            var walked = [Int](repeating: 0, count: lists.count)
            var stops = [Int](repeating: 0, count: lists.count)
            documents: for i in 0..<lists[pivot].count {
                let document = pivotList.documents[i]
                for j in lists.indices where j != pivot {
                    cursors[j] = Self.seek(lists[j].list.documents, from: cursors[j], to: document) { $0 }
                    guard cursors[j] < lists[j].count, lists[j].list.documents[cursors[j]] == document else { continue documents }
                    let range = lists[j].list.positionRange(cursors[j])
                    walked[j] = range.lowerBound
                    stops[j] = range.upperBound
                }
                let titleLength = s.titleLengths[Int(document)]
                var starts = 0, inTitle = 0
                for k in pivotList.positionRange(i) {
                    let p = pivotList.positions[k] - Int32(pivot)  // where the phrase would start
                    if p < 0 { continue }
                    if atom.titleOnly, p >= titleLength { break }
                    var adjacent = true
                    for j in lists.indices where j != pivot {
                        let target = p + Int32(j)
                        let positions = lists[j].list.positions
                        while walked[j] < stops[j], positions[walked[j]] < target { walked[j] += 1 }
                        if walked[j] == stops[j] || positions[walked[j]] != target {
                            adjacent = false
                            break
                        }
                    }
                    if adjacent {
                        starts += 1
                        if p < titleLength { inTitle += 1 }
                    }
                }
                guard starts > 0 else { continue }
                let tf = Double(starts + inTitle * 2)
                matches.append(Match(document: document, score: bm25(tf, idf: idfSum, document: document)))
            }
            return matches
        }

        // Clauses: each the union of its atoms; all of them intersected, smallest first.
        let clauseMatches = query.clauses.map { clause in clause.map(evaluate).reduce([], Self.union) }.sorted { $0.count < $1.count }
        var matches: [Match]
        if let smallest = clauseMatches.first {
            matches = clauseMatches.dropFirst().reduce(smallest, Self.intersection)
        } else {
            matches = (0..<Int32(n)).map { Match(document: $0, score: 0) }
        }
        for atom in query.excluded where !matches.isEmpty { matches = Self.difference(matches, evaluate(atom)) }
        let wantedEntities = Set(query.entityIDs)
        if !query.provinces.isEmpty || !query.dateFrom.isEmpty || !query.dateTo.isEmpty || !wantedEntities.isEmpty || !query.entityTypes.isEmpty {
            matches.removeAll { match in
                let d = Int(match.document)
                if !query.provinces.isEmpty, !query.provinces.contains(where: s.provinceKeys[d].contains) { return true }
                if !query.dateFrom.isEmpty, s.dates[d].isEmpty || s.dates[d] < query.dateFrom { return true }
                if !query.dateTo.isEmpty, s.dates[d].isEmpty || (s.dates[d] > query.dateTo && !s.dates[d].hasPrefix(query.dateTo)) { return true }
                if !wantedEntities.isEmpty, !wantedEntities.isSubset(of: s.documentEntities[d]) { return true }
                if !query.entityTypes.isEmpty,
                   !s.documentEntities[d].contains(where: { id in query.entityTypes.contains { $0 == s.entities[id]?.type } }) { return true }
                return false
            }
        }

        // Side-by-side bonus for unquoted words.
        let plain = query.clauses.compactMap { $0.count == 1 && !$0[0].isPhrase && !$0[0].titleOnly ? $0[0] : nil }
        if plain.count > 1, !matches.isEmpty {
            let sequence = SearchQuery.Atom(terms: plain.flatMap(\.terms), exact: plain.flatMap(\.exact), isPhrase: true)
            Self.scale(&matches, in: evaluate(sequence).map(\.document), by: 2)
        }
        // Exact diacritics first: articles holding each syllable typed with diacritics, as typed, score a quarter more.
        let exactSyllables = Set(query.clauses.flatMap { $0 }.flatMap { atom in zip(atom.exact, atom.terms).filter { $0 != $1 }.map(\.0) })
        if !exactSyllables.isEmpty, !matches.isEmpty {
            let lists = exactSyllables.map { s.exactDocuments[$0] ?? [] }
            Self.scale(&matches, in: lists.dropFirst().reduce(lists[0]) { Self.intersection($0, $1) }, by: 1.25)
        }

        let wanted = offset + limit
        let best: [Match] = switch query.sort {
        case .relevance: Self.top(wanted, of: matches) { $0.score > $1.score || ($0.score == $1.score && $0.document < $1.document) }
        case .date: Self.top(wanted, of: matches) { (s.dates[Int($0.document)], $0.document) > (s.dates[Int($1.document)], $1.document) }
        }
        let atoms = query.clauses.flatMap { $0 }
        let hits = best.dropFirst(offset).map {
            let d = Int($0.document)
            return Hit(article: s.articles[d], score: $0.score, provinceName: s.provinceNames[d], date: s.dates[d],
                       bodyMatches: Self.bodyMatches(of: $0.document, atoms: atoms, in: s))
        }
        return Result(hits: hits, total: matches.count, documents: n,
                      facets: facets.isEmpty ? [] : Self.facets(facets, over: matches.map(\.document), in: s))
    }

    /// The body syllables of `document` that `atoms` match (a phrase only where its syllables stand together).
    static func bodyMatches(of document: Int32, atoms: [SearchQuery.Atom], in s: Snapshot) -> [Int: String] {
        // Body positions start after the title and the gap that keeps phrases from spanning both.
        let bodyStart = s.titleLengths[Int(document)] + 8
        func positions(_ term: String) -> ArraySlice<Int32> {
            guard let list = s.postings[term] else { return [] }
            let i = seek(list.documents, from: 0, to: document) { $0 }
            return i < list.count && list.documents[i] == document ? list.positions[list.positionRange(i)] : []
        }
        var matches: [Int: String] = [:]
        for atom in atoms where !atom.titleOnly {
            let lists = atom.terms.map(positions)
            guard !lists.contains(where: \.isEmpty) else { continue }
            for p in lists[0] where p >= bodyStart {
                guard (1..<lists.count).allSatisfy({ contains(lists[$0], p + Int32($0)) }) else { continue }
                for (j, term) in atom.terms.enumerated() { matches[Int(p - bodyStart) + j] = term }
            }
        }
        return matches
    }

    /// A document and its score for the query; lists of them are kept in document order.
    struct Match {
        var document: Int32
        var score: Double
    }

    /// The first index at or after `from` whose key is at least `target` (galloping, then binary search): cheap
    /// when the target is near, logarithmic when it is far.
    static func seek<C: RandomAccessCollection>(_ list: C, from: C.Index, to target: Int32, by key: (C.Element) -> Int32) -> C.Index
    where C.Index == Int {
        var low = from, step = 1
        var high = from
        while high < list.endIndex, key(list[high]) < target {
            low = high + 1
            high = min(list.endIndex, high + step)
            step *= 2
        }
        high = min(high, list.endIndex)
        while low < high {
            let mid = (low + high) / 2
            if key(list[mid]) < target { low = mid + 1 } else { high = mid }
        }
        return low
    }

    static func contains(_ sorted: ArraySlice<Int32>, _ value: Int32) -> Bool {
        let i = seek(sorted, from: sorted.startIndex, to: value) { $0 }
        return i < sorted.endIndex && sorted[i] == value
    }

    /// Documents in either list; scores of a document in both add up.
    static func union(_ a: [Match], _ b: [Match]) -> [Match] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        var out: [Match] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i].document < b[j].document) { out.append(a[i]); i += 1 }
            else if i == a.count || b[j].document < a[i].document { out.append(b[j]); j += 1 }
            else { out.append(Match(document: a[i].document, score: a[i].score + b[j].score)); i += 1; j += 1 }
        }
        return out
    }

    /// Documents in both lists (the first the smaller), scores added.
    static func intersection(_ small: [Match], _ large: [Match]) -> [Match] {
        var out: [Match] = []
        var j = 0
        for m in small {
            j = seek(large, from: j, to: m.document, by: \.document)
            if j == large.count { break }
            if large[j].document == m.document { out.append(Match(document: m.document, score: m.score + large[j].score)) }
        }
        return out
    }

    static func intersection(_ a: [Int32], _ b: [Int32]) -> [Int32] {
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        var out: [Int32] = []
        var j = 0
        for d in small {
            j = seek(large, from: j, to: d) { $0 }
            if j == large.count { break }
            if large[j] == d { out.append(d) }
        }
        return out
    }

    /// The matches whose document is not in `excluded`.
    static func difference(_ matches: [Match], _ excluded: [Match]) -> [Match] {
        var j = 0
        return matches.filter { m in
            j = seek(excluded, from: j, to: m.document, by: \.document)
            return !(j < excluded.count && excluded[j].document == m.document)
        }
    }

    /// Multiplies the score of every match whose document is in `documents` (ascending) by `factor`.
    static func scale(_ matches: inout [Match], in documents: [Int32], by factor: Double) {
        var j = 0
        for i in matches.indices {
            j = seek(documents, from: j, to: matches[i].document) { $0 }
            if j == documents.count { break }
            if documents[j] == matches[i].document { matches[i].score *= factor }
        }
    }

    /// The first `k` matches in the order `before`, without sorting all of them: a page needs ten of a
    /// hundred thousand.
    static func top(_ k: Int, of matches: [Match], by before: (Match, Match) -> Bool) -> [Match] {
        guard k > 0 else { return [] }
        if matches.count <= 4 * k { return Array(matches.sorted(by: before).prefix(k)) }
        var best: [Match] = []  // in order, at most k
        best.reserveCapacity(k + 1)
        for m in matches {
            if best.count == k, !before(m, best[k - 1]) { continue }
            var low = 0, high = best.count
            while low < high {
                let mid = (low + high) / 2
                if before(best[mid], m) { low = mid + 1 } else { high = mid }
            }
            best.insert(m, at: low)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// Counts over every match, top 10 values per facet.
    static func facets(_ names: [String], over documents: [Int32], in s: Snapshot) -> [Facet] {
        names.map { name in
            var counts: [String: Int] = [:]
            for document in documents {
                let d = Int(document)
                switch name {
                case "province": if !s.provinceNames[d].isEmpty { counts[s.provinceNames[d], default: 0] += 1 }
                case "year": if s.dates[d].count >= 4 { counts[String(s.dates[d].prefix(4)), default: 0] += 1 }
                default:
                    let type: EntityType? = switch name { case "person": .person; case "organization": .organization; case "document": .document; default: nil }
                    for id in s.documentEntities[d] where s.entities[id]?.type == type { counts[id, default: 0] += 1 }
                }
            }
            let top = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(10)
            return Facet(name: name, counts: top.map { FacetCount(value: $0.key, count: UInt32($0.value), label: s.entities[$0.key]?.name ?? "") })
        }
    }

    public func article(id: String) -> Article? {
        let s = snapshot
        return s.articleIndex[id].map { s.articles[$0] }
    }

    public func entityPage(id: String) -> EntityPage? {
        let s = snapshot
        guard let entity = s.entities[id] else { return nil }
        var page = EntityPage()
        page.entity = entity
        page.roles = s.entityRoles[id] ?? []
        page.events = (s.entityEvents[id] ?? []).enumerated().sorted { ($0.element.date, $0.offset) < ($1.element.date, $1.offset) }.map(\.element)
        page.documents = s.entityDocuments[id] ?? []
        let articles = s.entityArticles[id] ?? []
        page.articleIDs = articles.map { s.articles[$0].id }

        // Association: the Dice coefficient of the two article sets, 2·|A∩B| / (|A| + |B|). It rewards
        // entities that appear mostly together and discounts ones that are everywhere.
        var together: [String: Int] = [:]
        for d in articles { for other in s.documentEntities[d] where other != id { together[other, default: 0] += 1 } }
        page.coMentions = together.compactMap { other, count -> CoMention? in
            // Dates share articles with everything in them and say nothing about who works with whom.
            guard let entity = s.entities[other], entity.type != .date else { return nil }
            var mention = CoMention()
            mention.entityID = other
            mention.name = entity.name
            mention.type = entity.type
            mention.articles = UInt32(count)
            mention.score = 2 * Double(count) / Double(articles.count + (s.entityArticles[other]?.count ?? count))
            return mention
        }.sorted { ($0.score, $0.articles, $1.entityID) > ($1.score, $1.articles, $0.entityID) }.prefix(20).map { $0 }

        var months: [String: Int] = [:]
        var provinces: [String: Int] = [:]
        for d in articles {
            months[String(s.dates[d].prefix(7)), default: 0] += 1
            if !s.provinceNames[d].isEmpty { provinces[s.provinceNames[d], default: 0] += 1 }
        }
        page.timeline = months.sorted { $0.key < $1.key }.map { PeriodCount(period: $0.key, articles: UInt32($0.value)) }
        page.provinces = provinces.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { FacetCount(value: $0.key, count: UInt32($0.value)) }
        return page
    }

    /// Events with participants on both sides, newest first. A side is an entity id or a province name:
    /// an organization also matches the people holding office in it (by the roles extracted), a place
    /// or province name matches entities filed under that province.
    public func meetings(_ request: MeetingsRequest) -> [Meeting] {
        let s = snapshot
        func matcher(_ side: String) -> (String) -> Bool {
            let folded = VietnameseText.fold(side)
            let named = s.entities[side]
            let province = named.map { $0.type == .location ? VietnameseText.fold($0.name) : "" } ?? folded
            return { id in
                if id == side { return true }
                guard let entity = s.entities[id] else { return false }
                if named?.type == .organization || named?.type == .person {
                    return (s.entityRoles[id] ?? []).contains { $0.personID == id && $0.organizationID == side }
                }
                guard !province.isEmpty else { return false }
                return VietnameseText.fold(entity.province) == province || (entity.type == .location && VietnameseText.fold(entity.name) == province)
            }
        }
        let sideA = matcher(request.sideA), sideB = matcher(request.sideB)
        let limit = request.limit == 0 ? 20 : Int(min(request.limit, 100))
        var found: [Meeting] = []
        for d in s.documentEvents.indices where !s.documentEvents[d].isEmpty {
            for event in s.documentEvents[d] {
                let a = event.participantIDs.filter(sideA), b = event.participantIDs.filter(sideB)
                guard !a.isEmpty, !b.isEmpty, Set(a) != Set(b) || a.count > 1 else { continue }
                let date = event.date.first?.isNumber == true ? event.date : s.dates[d]
                if !request.dateFrom.isEmpty, date.isEmpty || date < request.dateFrom { continue }
                if !request.dateTo.isEmpty, date.isEmpty || (date > request.dateTo && !date.hasPrefix(request.dateTo)) { continue }
                var meeting = Meeting()
                meeting.event = event
                meeting.articleID = s.articles[d].id
                meeting.articleTitle = s.articles[d].title
                meeting.date = date
                meeting.sideAIDs = a
                meeting.sideBIDs = b
                found.append(meeting)
            }
        }
        return Array(found.sorted { ($0.date, $0.articleID) > ($1.date, $1.articleID) }.prefix(limit))
    }

    /// Entities whose folded name or alias starts with the folded prefix, most-mentioned first.
    public func entities(prefix: String, type: EntityType?, limit: Int) -> [Entity] {
        let s = snapshot
        let wanted = Array(VietnameseText.fold(prefix).utf8)
        let candidates = s.entities.values.filter { type == nil || $0.type == type }
        let mentions = { (e: Entity) in s.entityArticles[e.id]?.count ?? 0 }
        let names = { (e: Entity) in ([e.name] + e.aliases).map { Array(VietnameseText.fold($0).utf8) } }
        let exact = candidates.filter { e in names(e).contains { $0.starts(with: wanted) } }
        if !exact.isEmpty {
            return exact.sorted { (mentions($0), $1.name) > (mentions($1), $0.name) }.prefix(limit).map { $0 }
        }
        // Nothing starts that way: allow typos, one in a name of up to 8 letters, two beyond, measured
        // against the names' beginnings of about the same length.
        let allowed = wanted.count < 4 ? 0 : wanted.count <= 8 ? 1 : 2
        guard allowed > 0 else { return [] }
        let near = candidates.compactMap { e -> (Entity, Int)? in
            var best = allowed + 1
            for name in names(e) {
                for length in max(1, wanted.count - allowed)...(wanted.count + allowed) where length <= name.count {
                    best = min(best, Self.editDistance(wanted, name[..<length], limit: allowed))
                }
            }
            return best <= allowed ? (e, best) : nil
        }
        return near.sorted { ($1.1, mentions($0.0), $1.0.name) < ($0.1, mentions($1.0), $0.0.name) }.prefix(limit).map(\.0)
    }

    /// Edits (insertions, deletions, substitutions, swaps of neighbours) between `a` and `b`; any value
    /// above `limit` is returned as limit + 1.
    public static func editDistance(_ a: [UInt8], _ b: ArraySlice<UInt8>, limit: Int) -> Int {
        let b = Array(b)
        if abs(a.count - b.count) > limit { return limit + 1 }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...max(1, a.count) where !a.isEmpty {
            current[0] = i
            var rowBest = current[0]
            for j in 1...max(1, b.count) where !b.isEmpty {
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, before[j - 2] + 1) }
                current[j] = d
                rowBest = min(rowBest, d)
            }
            if rowBest > limit { return limit + 1 }
            (before, previous, current) = (previous, current, before)
        }
        return min(previous[b.count], limit + 1)
    }

    public var stats: StatsResponse {
        let s = snapshot
        var stats = StatsResponse()
        stats.articles = UInt64(s.articles.count)
        stats.entities = UInt64(s.entities.count)
        stats.appliedSeq = s.appliedSeq
        stats.headSeq = max(s.headSeq, s.appliedSeq)
        stats.lag = stats.headSeq - s.appliedSeq
        return stats
    }
}
