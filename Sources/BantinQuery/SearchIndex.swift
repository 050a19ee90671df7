import BantinCore
import Foundation
import NIOConcurrencyHelpers

/// The in-memory index a query replica serves from: articles, folded-syllable postings with positions
/// (title and body), and canonical entities with their articles.
///
/// Postings and stored articles live in immutable `Segment`s, one per applied batch, merged as they
/// accumulate; the per-document arrays and entity tables are copy-on-write values. Readers take the whole
/// `Snapshot` under a lock held only to copy a reference, so a search never sees a half-applied batch, and
/// the follower builds the next snapshot outside that lock, so searches never wait for it.
public final class SearchIndex: Sendable {
    struct Snapshot: Sendable {
        /// Consecutive, covering documents 0 ..< documentCount.
        var segments: [Segment] = []
        var lengths = ChunkedArray<Int32>()
        /// lengthsBefore[d]: the summed lengths of documents 0..<d, so that BM25's statistics can be taken over any
        /// prefix of the collection (see `search`: a cursor pins the prefix its ranking was made from).
        var lengthsBefore = ChunkedArray([0])
        var titleLengths = ChunkedArray<Int32>()
        /// Per document, for filters and facets: folded province names (as filed and current), the province to
        /// show, the date (ISO, or ""), and the entities mentioned (by number).
        var provinceKeys = ChunkedArray<[String]>()
        var provinceNames = ChunkedArray<String>()
        var dates = ChunkedArray<String>()
        var documentEntities = ChunkedArray<[Int32]>()
        /// The documents whose extraction found events (who met whom, where, when), ascending.
        var eventDocuments = ChunkedArray<Int32>()
        /// Entities by number (ids map to numbers in the segment that first mentions them).
        var entities = ChunkedArray<Entity>()
        /// Each builder's vocabulary as far as it goes: what stored bodies are coded in (`StoredBody`), for snapshots.
        var vocabularies: [ChunkedArray<String>] = []
        var appliedSeq: UInt64 = 0
        var headSeq: UInt64 = 0

        var documentCount: Int { lengths.count }

        func segment(containing document: Int32) -> Segment {
            var low = 0, high = segments.count - 1
            while low < high {
                let mid = (low + high + 1) / 2
                if segments[mid].firstDocument <= document { low = mid } else { high = mid - 1 }
            }
            return segments[low]
        }

        func article(_ document: Int32) -> Article { segment(containing: document).article(document) }
        /// The article without its body, for its id and title: no decoding of the body.
        func heading(_ document: Int32) -> Article { segment(containing: document).heading(document) }
        /// The body searched (`body(of:)`), decoded without the rest of the article.
        func body(_ document: Int32) -> String { segment(containing: document).body(document) }
        func extraction(_ document: Int32) -> Extraction { segment(containing: document).extraction(document) }

        func document(id: String) -> Int32? {
            for segment in segments { if let d = segment.articleNumbers[id] { return d } }
            return nil
        }

        func entityNumber(_ id: String) -> Int32? {
            for segment in segments { if let number = segment.entityNumbers[id] { return number } }
            return nil
        }

        func entity(_ id: String) -> Entity? { entityNumber(id).map { entities[Int($0)] } }

        /// The documents mentioning entity `number`, ascending.
        func articles(of number: Int32) -> [Int32] { segments.flatMap { $0.entityDocuments[number] ?? [] } }

        func articleCount(of number: Int32) -> Int { segments.reduce(0) { $0 + ($1.entityDocuments[number]?.count ?? 0) } }
    }

    /// What only the follower touches: the snapshot being extended and the builders of its next segments.
    private struct Writer {
        var next = Snapshot()
        /// One per indexing thread.
        var builders: [SegmentBuilder]
        /// Every article and entity id applied so far, for the follower's own lookups (readers ask the segments).
        var articleNumbers: [String: Int32] = [:]
        var entityNumbers: [String: Int32] = [:]
        /// One copy of each province key and date string, shared by every document that has it.
        var interned: Set<String> = []
    }

    private let current = NIOLockedValueBox(Snapshot())
    private let writer: NIOLockedValueBox<Writer>
    /// Threads a batch of changes is indexed on (see `apply`).
    let indexThreads: Int
    /// Where a batch's segments are merged into the list while the next batch is filed and indexed (see `apply`).
    private let merges = DispatchQueue(label: "bantin.index.merge", qos: .userInitiated)
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

