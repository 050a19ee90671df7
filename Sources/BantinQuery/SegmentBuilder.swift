import BantinCore
import NIOCore

/// Turns a batch of articles into a `Segment`. Owned by whoever applies the change feed; readers never see it.
///
/// Its vocabulary maps each token as written ("Người", "người", "NGUOI") to the ids of its folded syllable
/// and of its lower-case exact form, so the folding work is done once per distinct spelling, not once per
/// occurrence; after that a token costs one hash lookup of a small string and an append.
struct SegmentBuilder {
    private struct Spelling {
        var term: Int32
        var exact: Int32  // −1: no diacritics, the folded form is the only one
        /// Its index in `vocabulary`: what stored bodies are written in (`StoredBody`).
        var code: Int32
    }

    /// One list being written; its buffers are reused from batch to batch.
    private struct OpenList {
        var bytes: [UInt8] = []
        var checkpoints: [Segment.Checkpoint] = []
        var documents = 0
        var lastDocument: Int32 = -1

        /// Appends `document`'s entry: `entry` holds what follows the document gap from its index
        /// `EntryScratch.gapRoom` on, and room before that for the gap, written here (one append per entry).
        mutating func append(_ document: Int32, _ entry: inout EntryScratch) {
            if documents > 0, documents % Segment.checkpointInterval == 0 {
                checkpoints.append(Segment.Checkpoint(document: document, previous: lastDocument, offset: UInt32(bytes.count), ordinal: UInt32(documents)))
            }
            entry.write(gap: Int(document - lastDocument), to: &bytes)
            documents += 1
            lastDocument = document
        }

        mutating func reset() {
            bytes.removeAll(keepingCapacity: true)
            checkpoints.removeAll(keepingCapacity: true)
            documents = 0
            lastDocument = -1
        }
    }

