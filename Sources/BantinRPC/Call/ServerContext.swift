import BantinCore
import Logging
import NIOCore
import Synchronization

/// What a handler knows about its call.
public struct ServerContext: Sendable {
    public let method: String
    /// When the client stops waiting; nil when it set no deadline.
    public let deadline: NIODeadline?
    public let metadata: Metadata
    /// From the verified client certificate, parsed once per connection.
    public let peer: PeerIdentity?
    /// The client's x-request-id, or one made from the connection's tag and the call id (formatted only when
    /// asked for: most calls never log); logged with every line.
    public var requestID: String { clientRequestID ?? RequestIDs.make(connection: connectionTag, call: callID) }
    let clientRequestID: String?
    let connectionTag: UInt64
    let callID: UInt32
    /// The connection's logger (peer address); `logger` adds the call's own metadata.
    let connectionLogger: Logger
    let drainFlag: DrainFlag

    /// True once the server has sent GOAWAY on this connection. A stream that would otherwise never end (a live
    /// feed, a watch) should finish when it sees this, so that a graceful shutdown does not wait out its grace period.
    public var isDraining: Bool { drainFlag.isSet }

    /// A logger that tags every line with the request id and method. Built when asked for, not
    /// per call: attaching metadata costs more than a whole Echo call would.
    public var logger: Logger {
        var logger = connectionLogger
        logger[metadataKey: "request-id"] = "\(requestID)"
        logger[metadataKey: "method"] = "\(method)"
        return logger
    }

    /// Time left before the deadline.
    public var remaining: TimeAmount? { deadline.map { $0 - .now() } }
}

/// A one-way flag, set on the event loop and read from handler tasks.
final class DrainFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// The server call a task is handling, if any: its outbound calls inherit what is left of its deadline and carry
/// its request id. One task-local for both, bound once per call.
enum InboundCall {
    @TaskLocal static var current: ServerContext?
}

/// Deadline propagation: a handler's outbound calls inherit what is left of its own deadline.
public enum CallDeadline {
    public static var current: NIODeadline? { InboundCall.current?.deadline }
}

/// The request id of the server call being handled, for outbound calls to carry on.
public enum RequestID {
    public static var current: String? { InboundCall.current?.requestID }
}

enum RequestIDs {
    /// 16 hex digits, random when there is no server call to derive one from.
    static func make() -> String { make(connection: UInt64.random(in: 0...UInt64.max) >> 32, call: UInt32.random(in: 0...UInt32.max)) }

    /// "<connection tag>-<call id>", both hex: unique per process run and cheap to make.
    static func make(connection: UInt64, call: UInt32) -> String {
        let hex = String(connection, radix: 16), id = String(call, radix: 16)
        return String(repeating: "0", count: max(0, 8 - hex.count)) + hex + "-" + id
    }
}

/// Message-credit flow control on streams (docs/PROTOCOL.md, "Flow control").
public enum FlowControl {
    /// Messages each side may send on a call before the receiver grants more with WINDOW.
    public static let initialWindow = 32
    /// The receiver grants credit back once the application has consumed this many.
    static let grantThreshold = 16
}