    /// Indexing threads by default: the cores, up to four.
    public static let defaultIndexThreads = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))
    /// What `--index-threads` accepts.
    public static let indexThreadLimits = 1...64

    public init(indexThreads: Int = SearchIndex.defaultIndexThreads) {
        self.indexThreads = max(1, indexThreads)
        writer = NIOLockedValueBox(Writer(builders: (0..<self.indexThreads).map { SegmentBuilder(number: $0) }))
    }

    var snapshot: Snapshot { current.withLockedValue { $0 } }

    /// Swaps in a whole index (a loaded snapshot) at once.
    func replace(with snapshot: Snapshot) {
        writer.withLockedValue { w in
            w.next = snapshot
            // Builders continue the snapshot's vocabularies (a snapshot written with more threads has more of them).
            w.builders = (0..<max(indexThreads, snapshot.vocabularies.count)).map { k in
                SegmentBuilder(number: k, vocabulary: k < snapshot.vocabularies.count ? snapshot.vocabularies[k] : ChunkedArray())
            }
            w.articleNumbers = [:]
            w.entityNumbers = [:]
            for segment in snapshot.segments {
                w.articleNumbers.merge(segment.articleNumbers) { first, _ in first }
                w.entityNumbers.merge(segment.entityNumbers) { first, _ in first }
            }
            current.withLockedValue { $0 = snapshot }
        }
    }

    public var appliedSeq: UInt64 { snapshot.appliedSeq }

    public func noteHead(_ head: UInt64) {
        writer.withLockedValue { w in
            w.next.headSeq = max(w.next.headSeq, head)
            let head = w.next.headSeq
            current.withLockedValue { $0.headSeq = max($0.headSeq, head) }
        }
    }

    /// Applies one change from the feed, atomically for readers.
    public func apply(_ change: Change) { apply([change]) }

    /// Applies changes from the feed in one step: readers see all of them or none. The batch becomes new segments
    /// (one per indexing thread it was split over); the previous snapshot, which readers may still hold, is not
    /// modified.
    ///
    /// The segments a batch adds stay at the end of the list until the next batch: while that one is filed and
    /// indexed, they are merged into the list on one more thread (`appendMerging`). Merging took a third of the
    /// applying thread's time and left the other indexing threads idle meanwhile.
    public func apply(_ changes: [Change]) {
        guard !changes.isEmpty else { return }
        let caughtUp = writer.withLockedValue { w in
            let merged = Self.merging(w.next.segments, on: merges)
            var documents: [Document] = []
            for change in changes {
                if let document = Self.file(change, as: Int32(w.next.documentCount + documents.count), to: &w) { documents.append(document) }
            }
            let (segments, lengths) = Self.index(documents, from: Int32(w.next.documentCount), with: &w.builders, threads: indexThreads)
            var s = w.next
            w.next = Snapshot()  // s is the only reference while it grows
            for (length, titleLength) in lengths {
                s.lengthsBefore.append(s.lengthsBefore[s.lengths.count] + Int(length))
                s.lengths.append(length)
                s.titleLengths.append(titleLength)
            }
            s.segments = merged() + segments
            s.vocabularies = w.builders.map(\.vocabulary)
            w.next = s
            let published = w.next
            current.withLockedValue { $0 = published }
            return published.appliedSeq >= published.headSeq
        }
        progress.withLockedValue { p in
            p.headKnown = true
            if caughtUp { p.caughtUpAt = .now }
        }
    }

    /// Merges the last batch's segments into the list now, rather than during the next apply: what a snapshot is
    /// written from (`IndexSnapshot.write`), so that a replica loading it holds no more segments, and no more term
    /// tables on its heap, than the merge policy wants.
    public func settle() {
        writer.withLockedValue { w in
            w.next.segments = Self.settled(w.next.segments)
            let published = w.next
            current.withLockedValue { $0 = published }
        }
    }

    /// `segments` merged as the list's policy wants (`appendMerging` of each in turn: a list it already holds is left
    /// as it is).
    private static func settled(_ segments: [Segment]) -> [Segment] {
        var list: [Segment] = []
        for segment in segments { list.appendMerging(segment) }
        return list
    }

    /// Starts `settled(segments)` on `queue`; the closure returned waits for the merged list.
    private static func merging(_ segments: [Segment], on queue: DispatchQueue) -> () -> [Segment] {
        let result = NIOLockedValueBox<[Segment]>([])
        let done = DispatchGroup()
        queue.async(group: done) {
            let list = settled(segments)
            result.withLockedValue { $0 = list }
        }
        return {
            done.wait()
            return result.withLockedValue { $0 }
        }
    }

    /// An article to index, with what its extraction contributes.
    private struct Document: Sendable {
        var article: Article
        var extraction: Extraction
        var mentioned: [Int32]
        var introduced: [(id: String, number: Int32)]
    }

    /// Batches of fewer documents than twice this are indexed on one thread: splitting them would cost more in
    /// extra segments (and their merges) than it gains.
    static let minimumRun = 64

    /// Indexes `documents` (numbered from `first`) in contiguous runs of at least `minimumRun`, at most `threads`,
    /// each on its own thread with its own builder; returns their segments in order and each document's lengths.
    private static func index(_ documents: [Document], from first: Int32, with builders: inout [SegmentBuilder], threads: Int)
        -> (segments: [Segment], lengths: [(length: Int32, titleLength: Int32)]) {
        guard !documents.isEmpty else { return ([], []) }
        let runs = max(1, min(threads, builders.count, documents.count / minimumRun))
        let perRun = (documents.count + runs - 1) / runs
        var lengths = [(length: Int32, titleLength: Int32)](repeating: (0, 0), count: documents.count)
        var segments = [Segment?](repeating: nil, count: runs)
        builders.withUnsafeMutableBufferPointer { allBuilders in
            lengths.withUnsafeMutableBufferPointer { allLengths in
                segments.withUnsafeMutableBufferPointer { allSegments in
                    // Each run touches only its own builder, lengths and segment slot.
                    nonisolated(unsafe) let builders = allBuilders, lengths = allLengths, segments = allSegments
                    let run: @Sendable (Int) -> Void = { k in
                        let range = (k * perRun)..<min(documents.count, (k + 1) * perRun)
                        builders[k].begin(at: first + Int32(range.lowerBound))
                        for i in range {
                            let d = documents[i]
                            lengths[i] = builders[k].add(article: d.article, extraction: d.extraction, mentioned: d.mentioned, introduced: d.introduced)
                        }
                        segments[k] = builders[k].seal()
                    }
                    if runs == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: runs, execute: run) }
                }
            }
        }
        return (segments.compactMap { $0 }, lengths)
    }

    /// Files a change's article as document `doc` in the per-article and entity tables; returns what is left to
    /// index, or nil for a heartbeat or a replayed article.
    private static func file(_ change: Change, as doc: Int32, to w: inout Writer) -> Document? {
        w.next.headSeq = max(w.next.headSeq, change.headSeq)
        guard let stored = change.stored, let article = stored.article else { return nil }
        defer { w.next.appliedSeq = max(w.next.appliedSeq, change.seq) }
        guard w.articleNumbers[article.id] == nil else { return nil }  // replayed: already applied
        w.articleNumbers[article.id] = doc
        // The replica keeps the structure it searches and shows (title, lead, paragraphs, captions), not the
        // whole normalized text again: that would double its memory and its snapshots. Get on ingest has it.
        var kept = article
        kept.text = ""
        kept.originalText = ""
        var extraction = stored.extraction ?? Extraction()
        for i in extraction.roles.indices { extraction.roles[i].asOf = article.publishedAt }
        func intern(_ s: String) -> String {
            if let shared = w.interned.firstIndex(of: s) { return w.interned[shared] }
            w.interned.insert(s)
            return s
        }

        var s = w.next
        w.next = Snapshot()  // s is the only reference while it grows
        defer { w.next = s }
        var mentioned: [Int32] = []
        var introduced: [(id: String, number: Int32)] = []
        for entity in extraction.entities {
            if let number = w.entityNumbers[entity.id] {
                if !mentioned.contains(number) { mentioned.append(number) }
                guard !entity.aliases.isEmpty else { continue }
                let known = s.entities[Int(number)].aliases  // one copy of the entity, not one per alias
                let missing = entity.aliases.filter { !known.contains($0) }
                if !missing.isEmpty { s.entities[Int(number)].aliases += missing }
            } else {
                let number = Int32(s.entities.count)
                w.entityNumbers[entity.id] = number
                s.entities.append(entity)
                introduced.append((entity.id, number))
                mentioned.append(number)
            }
        }
        // The article's province: the main event's place, else the province-level place mentioned most.
        let located = extraction.events.first.flatMap { event in extraction.entities.first { $0.id == event.locationID } }
            ?? Self.mostMentionedProvinceLevelPlace(in: extraction)
        let provinceName = article.province.isEmpty ? located?.name ?? "" : article.province
        s.provinceNames.append(intern(provinceName))
        s.provinceKeys.append(Array(Set([provinceName, located?.name ?? "", located?.province ?? ""].filter { !$0.isEmpty }.map(VietnameseText.fold))).map(intern))
        let date = article.publishedAt.isEmpty ? extraction.events.first?.date ?? "" : article.publishedAt
        s.dates.append(date.first?.isNumber == true ? String(date.prefix(10)) : "")
        if !extraction.events.isEmpty { s.eventDocuments.append(doc) }
        s.documentEntities.append(mentioned)
        return Document(article: kept, extraction: extraction, mentioned: mentioned, introduced: introduced)
    }

    /// The location with a province that `extraction` mentions most (ties to the smaller id).
    private static func mostMentionedProvinceLevelPlace(in extraction: Extraction) -> Entity? {
        let places = extraction.entities.filter { $0.type == .location && !$0.province.isEmpty }
        guard places.count > 1 else { return places.first }
        var mentionCounts: [String: Int] = [:]
        mentionCounts.reserveCapacity(places.count)
        for place in places { mentionCounts[place.id] = 0 }
        for mention in extraction.mentions { mentionCounts[mention.entityID]? += 1 }
        return places.max { (mentionCounts[$0.id]!, $1.id) < (mentionCounts[$1.id]!, $0.id) }
    }

    /// The text searched besides the title: paragraphs, then captions.
    public static func body(of article: Article) -> String { (article.paragraphs + article.captions).joined(separator: "\n") }

    // MARK: queries

    public struct Hit: Sendable {
        /// The article without its body (id, title, lead, date...; see `Snapshot.heading`).
        public var article: Article
        /// The text searched besides the title (`body(of:)`), for the snippet.
        public var body: String
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
        search(query, offset: offset, limit: limit, documents: documents, facets: facets, general: false)
    }

    /// `general`: evaluate every query clause by clause, as lists of matches, even when it is a plain conjunction
    /// that `conjunction` would stream (the tests compare the two).
    func search(_ query: SearchQuery, offset: Int, limit: Int, documents: Int?, facets: [String], general: Bool) -> Result {
        let s = snapshot
        let n = min(documents ?? s.documentCount, s.documentCount)
        guard n > 0 else { return Result(hits: [], total: 0, documents: n, facets: []) }
        let limitDocument = Int32(n)
        let average = Double(s.lengthsBefore[n]) / Double(n)
        let segments = s.segments.filter { $0.firstDocument < limitDocument }

        /// How many of the first n documents hold `term`.
        func documentFrequency(_ term: String) -> Int {
            segments.reduce(0) { $0 + ($1.postings(term)?.count(below: limitDocument) ?? 0) }
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
            let frequencies = atom.terms.map(documentFrequency)
            guard !frequencies.isEmpty, !frequencies.contains(0) else { return [] }
            // A phrase scores the sum of its syllables' idf with its own frequency.
            let idfSum = frequencies.reduce(0) { $0 + idf($1) }
            var matches: [Match] = []
            if atom.terms.count <= 2 {
                // One syllable, or two read from their pair list: a scan.
                matches.reserveCapacity(frequencies.min()!)
                for segment in segments {
                    guard var postings = segment.postings(of: atom.terms) else { continue }
                    while postings.next(), postings.document < limitDocument {
                        guard let tf = atom.frequency(postings.frequency, inTitle: postings.titleFrequency) else { continue }
                        matches.append(Match(document: postings.document, score: bm25(tf, idf: idfSum, document: postings.document)))
                    }
                }
                return matches
            }
            // Three syllables or more: the documents in every one of its pair lists (walking the rarest, seeking the
            // others), then their positions, to keep only the syllables standing together in order.
            let pivot = frequencies.indices.min { frequencies[$0] < frequencies[$1] }!
            var positions = [[Int32]](repeating: [], count: atom.terms.count)
            var walked = [Int](repeating: 0, count: atom.terms.count)
            for segment in segments {
                let syllables = atom.terms.compactMap(segment.postings)
                let pairs = zip(atom.terms, atom.terms.dropFirst()).compactMap(segment.pairPostings)
                guard syllables.count == atom.terms.count, pairs.count == atom.terms.count - 1 else { continue }
                var lists = syllables
                var pairLists = pairs.sorted { $0.count < $1.count }
                documents: while pairLists[0].next(), pairLists[0].document < limitDocument {
                    let document = pairLists[0].document
                    for j in pairLists.indices.dropFirst() {
                        guard pairLists[j].seek(document) else { break documents }
                        guard pairLists[j].document == document else { continue documents }
                    }
                    for j in lists.indices {
                        lists[j].seek(document)
                        lists[j].positions(into: &positions[j])
                        walked[j] = 0
                    }
                    let titleLength = s.titleLengths[Int(document)]
                    var starts = 0, inTitle = 0
                    for p in positions[pivot] {
                        let start = p - Int32(pivot)  // where the phrase would start
                        if start < 0 { continue }
                        if atom.titleOnly, start >= titleLength { break }
                        var adjacent = true
                        for j in lists.indices where j != pivot {
                            let target = start + Int32(j)
                            while walked[j] < positions[j].count, positions[j][walked[j]] < target { walked[j] += 1 }
                            if walked[j] == positions[j].count || positions[j][walked[j]] != target {
                                adjacent = false
                                break
                            }
                        }
                        if adjacent {
                            starts += 1
                            if start < titleLength { inTitle += 1 }
                        }
                    }
                    if starts > 0, let tf = atom.frequency(starts, inTitle: inTitle) {
                        matches.append(Match(document: document, score: bm25(tf, idf: idfSum, document: document)))
                    }
                }
            }
            return matches
        }
        /// The first n documents holding `form` (lower case, with diacritics), ascending.
        func exactDocuments(_ form: String) -> [Int32] {
            var documents: [Int32] = []
            for segment in segments {
                guard var list = segment.exactDocuments(form) else { continue }
                while list.next(), list.document < limitDocument { documents.append(list.document) }
            }
            return documents
        }

        // Unquoted words also found side by side, in order, score double; articles holding every syllable typed
        // with diacritics, as typed, a quarter more.
        let plain = query.clauses.compactMap { $0.count == 1 && !$0[0].isPhrase && !$0[0].titleOnly ? $0[0] : nil }
        let sideBySide = plain.count > 1 ? SearchQuery.Atom(terms: plain.flatMap(\.terms), exact: plain.flatMap(\.exact), isPhrase: true) : nil
        let exactSyllables = Set(query.clauses.flatMap { $0 }.flatMap { atom in zip(atom.exact, atom.terms).filter { $0 != $1 }.map(\.0) })

        var matches: [Match]
        let atoms = query.clauses.compactMap { $0.count == 1 ? $0[0] : nil }
        if !general, !atoms.isEmpty, atoms.count == query.clauses.count, (atoms + query.excluded).allSatisfy({ $0.terms.count <= 2 }),
           (sideBySide?.terms.count ?? 0) <= 2 {
            let frequencies = atoms.map { $0.terms.map(documentFrequency) }
            let order = atoms.indices.sorted { frequencies[$0].min()! < frequencies[$1].min()! }  // rarest first
            matches = frequencies.contains(where: { $0.contains(0) }) ? [] : Self.conjunction(
                order.map { atoms[$0] }, idfs: order.map { frequencies[$0].reduce(0) { $0 + idf($1) } }, excluded: query.excluded,
                sideBySide: sideBySide?.terms, exact: exactSyllables.sorted(), in: segments, below: limitDocument
            ) { tf, idf, document in bm25(tf, idf: idf, document: document) }
        } else {
            // Clauses: each the union of its atoms; all of them intersected, smallest first.
            let clauseMatches = query.clauses.map { clause in clause.map(evaluate).reduce([], Self.union) }.sorted { $0.count < $1.count }
            if let smallest = clauseMatches.first {
                matches = clauseMatches.dropFirst().reduce(smallest, Self.intersection)
            } else {
                matches = (0..<Int32(n)).map { Match(document: $0, score: 0) }
            }
            for atom in query.excluded where !matches.isEmpty { matches = Self.difference(matches, evaluate(atom)) }
            if let sideBySide, !matches.isEmpty { Self.scale(&matches, in: evaluate(sideBySide).map(\.document), by: 2) }
            if !exactSyllables.isEmpty, !matches.isEmpty {
                let lists = exactSyllables.map(exactDocuments)
                Self.scale(&matches, in: lists.dropFirst().reduce(lists[0]) { Self.intersection($0, $1) }, by: 1.25)
            }
        }
        let wantedEntities = query.entityIDs.map { s.entityNumber($0) ?? -1 }
        if !query.provinces.isEmpty || !query.dateFrom.isEmpty || !query.dateTo.isEmpty || !wantedEntities.isEmpty || !query.entityTypes.isEmpty {
            matches.removeAll { match in
                let d = Int(match.document)
                if !query.provinces.isEmpty, !query.provinces.contains(where: s.provinceKeys[d].contains) { return true }
                if !query.dateFrom.isEmpty, s.dates[d].isEmpty || s.dates[d] < query.dateFrom { return true }
                if !query.dateTo.isEmpty, s.dates[d].isEmpty || (s.dates[d] > query.dateTo && !s.dates[d].hasPrefix(query.dateTo)) { return true }
                if !wantedEntities.allSatisfy(s.documentEntities[d].contains) { return true }
                if !query.entityTypes.isEmpty,
                   !s.documentEntities[d].contains(where: { number in query.entityTypes.contains(s.entities[Int(number)].type) }) { return true }
                return false
            }
        }


        let wanted = offset + limit
        let best: [Match] = switch query.sort {
        case .relevance: Self.top(wanted, of: matches) { $0.score > $1.score || ($0.score == $1.score && $0.document < $1.document) }
        case .date: Self.top(wanted, of: matches) { (s.dates[Int($0.document)], $0.document) > (s.dates[Int($1.document)], $1.document) }
        }
        let hits = best.dropFirst(offset).map {
            let d = Int($0.document)
            return Hit(article: s.heading($0.document), body: s.body($0.document), score: $0.score, provinceName: s.provinceNames[d], date: s.dates[d],
                       bodyMatches: Self.bodyMatches(of: $0.document, atoms: query.clauses.flatMap { $0 }, in: s))
        }
        return Result(hits: hits, total: matches.count, documents: n,
                      facets: facets.isEmpty ? [] : Self.facets(facets, over: matches.map(\.document), in: s))
    }

    /// Matches of a conjunction of one- and two-syllable atoms (`atoms`, rarest first, with their idf), streamed
    /// segment by segment: the cursors leapfrog (each seeks to the document another stands on until all agree),
    /// so only documents holding every atom are scored, and exclusions and both bonuses are settled by seeking
    /// their lists to that document. Equal to the general evaluation's matches, scores summed in the same order.
    static func conjunction(_ atoms: [SearchQuery.Atom], idfs: [Double], excluded: [SearchQuery.Atom], sideBySide: [String]?, exact: [String],
                            in segments: [Segment], below limit: Int32, bm25: (Double, Double, Int32) -> Double) -> [Match] {
        var matches: [Match] = []
        segments: for segment in segments {
            var cursors: [PostingCursor] = []
            for atom in atoms {
                guard let cursor = segment.postings(of: atom.terms) else { continue segments }
                cursors.append(cursor)
            }
            var exclusions = excluded.compactMap { atom in segment.postings(of: atom.terms).map { (cursor: $0, titleOnly: atom.titleOnly) } }
            var together = sideBySide.flatMap(segment.postings(of:))
            var exactLists = exact.compactMap(segment.exactDocuments)
            let exactHere = !exact.isEmpty && exactLists.count == exact.count
            guard cursors[0].next() else { continue }
            var document = cursors[0].document
            documents: while document < limit {
                for j in cursors.indices.dropFirst() {
                    guard cursors[j].seek(document) else { break documents }
                    if cursors[j].document != document {
                        guard cursors[0].seek(cursors[j].document) else { break documents }
                        document = cursors[0].document
                        continue documents
                    }
                }
                // All stand on `document`; whether it matches or not, the rarest list moves on from here.
                defer { document = cursors[0].next() ? cursors[0].document : .max }
                var score = 0.0
                for j in cursors.indices {
                    guard let tf = atoms[j].frequency(cursors[j].frequency, inTitle: cursors[j].titleFrequency) else { continue documents }
                    score += bm25(tf, idfs[j], document)
                }
                for j in exclusions.indices where exclusions[j].cursor.seek(document) && exclusions[j].cursor.document == document {
                    if !exclusions[j].titleOnly || exclusions[j].cursor.titleFrequency > 0 { continue documents }
                }
                if together?.seek(document) == true, together?.document == document { score *= 2 }
                if exactHere, exactLists.indices.allSatisfy({ exactLists[$0].seek(document) && exactLists[$0].document == document }) { score *= 1.25 }
                matches.append(Match(document: document, score: score))
            }
        }
        return matches
    }

    /// The body syllables of `document` that `atoms` match (a phrase only where its syllables stand together).
    static func bodyMatches(of document: Int32, atoms: [SearchQuery.Atom], in s: Snapshot) -> [Int: String] {
        // Body positions start after the title and the gap that keeps phrases from spanning both.
        let bodyStart = s.titleLengths[Int(document)] + SegmentBuilder.fieldGap
        let segment = s.segment(containing: document)
        func positions(_ term: String) -> [Int32] {
            guard var list = segment.postings(term), list.seek(document), list.document == document else { return [] }
            var out: [Int32] = []
            list.positions(into: &out)
            return out
        }
        var matches: [Int: String] = [:]
        for atom in atoms where !atom.titleOnly {
            let lists = atom.terms.map(positions)
            guard !lists.contains(where: \.isEmpty) else { continue }
            for p in lists[0] where p >= bodyStart {
                guard (1..<lists.count).allSatisfy({ contains(lists[$0][...], p + Int32($0)) }) else { continue }
                for (j, term) in atom.terms.enumerated() { matches[Int(p - bodyStart) + j] = term }
            }
        }
        return matches
    }

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
            let type: EntityType? = switch name { case "person": .person; case "organization": .organization; case "document": .document; default: nil }
            var entityCounts: [Int32: Int] = [:]
            for document in documents {
                let d = Int(document)
                switch name {
                case "province": if !s.provinceNames[d].isEmpty { counts[s.provinceNames[d], default: 0] += 1 }
                case "year": if s.dates[d].count >= 4 { counts[String(s.dates[d].prefix(4)), default: 0] += 1 }
                default: for number in s.documentEntities[d] where s.entities[Int(number)].type == type { entityCounts[number, default: 0] += 1 }
                }
            }
            for (number, count) in entityCounts { counts[s.entities[Int(number)].id] = count }
            let top = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(10)
            return Facet(name: name, counts: top.map { FacetCount(value: $0.key, count: UInt32($0.value), label: s.entity($0.key)?.name ?? "") })
        }
    }

    public func article(id: String) -> Article? {
        let s = snapshot
        return s.document(id: id).map { s.article($0) }
    }

    public func entityPage(id: String) -> EntityPage? {
        let s = snapshot
        guard let number = s.entityNumber(id) else { return nil }
        let articles = s.articles(of: number)
        var page = EntityPage()
        page.entity = s.entities[Int(number)]
        // Offices, documents cited and events are read back from the stored extractions of the entity's articles.
        var events: [Event] = []
        for d in articles {
            let extraction = s.extraction(d)
            page.roles += extraction.roles.filter { $0.personID == id || $0.organizationID == id }
            page.documents += extraction.documents.filter { $0.id == id }
            events += extraction.events.filter { $0.participantIDs.contains(id) }
        }
        page.events = events.enumerated().sorted { ($0.element.date, $0.offset) < ($1.element.date, $1.offset) }.map(\.element)
        page.articleIDs = articles.map { s.heading($0).id }

        // Association: the Dice coefficient of the two article sets, 2·|A∩B| / (|A| + |B|). It rewards
        // entities that appear mostly together and discounts ones that are everywhere.
        var together: [Int32: Int] = [:]
        for d in articles { for other in s.documentEntities[Int(d)] where other != number { together[other, default: 0] += 1 } }
        page.coMentions = together.compactMap { other, count -> CoMention? in
            let entity = s.entities[Int(other)]
            // Dates share articles with everything in them and say nothing about who works with whom.
            guard entity.type != .date else { return nil }
            var mention = CoMention()
            mention.entityID = entity.id
            mention.name = entity.name
            mention.type = entity.type
            mention.articles = UInt32(count)
            mention.score = 2 * Double(count) / Double(articles.count + s.articleCount(of: other))
            return mention
        }.sorted { ($0.score, $0.articles, $1.entityID) > ($1.score, $1.articles, $0.entityID) }.prefix(20).map { $0 }

        var months: [String: Int] = [:]
        var provinces: [String: Int] = [:]
        for d in articles.map(Int.init) {
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
        let limit = request.limit == 0 ? 20 : Int(min(request.limit, 100))
        /// An entity id matches itself; an organization or person side also matches the people holding office
        /// in it (by the roles extracted from its articles); a place or province name matches entities filed there.
        func matcher(_ side: String) -> (String) -> Bool {
            let named = s.entity(side)
            let province = named.map { $0.type == .location ? VietnameseText.fold($0.name) : "" } ?? VietnameseText.fold(side)
            var holders: Set<String> = []
            if named?.type == .organization || named?.type == .person, let number = s.entityNumber(side) {
                for d in s.articles(of: number) {
                    for role in s.extraction(d).roles where role.organizationID == side { holders.insert(role.personID) }
                }
            }
            return { id in
                if id == side { return true }
                guard let entity = s.entity(id) else { return false }
                if named?.type == .organization || named?.type == .person { return holders.contains(id) }
                guard !province.isEmpty else { return false }
                return VietnameseText.fold(entity.province) == province || (entity.type == .location && VietnameseText.fold(entity.name) == province)
            }
        }
        let sideA = matcher(request.sideA), sideB = matcher(request.sideB)
        var found: [Meeting] = []
        for d in s.eventDocuments {
            let extraction = s.extraction(d)
            for event in extraction.events {
                let a = event.participantIDs.filter(sideA), b = event.participantIDs.filter(sideB)
                guard !a.isEmpty, !b.isEmpty, Set(a) != Set(b) || a.count > 1 else { continue }
                let date = event.date.first?.isNumber == true ? event.date : s.dates[Int(d)]
                if !request.dateFrom.isEmpty, date.isEmpty || date < request.dateFrom { continue }
                if !request.dateTo.isEmpty, date.isEmpty || (date > request.dateTo && !date.hasPrefix(request.dateTo)) { continue }
                let article = s.heading(d)
                var meeting = Meeting()
                meeting.event = event
                meeting.articleID = article.id
                meeting.articleTitle = article.title
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
        let candidates = s.entities.indices.filter { type == nil || s.entities[$0].type == type }
        let names = { (e: Entity) in ([e.name] + e.aliases).map { Array(VietnameseText.fold($0).utf8) } }
        /// Most-mentioned first, then by name; counts only for the few that match.
        func ranked(_ found: [(number: Int, edits: Int)]) -> [Entity] {
            found.map { ($0.edits, s.articleCount(of: Int32($0.number)), s.entities[$0.number]) }
                .sorted { ($0.0, $1.1, $0.2.name) < ($1.0, $0.1, $1.2.name) }.prefix(limit).map(\.2)
        }
        let exact = candidates.filter { names(s.entities[$0]).contains { $0.starts(with: wanted) } }
        if !exact.isEmpty { return ranked(exact.map { ($0, 0) }) }
        // Nothing starts that way: allow typos, one in a name of up to 8 letters, two beyond, measured
        // against the names' beginnings of about the same length.
        let allowed = wanted.count < 4 ? 0 : wanted.count <= 8 ? 1 : 2
        guard allowed > 0 else { return [] }
        let near = candidates.compactMap { number -> (Int, Int)? in
            var best = allowed + 1
            for name in names(s.entities[number]) {
                for length in max(1, wanted.count - allowed)...(wanted.count + allowed) where length <= name.count {
                    best = min(best, Self.editDistance(wanted, name[..<length], limit: allowed))
                }
            }
            return best <= allowed ? (number, best) : nil
        }
        return ranked(near)
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
        stats.articles = UInt64(s.documentCount)
        stats.entities = UInt64(s.entities.count)
        stats.appliedSeq = s.appliedSeq
        stats.headSeq = max(s.headSeq, s.appliedSeq)
        stats.lag = stats.headSeq - s.appliedSeq
        return stats
    }
}