    /// One posting entry being composed: room for the document gap, then the rest, so that the list it goes to
    /// grows by one append rather than one per byte.
    fileprivate struct EntryScratch {
        static let gapRoom = 5
        private var bytes = [UInt8](repeating: 0, count: gapRoom)

        mutating func start() { bytes.removeSubrange(Self.gapRoom...) }
        mutating func append(_ value: Int) { LEB128.append(value, to: &bytes) }
        mutating func append(contentsOf other: [UInt8]) { bytes.append(contentsOf: other) }

        /// Appends the entry to `list`, with `gap` written in front of it: one copy of bytes, through a buffer
        /// pointer (appending a slice of `bytes` retained and released the buffer for every entry).
        mutating func write(gap: Int, to list: inout [UInt8]) {
            let size = LEB128.size(gap)
            bytes.withUnsafeMutableBufferPointer { bytes in
                var v = UInt(gap), at = Self.gapRoom - size
                for _ in 0..<size {
                    bytes[at] = UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0)
                    v >>= 7
                    at += 1
                }
                list.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[(Self.gapRoom - size)...]))
            }
        }
    }

    /// Spellings of up to 16 UTF-8 bytes (nearly every syllable), packed into two words (low, high): no string
    /// to build or normalize. Longer spellings are keyed by their string.
    private var shortSpellings = WordKeyMap<Spelling>()
    private var spellings: [String: Spelling] = [:]
    /// Every spelling met, in the order met, for readers to decode stored bodies with: it only grows, and a
    /// snapshot's copy covers every code its segments use. Loaded from a snapshot, its spellings are filed in the
    /// lookup tables above (`filed` of them so far) before the next document is added.
    private(set) var vocabulary: ChunkedArray<String>
    private var filed = 0
    private var termNames: [String] = []
    private var termIDs: [String: Int32] = [:]
    private var exactNames: [String] = []
    private var exactIDs: [String: Int32] = [:]

    /// Two term ids (first in the high half of the low word) → the pair's id.
    private var pairIDs = WordKeyMap<Int32>()
    private var pairNames: [String] = []

    private var termLists: [OpenList] = []
    private var pairLists: [OpenList] = []
    private var exactLists: [OpenList] = []
    private var touchedTerms: [Int32] = []
    private var touchedPairs: [Int32] = []
    private var touchedExact: [Int32] = []
    private var stored = ByteBuffer()
    private var storedEnds: [Int] = []
    private var articleNumbers: [String: Int32] = [:]
    private var entityNumbers: [String: Int32] = [:]
    private var entityDocuments: [Int32: [Int32]] = [:]
    private(set) var firstDocument: Int32 = 0
    private(set) var documentCount = 0

    // Scratch, reused per document. A document's occurrences of a term are chained in text order (`chained`,
    // from `firstOccurrence` to `lastOccurrence`), and its pairs counted in place: grouping without sorting.
    private var occurrenceTerms: [Int32] = []
    private var occurrencePositions: [Int32] = []
    private var chained: [Int32] = []
    private var firstOccurrence: [Int32] = []  // per term id, −1 when not in the document
    private var lastOccurrence: [Int32] = []
    private var documentTerms: [Int32] = []
    private var pairCounts: [Int32] = []  // per pair id, 0 when not in the document
    private var pairTitleCounts: [Int32] = []
    private var documentPairs: [Int32] = []
    private var exactLastDocument: [Int32] = []  // per exact id: the last document that listed it
    private var encodedPositions: [UInt8] = []
    private var entry = EntryScratch()
    private var body = StoredBody.Encoder()

    /// Which of the index's builders this is: its stored blocks name its vocabulary by this number.
    let number: Int

    /// Builder `number`, whose spelling codes continue `vocabulary` (a loaded snapshot's).
    init(number: Int, vocabulary: ChunkedArray<String> = ChunkedArray()) {
        self.number = number
        self.vocabulary = vocabulary
    }

    /// Positions left between the title and the body, so that no phrase spans the two.
    static let fieldGap: Int32 = 8

    /// Starts a batch whose first document is `document`.
    mutating func begin(at document: Int32) {
        firstDocument = document
        documentCount = 0
        // Document numbers may start over lower (a loaded snapshot replacing a longer index).
        for i in exactLastDocument.indices { exactLastDocument[i] = -1 }
    }

    /// Adds the next document of the batch: the article as kept for display (its body is `SearchIndex.body(of:)`),
    /// its extraction, the entities it mentions (distinct) and those mentioned here for the first time. Returns its
    /// length in positions (title, gap and body) and its title's.
    mutating func add(article: Article, extraction: Extraction,
                      mentioned: [Int32], introduced: [(id: String, number: Int32)]) -> (length: Int32, titleLength: Int32) {
        while filed < vocabulary.count {
            file(vocabulary[filed], code: Int32(filed))
            filed += 1
        }
        let document = firstDocument + Int32(documentCount)
        documentCount += 1
        articleNumbers[article.id] = document
        for (id, number) in introduced { entityNumbers[id] = number }
        for number in mentioned { entityDocuments[number, default: []].append(document) }
        occurrenceTerms.removeAll(keepingCapacity: true)
        occurrencePositions.removeAll(keepingCapacity: true)
        var position: Int32 = 0
        tokenize(article.title, from: &position, document: document, coding: false)
        let titleLength = position
        position += Self.fieldGap
        body.start(paragraphs: article.paragraphs.count, captions: article.captions.count)
        tokenize(SearchIndex.body(of: article), from: &position, document: document, coding: true)
        let coded = body.splitsBack

        // Chain each term's occurrences and count each pair (two terms at consecutive positions, so never across
        // the title gap).
        documentTerms.removeAll(keepingCapacity: true)
        documentPairs.removeAll(keepingCapacity: true)
        chained.removeAll(keepingCapacity: true)
        for k in occurrenceTerms.indices {
            let term = Int(occurrenceTerms[k])
            chained.append(-1)
            if lastOccurrence[term] < 0 {
                firstOccurrence[term] = Int32(k)
                documentTerms.append(Int32(term))
            } else {
                chained[Int(lastOccurrence[term])] = Int32(k)
            }
            lastOccurrence[term] = Int32(k)
            guard k > 0, occurrencePositions[k - 1] + 1 == occurrencePositions[k] else { continue }
            let key = UInt64(UInt32(occurrenceTerms[k - 1])) << 32 | UInt64(UInt32(term))
            let pair = Int(pairIDs[low: key, high: 0] ?? learnPair(key))
            if pairCounts[pair] == 0 { documentPairs.append(Int32(pair)) }
            pairCounts[pair] += 1
            if occurrencePositions[k - 1] < titleLength { pairTitleCounts[pair] += 1 }
        }

        for term in documentTerms.map(Int.init) {
            var k = Int(firstOccurrence[term]), count = 0, inTitle = 0
            var previous: Int32 = 0
            encodedPositions.removeAll(keepingCapacity: true)
            while k >= 0 {
                let p = occurrencePositions[k]
                if p < titleLength { inTitle += 1 }
                LEB128.append(Int(count == 0 ? p : p - previous), to: &encodedPositions)
                previous = p
                count += 1
                k = Int(chained[k])
            }
            firstOccurrence[term] = -1
            lastOccurrence[term] = -1
            entry.start()
            entry.append(count << 1 | (inTitle > 0 ? 1 : 0))
            if inTitle > 0 { entry.append(inTitle) }
            entry.append(encodedPositions.count)
            entry.append(contentsOf: encodedPositions)
            if termLists[term].documents == 0 { touchedTerms.append(Int32(term)) }
            termLists[term].append(document, &entry)
        }
        for pair in documentPairs.map(Int.init) {
            let count = Int(pairCounts[pair]), inTitle = Int(pairTitleCounts[pair])
            pairCounts[pair] = 0
            pairTitleCounts[pair] = 0
            entry.start()
            entry.append(count << 1 | (inTitle > 0 ? 1 : 0))
            if inTitle > 0 { entry.append(inTitle) }
            if pairLists[pair].documents == 0 { touchedPairs.append(Int32(pair)) }
            pairLists[pair].append(document, &entry)
        }

        var shown = article
        if coded {
            shown.paragraphs = []
            shown.captions = []
        }
        shown.pack(into: &stored)
        storedEnds.append(stored.writerIndex)
        // Entities and mentions are kept by the index itself; the rest is read back for entity pages and meetings.
        if !extraction.roles.isEmpty || !extraction.documents.isEmpty || !extraction.events.isEmpty {
            var kept = Extraction()
            kept.roles = extraction.roles
            kept.documents = extraction.documents
            kept.events = extraction.events
            kept.pack(into: &stored)
        }
        storedEnds.append(stored.writerIndex)
        if coded { stored.writeBytes(body.bytes) }
        storedEnds.append(stored.writerIndex)
        return (position, titleLength)
    }

    /// Files each token of `field` under its spelling and lists it from `position` on; with `coding`, also writes
    /// the field as the stored body (`body`).
    private mutating func tokenize(_ field: String, from position: inout Int32, document: Int32, coding: Bool) {
        var field = field
        field.makeContiguousUTF8()
        let ranges = VietnameseText.tokenRanges(field)
        field.utf8.withContiguousStorageIfAvailable { bytes in
            for range in ranges {
                let spelling: Spelling
                if range.count <= 16 {
                    let key = Self.shortKey(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[range]))
                    spelling = shortSpellings[low: key.low, high: key.high] ?? learn(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
                } else {
                    let raw = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                    spelling = spellings[raw] ?? learn(raw)
                }
                if coding { body.token(spelling.code, at: range, of: bytes) }
                occurrenceTerms.append(spelling.term)
                occurrencePositions.append(position)
                // An exact form is listed once per document, when first seen in it.
                if spelling.exact >= 0, exactLastDocument[Int(spelling.exact)] != document {
                    exactLastDocument[Int(spelling.exact)] = document
                    if exactLists[Int(spelling.exact)].documents == 0 { touchedExact.append(spelling.exact) }
                    entry.start()
                    exactLists[Int(spelling.exact)].append(document, &entry)
                }
                position += 1
            }
            if coding { body.finish(bytes) }
        }
    }

    /// Names a pair of term ids seen side by side for the first time.
    private mutating func learnPair(_ key: UInt64) -> Int32 {
        let id = Int32(pairNames.count)
        pairIDs.insert(low: key, high: 0, id)
        pairNames.append(termNames[Int(key >> 32)] + " " + termNames[Int(key & 0xFFFF_FFFF)])
        pairLists.append(OpenList())
        pairCounts.append(0)
        pairTitleCounts.append(0)
        return id
    }

    /// Adds a spelling seen for the first time to the vocabulary.
    private mutating func learn(_ raw: String) -> Spelling {
        vocabulary.append(raw)
        filed += 1
        return file(raw, code: Int32(vocabulary.count - 1))
    }

    /// Files spelling `code` under its folded syllable and its exact form.
    @discardableResult
    private mutating func file(_ raw: String, code: Int32) -> Spelling {
        func id(_ name: String, _ ids: inout [String: Int32], _ names: inout [String], _ lists: inout [OpenList]) -> Int32 {
            if let id = ids[name] { return id }
            let id = Int32(names.count)
            ids[name] = id
            names.append(name)
            lists.append(OpenList())
            return id
        }
        let term = id(VietnameseText.fold(raw), &termIDs, &termNames, &termLists)
        while firstOccurrence.count < termNames.count {
            firstOccurrence.append(-1)
            lastOccurrence.append(-1)
        }
        var exact: Int32 = -1
        if raw.utf8.contains(where: { $0 >= 0x80 }) {
            let lower = raw.unicodeScalars.contains(where: VietnameseText.isUppercase) ? raw.lowercased() : raw
            exact = id(lower, &exactIDs, &exactNames, &exactLists)
            while exactLastDocument.count < exactNames.count { exactLastDocument.append(-1) }
        }
        let spelling = Spelling(term: term, exact: exact, code: code)
        if raw.utf8.count > 16 {
            spellings[raw] = spelling
        } else {
            var raw = raw
            raw.makeContiguousUTF8()
            let key = raw.utf8.withContiguousStorageIfAvailable { Self.shortKey(UnsafeRawBufferPointer($0)) }!
            shortSpellings.insert(low: key.low, high: key.high, spelling)
        }
        return spelling
    }

    /// A spelling of up to 16 UTF-8 bytes as the two words `shortSpellings` keys it by (zero-padded).
    @inline(__always)
    private static func shortKey(_ spelling: UnsafeRawBufferPointer) -> (low: UInt64, high: UInt64) {
        var key: (low: UInt64, high: UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &key) { $0.copyMemory(from: spelling) }
        return key
    }

    /// The batch as a segment (nil when it is empty); the builder is ready for the next batch.
    mutating func seal() -> Segment? {
        guard documentCount > 0 else { return nil }
        let size = touchedTerms.reduce(0) { $0 + termLists[Int($1)].bytes.count } + touchedPairs.reduce(0) { $0 + pairLists[Int($1)].bytes.count }
            + touchedExact.reduce(0) { $0 + exactLists[Int($1)].bytes.count }
        let bytes = Segment.allocate(size)
        var offset = 0
        var checkpoints: [Segment.Checkpoint] = []
        func move(_ touched: [Int32], _ lists: inout [OpenList], _ names: [String]) -> [String: Segment.Term] {
            var terms: [String: Segment.Term] = [:]
            terms.reserveCapacity(touched.count)
            for id in touched {
                let list = lists[Int(id)]
                list.bytes.withUnsafeBufferPointer { source in
                    if let from = source.baseAddress { (bytes.baseAddress! + offset).initialize(from: from, count: source.count) }
                }
                terms[names[Int(id)]] = Segment.Term(offset: offset, length: list.bytes.count, documents: list.documents, lastDocument: list.lastDocument,
                                                     firstCheckpoint: checkpoints.count, checkpointCount: list.checkpoints.count)
                checkpoints.append(contentsOf: list.checkpoints)
                offset += list.bytes.count
                lists[Int(id)].reset()
            }
            return terms
        }
        let terms = move(touchedTerms, &termLists, termNames)
        let pairs = move(touchedPairs, &pairLists, pairNames)
        let exactForms = move(touchedExact, &exactLists, exactNames)
        let storedBytes = Segment.allocate(stored.readableBytes)
        stored.withUnsafeReadableBytes { source in
            if let from = source.baseAddress { storedBytes.baseAddress!.initialize(from: from.assumingMemoryBound(to: UInt8.self), count: source.count) }
        }
        let segment = Segment(firstDocument: firstDocument, documentCount: documentCount, terms: terms, pairs: pairs, exactForms: exactForms,
                              checkpoints: checkpoints, bytes: UnsafeBufferPointer(bytes),
                              stored: [StoredArticles(firstDocument: firstDocument, bytes: UnsafeBufferPointer(storedBytes), ends: storedEnds,
                                                     spellings: vocabulary, vocabulary: number)],
                              articleNumbers: articleNumbers, entityNumbers: entityNumbers, entityDocuments: entityDocuments)
        articleNumbers = [:]
        entityNumbers = [:]
        entityDocuments = [:]
        touchedTerms.removeAll(keepingCapacity: true)
        touchedPairs.removeAll(keepingCapacity: true)
        touchedExact.removeAll(keepingCapacity: true)
        stored.clear()
        storedEnds.removeAll(keepingCapacity: true)
        firstDocument += Int32(documentCount)
        documentCount = 0
        return segment
    }
}

