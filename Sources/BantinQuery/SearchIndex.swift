import BantinCore
import Foundation
import NIOConcurrencyHelpers

/// The in-memory index a query replica serves from: articles, folded-syllable postings with
/// positions (title and body), and canonical entities with their articles.
///
/// Readers take an immutable snapshot (copy-on-write structs behind a lock held only to swap a
/// reference), so a search never sees a half-applied article and never waits for the follower.
public final class SearchIndex: Sendable {
    struct Posting: Sendable {
        var document: Int32
        var positions: [Int32]
        var inTitle: Bool
    }

    struct Snapshot: Sendable {
        var articles: [Article] = []
        var articleIndex: [String: Int] = [:]
        var postings: [String: [Posting]] = [:]
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
        var entities: [String: Entity] = [:]
        var entityArticles: [String: [Int]] = [:]
        var entityRoles: [String: [Role]] = [:]
        var entityDocuments: [String: [DocumentRef]] = [:]
        var entityEvents: [String: [Event]] = [:]
        var appliedSeq: UInt64 = 0
        var headSeq: UInt64 = 0
    }

    private let current = NIOLockedValueBox(Snapshot())

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
        current.withLockedValue { s in
            for change in changes { Self.apply(change, to: &s) }
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
            var positions: [String: (positions: [Int32], title: Bool)] = [:]
            var position: Int32 = 0
            for (field, isTitle) in [(article.title, true), (Self.body(of: article), false)] {
                for token in VietnameseText.tokens(VietnameseText.fold(field)) {
                    positions[String(token.text), default: ([], false)].positions.append(position)
                    if isTitle { positions[String(token.text)]!.title = true }
                    position += 1
                }
                if isTitle { s.titleLengths.append(position) }
                position += 8  // no phrase spans the title/body boundary
            }
            for (term, entry) in positions {
                s.postings[term, default: []].append(Posting(document: Int32(doc), positions: entry.positions, inTitle: entry.title))
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

    /// The text searched besides the title: paragraphs, then captions.
    static func body(of article: Article) -> String { (article.paragraphs + article.captions).joined(separator: "\n") }

    // MARK: queries

    public struct Hit: Sendable {
        public var article: Article
        public var score: Double
        public var provinceName: String
        /// The publication date, or the main event's when the page gave none (ISO, or "").
        public var date: String
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
    /// appear side by side, in order, score double; among the top 200, articles containing the query's words with
    /// the query's own diacritics score a quarter more. Everything is computed over the first `documents`
    /// articles only (all of them when nil), which makes a ranking repeatable: a cursor carries that number, so
    /// page two is cut from the same ranking as page one however many articles arrived in between.
    public func search(_ query: SearchQuery, offset: Int, limit: Int, documents: Int? = nil, facets: [String] = []) -> Result {
        let s = snapshot
        let n = min(documents ?? s.articles.count, s.articles.count)
        guard n > 0 else { return Result(hits: [], total: 0, documents: n, facets: []) }
        let average = Double(s.lengthsBefore[n]) / Double(n)

        func postings(_ term: String) -> ArraySlice<Posting> {
            guard let list = s.postings[term] else { return [] }
            // Postings are in document order: keep those below n.
            var low = 0, high = list.count
            while low < high {
                let mid = (low + high) / 2
                if list[mid].document < Int32(n) { low = mid + 1 } else { high = mid }
            }
            return list[..<low]
        }
        func bm25(_ tf: Double, documentFrequency: Int, document: Int32) -> Double {
            let idf = log(1 + (Double(n) - Double(documentFrequency) + 0.5) / (Double(documentFrequency) + 0.5))
            let length = Double(s.lengths[Int(document)])
            return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
        }
        /// Documents matching one atom, with its score in each.
        func evaluate(_ atom: SearchQuery.Atom) -> [Int32: Double] {
            let lists = atom.terms.map(postings)
            guard let first = lists.first, !lists.contains(where: \.isEmpty) else { return [:] }
            var scores: [Int32: Double] = [:]
            if atom.terms.count == 1 {
                for posting in first {
                    let titleLength = s.titleLengths[Int(posting.document)]
                    let inTitle = posting.positions.filter { $0 < titleLength }.count
                    if atom.titleOnly, inTitle == 0 { continue }
                    let tf = atom.titleOnly ? Double(inTitle * 3) : Double(posting.positions.count + inTitle * 2)
                    scores[posting.document] = bm25(tf, documentFrequency: first.count, document: posting.document)
                }
                return scores
            }
            // A phrase: every syllable, adjacent and in order.
            let byDocument = lists.dropFirst().map { Dictionary(uniqueKeysWithValues: $0.map { ($0.document, Set($0.positions)) }) }
            for posting in first {
                let rest = byDocument.map { $0[posting.document] }
                guard !rest.contains(where: { $0 == nil }) else { continue }
                let titleLength = s.titleLengths[Int(posting.document)]
                let starts = posting.positions.filter { p in
                    rest.enumerated().allSatisfy { $0.element!.contains(p + Int32($0.offset) + 1) } && (!atom.titleOnly || p < titleLength)
                }
                guard !starts.isEmpty else { continue }
                let inTitle = starts.filter { $0 < titleLength }.count
                let tf = Double(starts.count + inTitle * 2)
                scores[posting.document] = lists.reduce(0) { $0 + bm25(tf, documentFrequency: $1.count, document: posting.document) }
            }
            return scores
        }

        // Clauses: intersect (smallest first); within a clause, any atom.
        var matched: [Int32: Double]?
        let clauseScores = query.clauses.map { clause in
            clause.map(evaluate).reduce(into: [Int32: Double]()) { union, atomScores in union.merge(atomScores, uniquingKeysWith: +) }
        }.sorted { $0.count < $1.count }
        for scores in clauseScores {
            if let current = matched {
                matched = current.filter { scores[$0.key] != nil }.reduce(into: [:]) { $0[$1.key] = $1.value + scores[$1.key]! }
            } else {
                matched = scores
            }
            if matched!.isEmpty { break }
        }
        var results = matched ?? Dictionary(uniqueKeysWithValues: (0..<Int32(n)).map { ($0, 0.0) })
        for atom in query.excluded { for document in evaluate(atom).keys { results[document] = nil } }
        let wantedEntities = Set(query.entityIDs)
        results = results.filter { document, _ in
            let d = Int(document)
            if !query.provinces.isEmpty, !query.provinces.contains(where: s.provinceKeys[d].contains) { return false }
            if !query.dateFrom.isEmpty, s.dates[d].isEmpty || s.dates[d] < query.dateFrom { return false }
            if !query.dateTo.isEmpty, s.dates[d].isEmpty || (s.dates[d] > query.dateTo && !s.dates[d].hasPrefix(query.dateTo)) { return false }
            if !wantedEntities.isEmpty, !wantedEntities.isSubset(of: s.documentEntities[d]) { return false }
            if !query.entityTypes.isEmpty,
               !s.documentEntities[d].contains(where: { id in query.entityTypes.contains { $0 == s.entities[id]?.type } }) { return false }
            return true
        }

        // Side-by-side bonus for unquoted words.
        let plain = query.clauses.compactMap { $0.count == 1 && !$0[0].isPhrase && !$0[0].titleOnly ? $0[0] : nil }
        if plain.count > 1 {
            let sequence = SearchQuery.Atom(terms: plain.flatMap(\.terms), exact: plain.flatMap(\.exact), isPhrase: true)
            for document in evaluate(sequence).keys where results[document] != nil { results[document]! *= 2 }
        }
        var ranked = results.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        // Exact diacritics first, among the best.
        let atoms = query.clauses.flatMap { $0 }
        if atoms.contains(where: { $0.exact != $0.terms }) {
            let top = min(200, ranked.count)
            for k in 0..<top {
                let article = s.articles[Int(ranked[k].key)]
                let text = (article.title + "\n" + Self.body(of: article)).lowercased()
                if atoms.allSatisfy({ atom in text.contains(atom.exact.joined(separator: " ")) }) { ranked[k].value *= 1.25 }
            }
            ranked[..<top].sort { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        }
        if query.sort == .date {
            ranked.sort { (s.dates[Int($0.key)], $0.key) > (s.dates[Int($1.key)], $1.key) }
        }
        let page = ranked.dropFirst(offset).prefix(limit)
        let hits = page.map { Hit(article: s.articles[Int($0.key)], score: $0.value, provinceName: s.provinceNames[Int($0.key)], date: s.dates[Int($0.key)]) }
        return Result(hits: hits, total: ranked.count, documents: n, facets: Self.facets(facets, over: ranked.map(\.key), in: s))
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
        page.events = s.entityEvents[id] ?? []
        page.documents = s.entityDocuments[id] ?? []
        page.articleIDs = (s.entityArticles[id] ?? []).map { s.articles[$0].id }
        return page
    }

    /// Entities whose folded name or alias starts with the folded prefix, most-mentioned first.
    public func entities(prefix: String, type: EntityType?, limit: Int) -> [Entity] {
        let s = snapshot
        let wanted = VietnameseText.fold(prefix)
        return s.entities.values
            .filter { e in (type == nil || e.type == type) && ([e.name] + e.aliases).contains { VietnameseText.fold($0).hasPrefix(wanted) } }
            .sorted { (s.entityArticles[$0.id]?.count ?? 0, $1.name) > (s.entityArticles[$1.id]?.count ?? 0, $0.name) }
            .prefix(limit).map { $0 }
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
