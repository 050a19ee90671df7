import Synchronization

/// An array stored in fixed chunks of 4,096, for the index's per-article and per-entity tables.
///
/// The follower extends a copy of the table that readers still hold. With a plain array, the first append
/// after each published batch copies the whole table (copy on write), which makes indexing quadratic in the
/// number of articles. Here an append writes into the last chunk in place even while readers share it: a
/// reader's copy has its own `count` and never reads past it, so the slots after it are free for whichever
/// copy claims them first. Only a copy that is behind (another one has appended since) or that changes an
/// element it shares copies a chunk, and then only that chunk.
struct ChunkedArray<Element: Sendable>: RandomAccessCollection, Sendable {
    /// @unchecked: a slot is written once, by the copy that claimed it (`claim`), and read only by copies
    /// whose count covers it, which they were handed after the write (through the index's lock). Elements
    /// are changed in place only through `unique(_:)`, when this array is the chunk's sole owner. They sit
    /// behind a `let` pointer rather than in a `var` array so that reading one (every search scores
    /// thousands) needs no runtime exclusivity check, which a class's `var` property costs on every access.
    private final class Chunk: @unchecked Sendable {
        let elements = UnsafeMutablePointer<Element>.allocate(capacity: ChunkedArray.chunkSize)
        /// How many slots have been claimed, by any copy sharing this chunk.
        let claimed = Atomic<Int>(0)

        /// A chunk holding this one's first `count` elements, for a copy that owns only those.
        func copy(count: Int) -> Chunk {
            let copy = Chunk()
            copy.elements.initialize(from: elements, count: count)
            copy.claimed.store(count, ordering: .relaxed)
            return copy
        }

        /// Writes `element` to slot `slot` if no copy has claimed it yet; false when one has.
        func claim(_ slot: Int, _ element: Element) -> Bool {
            guard claimed.compareExchange(expected: slot, desired: slot + 1, ordering: .relaxed).exchanged else { return false }
            (elements + slot).initialize(to: element)
            return true
        }

        deinit {
            elements.deinitialize(count: claimed.load(ordering: .relaxed))
            elements.deallocate()
        }
    }

    private static var chunkShift: Int { 12 }
    static var chunkSize: Int { 1 << chunkShift }

    private var chunks: [Chunk] = []
    private(set) var count = 0

    init() {}

    init(_ elements: some Sequence<Element>) {
        for element in elements { append(element) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(i: Int) -> Element {
        get {
            precondition(i >= 0 && i < count, "index out of range")
            return chunks[i >> Self.chunkShift].elements[i & (Self.chunkSize - 1)]
        }
        set {
            precondition(i >= 0 && i < count, "index out of range")
            unique(i >> Self.chunkShift).elements[i & (Self.chunkSize - 1)] = newValue
        }
    }

    mutating func append(_ element: Element) {
        let slot = count & (Self.chunkSize - 1)
        if slot == 0 { chunks.append(Chunk()) }
        let last = chunks.count - 1
        if !chunks[last].claim(slot, element) {
            // Another copy has written this slot: continue in a chunk of our own.
            chunks[last] = chunks[last].copy(count: slot)
            _ = chunks[last].claim(slot, element)
        }
        count += 1
    }

    var last: Element? { count == 0 ? nil : self[count - 1] }

    /// How many of chunk `k`'s slots this array holds.
    private func held(_ k: Int) -> Int { Swift.min(count - (k << Self.chunkShift), Self.chunkSize) }

    /// Chunk `k`, copied first if anyone else holds it.
    private mutating func unique(_ k: Int) -> Chunk {
        if !isKnownUniquelyReferenced(&chunks[k]) { chunks[k] = chunks[k].copy(count: held(k)) }
        return chunks[k]
    }
}