extension Segment {
    /// One segment holding the documents of `parts` (consecutive, in order): each term's streams are concatenated,
    /// the first entry of each later part re-based on the document before it. Stored articles are shared, not copied.
    static func merged(_ parts: [Segment]) -> Segment {
        precondition(parts.count >= 2 && zip(parts, parts.dropFirst()).allSatisfy { $0.endDocument == $1.firstDocument })
        // Re-basing a first entry can lengthen its varint by up to 5 bytes.
        let bound = parts.reduce(0) { $0 + $1.bytes.count } + parts.dropFirst().reduce(0) { $0 + 5 * ($1.terms.count + $1.pairs.count + $1.exactForms.count) }
        let bytes = Segment.allocate(bound)
        var offset = 0
        var checkpoints: [Checkpoint] = []
        checkpoints.reserveCapacity(parts.reduce(0) { $0 + $1.checkpoints.count })
        var head: [UInt8] = []

        /// Appends one segment's stream for a term to the one being written (`result`).
        func append(_ segment: Segment, _ term: Term, to result: inout Term, lastKept: inout Int) {
            let source = segment.bytes.baseAddress! + term.offset
            var read = 0
            let first = Int32(LEB128.read(source, &read)) - 1  // every stream starts from −1
            let start = offset
            head.removeAll(keepingCapacity: true)
            LEB128.append(Int(first - result.lastDocument), to: &head)
            for byte in head {
                bytes[offset] = byte
                offset += 1
            }
            let rest = term.length - read
            (bytes.baseAddress! + offset).initialize(from: source + read, count: rest)
            offset += rest
            let shift = head.count - read
            let ordinalBase = result.documents
            if ordinalBase > 0, ordinalBase - lastKept >= Segment.checkpointInterval {
                checkpoints.append(Checkpoint(document: first, previous: result.lastDocument, offset: UInt32(start - result.offset), ordinal: UInt32(ordinalBase)))
                lastKept = ordinalBase
            }
            for c in segment.checkpoints[term.firstCheckpoint..<(term.firstCheckpoint + term.checkpointCount)] {
                let ordinal = ordinalBase + Int(c.ordinal)
                guard ordinal - lastKept >= Segment.checkpointInterval else { continue }
                checkpoints.append(Checkpoint(document: c.document, previous: c.previous,
                                              offset: UInt32(start - result.offset + Int(c.offset) + shift), ordinal: UInt32(ordinal)))
                lastKept = ordinal
            }
            result.documents += term.documents
            result.lastDocument = term.lastDocument
        }
        /// Every name of the parts' tables, written whole (from all parts holding it) when first met.
        func mergeTerms(_ table: KeyPath<Segment, [String: Term]>) -> [String: Term] {
            let tables = parts.map { $0[keyPath: table] }
            var merged: [String: Term] = [:]
            merged.reserveCapacity(tables.map(\.count).max()! * 2)
            for (i, names) in tables.enumerated() {
                for (name, term) in names where i == 0 || merged[name] == nil {
                    var result = Term(offset: offset, length: 0, documents: 0, lastDocument: -1, firstCheckpoint: checkpoints.count, checkpointCount: 0)
                    var lastKept = 0
                    append(parts[i], term, to: &result, lastKept: &lastKept)
                    for j in (i + 1)..<parts.count {
                        if let later = tables[j][name] { append(parts[j], later, to: &result, lastKept: &lastKept) }
                    }
                    result.length = offset - result.offset
                    result.checkpointCount = checkpoints.count - result.firstCheckpoint
                    merged[name] = result
                }
            }
            return merged
        }
        let terms = mergeTerms(\.terms)
        let pairs = mergeTerms(\.pairs)
        let exactForms = mergeTerms(\.exactForms)
        var articleNumbers = parts[0].articleNumbers, entityNumbers = parts[0].entityNumbers, entityDocuments = parts[0].entityDocuments
        for part in parts.dropFirst() {
            articleNumbers.merge(part.articleNumbers) { first, _ in first }
            entityNumbers.merge(part.entityNumbers) { first, _ in first }
            entityDocuments.merge(part.entityDocuments, uniquingKeysWith: +)
        }
        return Segment(firstDocument: parts[0].firstDocument, documentCount: parts.reduce(0) { $0 + $1.documentCount },
                       terms: terms, pairs: pairs, exactForms: exactForms, checkpoints: checkpoints,
                       bytes: UnsafeBufferPointer(rebasing: bytes[0..<offset]), stored: parts.flatMap(\.stored),
                       articleNumbers: articleNumbers, entityNumbers: entityNumbers, entityDocuments: entityDocuments)
    }

