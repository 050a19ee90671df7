import BantinCore

/// An immutable slice of the index: the postings and stored articles of a run of consecutive documents.
///
/// The replica's index is a short list of segments (see `SegmentBuilder` and `Segment.merged`). Every batch
/// from the change feed becomes a new segment, so applying never touches what a reader holds: readers keep
/// the list they started with, the follower publishes a longer one. Neighbouring segments of similar size
/// are merged, which keeps the list logarithmic in the number of documents.
///
/// A term's postings are one LEB128 byte stream, in document order:
///
///     varint(document − previous document)          the first entry counts from −1
///     varint(frequency << 1 | has title occurrences)
///     varint(title frequency)                       only when the flag is set
///     varint(byte length of the positions)
///     positions: the first as is, then the gaps      so a document can be skipped without decoding them
///
/// Pair lists (`pairs`) hold, for every two folded syllables that stand side by side somewhere, the document
/// gap, `frequency << 1 | has title occurrences` and the title frequency, with no positions: a two-syllable
/// phrase (most Vietnamese words, and the side-by-side bonus of every two-word query) is then read like one
/// syllable instead of by walking two position lists. Exact-form lists (`exactForms`) hold only the document
/// gaps. Every 64th posting or so has a `Checkpoint`
/// (document, the document before it, byte offset, ordinal) so that seeking far is a binary search
/// instead of a walk. All of a segment's streams live in one allocation, and so do its stored articles.
/// A segment also maps its articles' ids and its new entities' ids to numbers, and lists the documents
/// mentioning each entity: the tables that would otherwise be copied whole on every batch.
final class Segment: @unchecked Sendable {
    // @unchecked: the buffers are written once, in init, and only read afterwards; deinit frees them.

    struct Term {
        /// Offset and length of the stream in `bytes`.
        var offset: Int
        var length: Int
        var documents: Int
        var lastDocument: Int32
        /// The term's checkpoints are `checkpoints[firstCheckpoint ..< firstCheckpoint + checkpointCount]`.
        var firstCheckpoint: Int
        var checkpointCount: Int
    }

    struct Checkpoint {
        var document: Int32
        var previous: Int32
        /// From the start of the term's stream.
        var offset: UInt32
        var ordinal: UInt32
    }

    static let checkpointInterval = 64

    let firstDocument: Int32
    let documentCount: Int
    var endDocument: Int32 { firstDocument + Int32(documentCount) }

    /// Folded syllable → its postings (with positions).
    let terms: [String: Term]
    /// Two folded syllables, side by side and joined by a space → the documents where the second follows the
    /// first, with how often (no positions).
    let pairs: [String: Term]
    /// Lower-case syllable with its diacritics → the documents holding it (ranks exact-diacritic matches first).
    let exactForms: [String: Term]
    let checkpoints: [Checkpoint]
    let bytes: UnsafeBufferPointer<UInt8>
    /// The mapped snapshot `bytes` lie in; nil when they are this segment's own allocation.
    private let mapping: FileMapping?

    /// The stored articles, in the blocks their batches wrote: merging segments shares these, never copies them.
    let stored: [StoredArticles]

    /// Article id → document, for this segment's documents.
    let articleNumbers: [String: Int32]
    /// Entity id → number, for the entities first mentioned in this segment.
    let entityNumbers: [String: Int32]
    /// Entity number → the documents of this segment mentioning it, ascending.
    let entityDocuments: [Int32: [Int32]]

    init(firstDocument: Int32, documentCount: Int, terms: [String: Term], pairs: [String: Term], exactForms: [String: Term], checkpoints: [Checkpoint],
         bytes: UnsafeBufferPointer<UInt8>, mapping: FileMapping? = nil, stored: [StoredArticles],
         articleNumbers: [String: Int32], entityNumbers: [String: Int32], entityDocuments: [Int32: [Int32]]) {
        self.mapping = mapping
        self.articleNumbers = articleNumbers
        self.entityNumbers = entityNumbers
        self.entityDocuments = entityDocuments
        self.firstDocument = firstDocument
        self.documentCount = documentCount
        self.terms = terms
        self.pairs = pairs
        self.exactForms = exactForms
        self.checkpoints = checkpoints
        self.bytes = bytes
        self.stored = stored
    }

    deinit {
        if mapping == nil { bytes.deallocate() }
    }

