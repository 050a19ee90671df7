import CBantinProto

/// A bump allocator handed to protobuf-c for one pack or unpack.
///
/// protobuf-c calls its allocator once per string, bytes field, repeated field and
/// sub-message. Serving those from a stack block (and malloc'd overflow blocks only
/// for large messages) keeps the per-call path free of per-field `malloc`, and frees
/// everything at once when the closure returns.
public struct ProtobufArena {
    @usableFromInline let state: UnsafeMutablePointer<State>

    @usableFromInline init(state: UnsafeMutablePointer<State>) { self.state = state }

    @usableFromInline
    struct State {
        var cursor: UnsafeMutableRawPointer
        var remaining: Int
        /// Singly linked list of malloc'd overflow blocks; the first word of each is the next pointer.
        var overflow: UnsafeMutableRawPointer?
        var allocator: ProtobufCAllocator

        @usableFromInline
        init(cursor: UnsafeMutableRawPointer, remaining: Int, overflow: UnsafeMutableRawPointer?, allocator: ProtobufCAllocator) {
            self.cursor = cursor
            self.remaining = remaining
            self.overflow = overflow
            self.allocator = allocator
        }
    }

    /// 16 KiB on the stack: a 4 KiB message (struct, copied bytes, strings) fits without touching malloc; with
    /// 4 KiB the 4 KiB Echo overflowed into a malloc'd block on every pack and unpack.
    @usableFromInline static let stackBytes = 16 * 1024
    @usableFromInline static let alignment = 16

    /// The allocator to pass to `protobuf_c_message_unpack`.
    public var allocator: UnsafeMutablePointer<ProtobufCAllocator> {
        UnsafeMutableRawPointer(state).advanced(by: MemoryLayout<State>.offset(of: \State.allocator)!)
            .assumingMemoryBound(to: ProtobufCAllocator.self)
    }

    public func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let size = (max(byteCount, 1) + Self.alignment - 1) & ~(Self.alignment - 1)
        if size <= state.pointee.remaining {
            let p = state.pointee.cursor
            state.pointee.cursor += size
            state.pointee.remaining -= size
            return p
        }
        // Overflow: a block of its own for large requests, else a fresh 16 KiB block to bump from.
        let blockSize = max(size, 16 * 1024)
        let block = UnsafeMutableRawPointer.allocate(byteCount: blockSize + Self.alignment, alignment: Self.alignment)
        block.storeBytes(of: state.pointee.overflow, as: UnsafeMutableRawPointer?.self)
        state.pointee.overflow = block
        let usable = block + Self.alignment
        if blockSize > size {
            state.pointee.cursor = usable + size
            state.pointee.remaining = blockSize - size
        }
        return usable
    }

    public func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride * count).bindMemory(to: T.self, capacity: count)
    }

    /// A NUL-terminated copy of `string`, as protobuf-c expects for `string` fields.
    public func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        func copy(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafeMutablePointer<CChar> {
            let p = allocate(byteCount: utf8.count + 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
            if let base = utf8.baseAddress {
                UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: utf8.count)
            }
            p[utf8.count] = 0
            return p
        }
        // Native strings are contiguous: read in place, without the copy `withUTF8` (mutating) needs.
        if let p = string.utf8.withContiguousStorageIfAvailable(copy) { return p }
        var string = string
        return string.withUTF8(copy)
    }

    public func binary(_ bytes: some Collection<UInt8>) -> ProtobufCBinaryData {
        let count = bytes.count
        let p = allocate(byteCount: count).bindMemory(to: UInt8.self, capacity: count)
        _ = UnsafeMutableBufferPointer(start: p, count: count).initialize(from: bytes)
        return ProtobufCBinaryData(len: count, data: p)
    }

    /// An array of message pointers for a repeated message field.
    public func messageArray<T>(_ elements: [UnsafeMutablePointer<T>]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?> {
        let p = allocate(UnsafeMutablePointer<T>?.self, count: elements.count)
        for (i, e) in elements.enumerated() { p[i] = e }
        return p
    }
}

/// Runs `body` with an arena that lives until `body` returns.
@inlinable
public func withProtobufArena<R>(_ body: (ProtobufArena) throws -> R) rethrows -> R {
    try withUnsafeTemporaryAllocation(byteCount: ProtobufArena.stackBytes, alignment: ProtobufArena.alignment) { stack in
        try withUnsafeTemporaryAllocation(of: ProtobufArena.State.self, capacity: 1) { statePointer in
            let state = statePointer.baseAddress!
            state.initialize(to: ProtobufArena.State(
                cursor: stack.baseAddress!, remaining: stack.count, overflow: nil,
                allocator: ProtobufCAllocator(alloc: arenaAlloc, free: arenaFree, allocator_data: UnsafeMutableRawPointer(state))))
            defer { releaseOverflow(state) }
            return try body(ProtobufArena(state: state))
        }
    }
}

@usableFromInline
func releaseOverflow(_ state: UnsafeMutablePointer<ProtobufArena.State>) {
    var block = state.pointee.overflow
    while let b = block {
        block = b.load(as: UnsafeMutableRawPointer?.self)
        b.deallocate()
    }
    state.pointee.overflow = nil
}

@usableFromInline
let arenaAlloc: @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer? = { data, size in
    ProtobufArena(state: data!.assumingMemoryBound(to: ProtobufArena.State.self)).allocate(byteCount: size)
}

@usableFromInline
let arenaFree: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, _ in
    // Freed all at once when the arena goes away.
}
