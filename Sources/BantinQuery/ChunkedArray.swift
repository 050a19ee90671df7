/// An array stored in fixed chunks of 4,096, for the index's per-article and per-entity tables.
///
/// The follower extends a copy of the table that readers still hold. With a plain array, the first append
/// after each published batch copies the whole table (copy on write), which makes indexing quadratic in the
/// number of articles; here it copies the list of chunk references and the one chunk written to.
struct ChunkedArray<Element: Sendable>: RandomAccessCollection, Sendable {
    /// @unchecked: a chunk is written only through `unique(_:)`, that is only when this array is its sole
    /// owner; a chunk any reader can reach is never mutated. Its elements sit behind a `let` pointer rather
    /// than in a `var` array so that reading one (every search scores thousands) needs no runtime exclusivity
    /// check, which a class's `var` property costs on every access.
    private final class Chunk: @unchecked Sendable {
        let elements = UnsafeMutablePointer<Element>.allocate(capacity: ChunkedArray.chunkSize)
        var count = 0

        func copy() -> Chunk {
            let copy = Chunk()
            copy.elements.initialize(from: elements, count: count)
            copy.count = count
            return copy
        }

        func append(_ element: Element) {
            (elements + count).initialize(to: element)
            count += 1
        }

        deinit {
            elements.deinitialize(count: count)
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
        if count & (Self.chunkSize - 1) == 0 { chunks.append(Chunk()) }
        unique(chunks.count - 1).append(element)
        count += 1
    }

    var last: Element? { count == 0 ? nil : self[count - 1] }

    /// Chunk `k`, copied first if anyone else holds it.
    private mutating func unique(_ k: Int) -> Chunk {
        if !isKnownUniquelyReferenced(&chunks[k]) { chunks[k] = chunks[k].copy() }
        return chunks[k]
    }
}
