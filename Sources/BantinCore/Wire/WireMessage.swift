import CBantinProto
import NIOCore
import Foundation

/// A message that travels as a protobuf-c serialized body.
///
/// Conformers convert at one boundary: `init(cMessage:)` reads the unpacked protobuf-c
/// struct into Swift values, `cMessage(in:)` builds the struct in an arena for packing.
public protocol WireMessage: Sendable {
    static var messageType: MessageType { get }
    init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError)
    func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage>
}

public enum WireError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not a valid serialization of the named message type.
    case malformed(type: String)
    /// A string field holds bytes that are not UTF-8.
    /// `offset`: the first byte (from 0) that is not part of a valid UTF-8 sequence.
    case invalidUTF8(field: String, offset: Int)
    case unknownType(String)
    case json(String)

    public var description: String {
        switch self {
        case .malformed(let type): "body is not a valid \(type) message"
        case .invalidUTF8(let field, let offset): "field '\(field)' is not valid UTF-8 (first bad byte at offset \(offset))"
        case .unknownType(let name): "unknown message type '\(name)'"
        case .json(let reason): reason
        }
    }
}

// Inlinable so that each message type gets a specialized copy in the module that uses it: unspecialized,
// every pack and unpack looked up generic metadata (Result<Self, WireError>, the closures) at run time,
// about 7 % of the echo server's time at 4 KiB.
extension WireMessage {
    @inlinable
    public init(unpacking bytes: UnsafeRawBufferPointer) throws(WireError) {
        let descriptor = Self.messageType.descriptor
        let result: Result<Self, WireError> = withProtobufArena { arena in
            guard let message = protobuf_c_message_unpack(
                descriptor, arena.allocator, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
            else { return .failure(.malformed(type: Self.messageType.name)) }
            return Result { () throws(WireError) in try Self(cMessage: message) }
        }
        self = try result.get()
    }

    @inlinable
    public init(unpacking buffer: ByteBuffer) throws(WireError) {
        do {
            self = try buffer.withUnsafeReadableBytes { try Self(unpacking: $0) }
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError.malformed(type: Self.messageType.name)
        }
    }

    /// Appends the serialized message to `buffer` without an intermediate copy.
    @inlinable
    public func pack(into buffer: inout ByteBuffer) {
        withProtobufArena { arena in
            let message = self.cMessage(in: arena)
            packCMessage(message, into: &buffer)
        }
    }

    @inlinable
    public func packed() -> ByteBuffer {
        var buffer = ByteBuffer()
        pack(into: &buffer)
        return buffer
    }
}

/// Serializes an arena-built protobuf-c message straight into the buffer's writable bytes.
@usableFromInline
func packCMessage(_ message: UnsafePointer<ProtobufCMessage>, into buffer: inout ByteBuffer) {
    let size = protobuf_c_message_get_packed_size(message)
    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
        protobuf_c_message_pack(message, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }
}

/// Helpers for conformers reading and writing protobuf-c structs.
extension ProtobufArena {
    /// Allocates and initializes (`message_init`) the struct of a generated message type.
    public func newMessage<T>(_ type: T.Type, _ messageType: MessageType) -> UnsafeMutablePointer<T> {
        let raw = allocate(byteCount: messageType.descriptor.pointee.sizeof_message)
        messageType.descriptor.pointee.message_init(raw.assumingMemoryBound(to: ProtobufCMessage.self))
        return raw.bindMemory(to: T.self, capacity: 1)
    }
}

/// Reads a protobuf-c `string` field, rejecting bytes that are not UTF-8.
public func wireString(_ pointer: UnsafePointer<CChar>?, field: String) throws(WireError) -> String {
    guard let pointer else { return "" }
    if let s = String(validatingCString: pointer) { return s }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
    throw WireError.invalidUTF8(field: field, offset: firstInvalidUTF8Offset(bytes))
}

/// Where UTF-8 decoding of `bytes` first fails (`bytes.count` when it does not).
public func firstInvalidUTF8Offset(_ bytes: some Collection<UInt8>) -> Int {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    var offset = 0
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): offset += UTF8.width(scalar)
        case .emptyInput: return offset
        case .error: return offset
        }
    }
}

public func wireBytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    guard data.len > 0, let p = data.data else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: data.len))
}

extension UnsafePointer where Pointee == ProtobufCMessage {
    /// The message as its generated struct type.
    public func `as`<T>(_ type: T.Type) -> UnsafePointer<T> {
        UnsafeRawPointer(self).assumingMemoryBound(to: T.self)
    }
}

extension UnsafeMutablePointer {
    /// The generated struct as the generic protobuf-c message it begins with.
    public var asCMessage: UnsafeMutablePointer<ProtobufCMessage> {
        UnsafeMutableRawPointer(self).assumingMemoryBound(to: ProtobufCMessage.self)
    }
}