    static func allocate(_ count: Int) -> UnsafeMutableBufferPointer<UInt8> {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(count, 1))
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }

    func contains(_ document: Int32) -> Bool { document >= firstDocument && document < endDocument }

    func article(_ document: Int32) -> Article { storedBlock(document).article(document) ?? Article() }
    func heading(_ document: Int32) -> Article { storedBlock(document).heading(document) ?? Article() }
    func body(_ document: Int32) -> String { storedBlock(document).body(document) ?? "" }
    func extraction(_ document: Int32) -> Extraction { storedBlock(document).extraction(document) }

    private func storedBlock(_ document: Int32) -> StoredArticles {
        var low = 0, high = stored.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if stored[mid].firstDocument <= document { low = mid } else { high = mid - 1 }
        }
        return stored[low]
    }

    func postings(_ term: String) -> PostingCursor? {
        terms[term].map { PostingCursor(segment: self, term: $0, layout: .positions) }
    }

    /// The postings of `second` right after `first` (both folded syllables).
    func pairPostings(_ first: String, _ second: String) -> PostingCursor? {
        pairs[first + " " + second].map { PostingCursor(segment: self, term: $0, layout: .frequencies) }
    }

    /// The postings of a one- or two-syllable phrase, each entry's frequency counting its occurrences.
    func postings(of phrase: [String]) -> PostingCursor? {
        switch phrase.count {
        case 1: postings(phrase[0])
        case 2: pairPostings(phrase[0], phrase[1])
        default: preconditionFailure("longer phrases are found by their positions")
        }
    }

    func exactDocuments(_ form: String) -> PostingCursor? {
        exactForms[form].map { PostingCursor(segment: self, term: $0, layout: .documents) }
    }

    var byteCount: Int { bytes.count + checkpoints.count * MemoryLayout<Checkpoint>.stride + stored.reduce(0) { $0 + $1.bytes.count + $1.ends.count * 8 } }
}

/// The stored records of a run of documents: per document a packed `Article` (without its full text, and without
/// its paragraphs and captions when the third record holds them), a packed `Extraction` holding its roles,
/// documents and events, and its body as `StoredBody` codes (empty when not coded); `bytes[ends[3i - 1] ..< ends[3i]]`
/// and the next two.
final class StoredArticles: @unchecked Sendable {
    // @unchecked: written once, in init, only read afterwards; deinit frees the buffer.
    static let recordsPerDocument = 3
    let firstDocument: Int32
    let bytes: UnsafeBufferPointer<UInt8>
    let ends: [Int]
    /// The spellings the bodies are coded in: the vocabulary of the builder that wrote the block (`vocabulary`, its
    /// number), as far as it went then.
    let spellings: ChunkedArray<String>
    let vocabulary: Int
    /// The mapped snapshot `bytes` lie in; nil when they are this block's own allocation.
    private let mapping: FileMapping?

    init(firstDocument: Int32, bytes: UnsafeBufferPointer<UInt8>, mapping: FileMapping? = nil, ends: [Int],
         spellings: ChunkedArray<String>, vocabulary: Int) {
        self.firstDocument = firstDocument
        self.bytes = bytes
        self.mapping = mapping
        self.ends = ends
        self.spellings = spellings
        self.vocabulary = vocabulary
    }

    deinit { if mapping == nil { bytes.deallocate() } }

    var documentCount: Int { ends.count / Self.recordsPerDocument }

    /// The stored record `k` (0: the article, 1: its extraction, 2: its body) of `document`.
    func record(_ document: Int32, _ k: Int) -> UnsafeRawBufferPointer {
        let i = Self.recordsPerDocument * Int(document - firstDocument) + k
        let start = i == 0 ? 0 : ends[i - 1]
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<ends[i]])
    }

    /// The article of `document` without its paragraphs and captions when they are coded (its id, title, lead...).
    func heading(_ document: Int32) -> Article? { try? Article(unpacking: record(document, 0)) }

    /// The article of `document`, its body decoded (see `StoredBody`); nil if the record is corrupt.
    func article(_ document: Int32) -> Article? {
        guard var article = heading(document) else { return nil }
        let body = record(document, 2)
        if !body.isEmpty {
            do throws(StoredBody.Corrupt) { try StoredBody.decode(body, spellings: spellings, into: &article) } catch { return nil }
        }
        return article
    }

    /// The body of `document` (`SearchIndex.body(of:)`), decoded straight from its codes; nil if the record is corrupt.
    func body(_ document: Int32) -> String? {
        let coded = record(document, 2)
        guard !coded.isEmpty else { return heading(document).map(SearchIndex.body(of:)) }
        guard let body = try? StoredBody.body(coded, spellings: spellings) else { return nil }
        return String(decoding: body.text, as: UTF8.self)
    }

    func extraction(_ document: Int32) -> Extraction {
        let record = record(document, 1)
        return record.isEmpty ? Extraction() : (try? Extraction(unpacking: record)) ?? Extraction()
    }
}