    /// How many segments of one size class the list may hold before they are merged (see `appendMerging`).
    static let mergeFactor = 4

    /// The segment's size class: ⌊log₄ documents⌋.
    var sizeClass: Int {
        var k = 0, n = documentCount
        while n >= Segment.mergeFactor { n /= Segment.mergeFactor; k += 1 }
        return k
    }
}

extension Array where Element == Segment {
    /// Appends the segment of a new batch and merges the tail of the list so that size classes never increase
    /// towards the end and each holds fewer than `mergeFactor` segments: four segments of one class merge into
    /// one of a higher class, and a segment larger than those before it absorbs them. The list stays logarithmic
    /// in the documents (at most three per class), and each document is copied about log₄ n times in all,
    /// half as often as when merging in pairs.
    mutating func appendMerging(_ segment: Segment) {
        append(segment)
        while count >= 2 {
            let lastClass = self[count - 1].sizeClass
            var first = count - 1  // the tail run of segments no larger in class than the last
            while first > 0, self[first - 1].sizeClass <= lastClass { first -= 1 }
            if let smaller = self[first..<(count - 1)].firstIndex(where: { $0.sizeClass < lastClass }) {
                first = smaller
            } else if count - first < Segment.mergeFactor {
                return
            }
            let merged = Segment.merged(Array(self[first...]))
            removeSubrange(first...)
            append(merged)
        }
    }
}
