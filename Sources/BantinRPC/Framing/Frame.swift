import NIOCore

/// One frame of the Bantin v1 wire format (docs/PROTOCOL.md):
/// a 12-byte header (length u32 BE, type u8, flags u8, reserved u16 = 0, call_id u32 BE)
/// followed by `length` bytes of body.
///
/// A frame is held as its encoded bytes, header and body in one buffer, and the fields are read from the
/// header. That keeps a frame the size of one `ByteBuffer`, which NIO carries between handlers inline
/// instead of boxing it on the heap; an outbound frame goes to the socket as the buffer it already is; and a
/// body can be written in place behind its header (`Frame.build`) instead of being copied there.
public struct Frame: Sendable, Equatable {
    /// Header and body, as they travel.
    public let bytes: ByteBuffer

    /// A frame around `payload`, which is copied behind the header.
    public init(type: FrameType, flags: FrameFlags = [], callID: UInt32, payload: ByteBuffer = ByteBuffer()) {
        self = Frame.build(type: type, flags: flags, callID: callID, capacity: payload.readableBytes) { $0.writeImmutableBuffer(payload) }
    }

    /// A frame whose body `writeBody` appends straight after the header.
    public static func build(type: FrameType, flags: FrameFlags = [], callID: UInt32, capacity: Int = 0,
                             _ writeBody: (inout ByteBuffer) -> Void) -> Frame {
        var bytes = ByteBuffer()
        bytes.reserveCapacity(headerSize + capacity)
        bytes.writeInteger(UInt32(0))  // the length, set below
        bytes.writeInteger(type.rawValue)
        bytes.writeInteger(flags.rawValue)
        bytes.writeInteger(UInt16(0))
        bytes.writeInteger(callID)
        writeBody(&bytes)
        bytes.setInteger(UInt32(bytes.readableBytes - headerSize), at: bytes.readerIndex)
        return Frame(validated: bytes)
    }

    /// Bytes holding exactly one frame whose header `FrameDecoder` (or `build`) has checked.
    init(validated bytes: ByteBuffer) { self.bytes = bytes }

    public var type: FrameType { FrameType(rawValue: bytes.getInteger(at: bytes.readerIndex + 4, as: UInt8.self)!)! }
    public var flags: FrameFlags { FrameFlags(rawValue: bytes.getInteger(at: bytes.readerIndex + 5, as: UInt8.self)!) }
    /// Chosen by the client, unique per connection; 0 addresses the connection itself.
    public var callID: UInt32 { bytes.getInteger(at: bytes.readerIndex + 8, as: UInt32.self)! }
    /// The body: a slice of `bytes`, not a copy.
    public var payload: ByteBuffer { bytes.getSlice(at: bytes.readerIndex + Self.headerSize, length: bytes.readableBytes - Self.headerSize)! }

    public static let headerSize = 12
    /// Default limit on a frame body; larger frames close the connection.
    public static let defaultMaxBodySize = 4 * 1024 * 1024
}

public enum FrameType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case headers = 1, message, halfClose, trailers, cancel, window, ping, pong, goAway

    public var description: String {
        switch self {
        case .headers: "HEADERS"
        case .message: "MESSAGE"
        case .halfClose: "HALF_CLOSE"
        case .trailers: "TRAILERS"
        case .cancel: "CANCEL"
        case .window: "WINDOW"
        case .ping: "PING"
        case .pong: "PONG"
        case .goAway: "GOAWAY"
        }
    }
}

public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The last message this side sends on the call.
    public static let end = FrameFlags(rawValue: 1 << 0)
    /// Reserved for a compressed body; v1 peers never set it.
    public static let compressed = FrameFlags(rawValue: 1 << 1)
}

/// Why a byte stream is not a valid sequence of frames. Each closes the connection with GOAWAY.
public enum FrameError: Error, Equatable, CustomStringConvertible {
    case oversized(length: UInt32, limit: Int)
    case unknownType(UInt8)
    case reservedBitsSet
    case compressionUnsupported
    case truncated(missing: Int)

    public var description: String {
        switch self {
        case .oversized(let length, let limit):
            "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .unknownType(let type):
            "unknown frame type \(type) (is the peer speaking the Bantin v1 protocol?)"
        case .reservedBitsSet:
            "frame header has non-zero reserved bits (is the peer speaking the Bantin v1 protocol?)"
        case .compressionUnsupported:
            "frame marked COMPRESSED, which v1 does not support"
        case .truncated(let missing):
            "connection closed in the middle of a frame (\(missing) bytes missing)"
        }
    }
}