/// Reads one term's postings in a segment, forwards.
struct PostingCursor {
    /// What each entry holds after its document gap.
    enum Layout {
        /// Frequencies and positions (syllables).
        case positions
        /// Frequencies only (pairs).
        case frequencies
        /// Nothing (exact forms).
        case documents
    }

    let segment: Segment
    let term: Segment.Term
    let layout: Layout
    private let base: UnsafePointer<UInt8>
    private var offset = 0
    /// The current document: −1 before the first `next()`, `Int32.max` past the end.
    private(set) var document: Int32 = -1
    /// The current posting's index in the list.
    private(set) var ordinal = -1
    private(set) var frequency = 0
    private(set) var titleFrequency = 0
    private var positionsStart = 0
    private var positionsEnd = 0
    /// The term's first checkpoint that may still lie ahead (an index into its checkpoints).
    private var nextCheckpoint = 0

    init(segment: Segment, term: Segment.Term, layout: Layout) {
        self.segment = segment
        self.term = term
        self.layout = layout
        base = segment.bytes.baseAddress! + term.offset
    }

    var count: Int { term.documents }

    private mutating func varint() -> Int { LEB128.read(base, &offset) }

    /// Moves to the next posting; false (and `document` = `Int32.max`) at the end.
    @discardableResult
    mutating func next() -> Bool {
        guard offset < term.length else {
            document = .max
            ordinal = term.documents
            return false
        }
        document += Int32(varint())
        ordinal += 1
        if layout != .documents {
            let f = varint()
            frequency = f >> 1
            titleFrequency = f & 1 == 0 ? 0 : varint()
        }
        if layout == .positions {
            let length = varint()
            positionsStart = offset
            offset += length
            positionsEnd = offset
        }
        return true
    }

    /// Moves to the first posting at or after `target` (staying put if already there); false past the end.
    @discardableResult
    mutating func seek(_ target: Int32) -> Bool {
        if document >= target { return document != .max }
        if target > term.lastDocument {
            offset = term.length
            return next()
        }
        // The last checkpoint at or before the target, found by galloping from the first one ahead of the cursor:
        // cursors mostly seek a little way (a conjunction's lists move together), now and then far.
        let checkpoints = segment.checkpoints, first = term.firstCheckpoint, end = term.checkpointCount
        while nextCheckpoint < end, Int(checkpoints[first + nextCheckpoint].ordinal) <= ordinal + 1 { nextCheckpoint += 1 }
        if nextCheckpoint < end, checkpoints[first + nextCheckpoint].document <= target {
            var low = nextCheckpoint, step = 1  // checkpoints[low] is at or before the target
            while low + step < end, checkpoints[first + low + step].document <= target {
                low += step
                step *= 2
            }
            var high = min(low + step, end)  // checkpoints[high], if any, is past it
            while high - low > 1 {
                let mid = (low + high) / 2
                if checkpoints[first + mid].document <= target { low = mid } else { high = mid }
            }
            let checkpoint = checkpoints[first + low]
            offset = Int(checkpoint.offset)
            document = checkpoint.previous
            ordinal = Int(checkpoint.ordinal) - 1
            nextCheckpoint = low + 1
        }
        while next() { if document >= target { return true } }
        return false
    }

    /// How many postings are for documents below `limit`.
    func count(below limit: Int32) -> Int {
        if term.lastDocument < limit { return term.documents }
        var probe = PostingCursor(segment: segment, term: term, layout: layout)
        probe.seek(limit)
        return probe.ordinal
    }

    /// The current posting's positions, ascending.
    func positions(into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        var at = positionsStart
        var position: Int32 = 0
        var first = true
        while at < positionsEnd {
            let value = LEB128.read(base, &at)
            position = first ? Int32(value) : position + Int32(value)
            first = false
            out.append(position)
        }
    }
}

/// LEB128, the variable-length integers the streams are made of.
enum LEB128 {
    static func append(_ value: Int, to bytes: inout [UInt8]) {
        var v = UInt(bitPattern: value)
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    static func size(_ value: Int) -> Int {
        var v = UInt(bitPattern: value), n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    /// Reads one at `offset` of `bytes` (advancing it) that may be damaged: nil when the bytes end first or it runs
    /// past 64 bits.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: inout Int) -> UInt64? {
        var value: UInt64 = 0, shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { return nil }
        }
        return nil
    }

    /// Reads one at `offset` of `bytes`, advancing it.
    static func read(_ bytes: UnsafePointer<UInt8>, _ offset: inout Int) -> Int {
        var value = 0, shift = 0
        while true {
            let byte = bytes[offset]
            offset += 1
            value |= Int(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
}
