import NIOCore

/// One frame of the Bantin v1 wire format (docs/PROTOCOL.md):
/// a 12-byte header (length u32 BE, type u8, flags u8, reserved u16 = 0, call_id u32 BE)
/// followed by `length` bytes of body.
public struct Frame: Sendable, Equatable {
    public var type: FrameType
    public var flags: FrameFlags
    /// Chosen by the client, unique per connection; 0 addresses the connection itself.
    public var callID: UInt32
    public var payload: ByteBuffer

    public init(type: FrameType, flags: FrameFlags = [], callID: UInt32, payload: ByteBuffer = ByteBuffer()) {
        self.type = type
        self.flags = flags
        self.callID = callID
        self.payload = payload
    }

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
