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
    /// The client's x-request-id, or one made up for this call; logged with every line.
    public let requestID: String
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

/// Deadline propagation: a handler's outbound calls inherit what is left of its own deadline.
public enum CallDeadline {
    @TaskLocal public static var current: NIODeadline?
}

/// Message-credit flow control on streams (docs/PROTOCOL.md, "Flow control").
public enum FlowControl {
    /// Messages each side may send on a call before the receiver grants more with WINDOW.
    public static let initialWindow = 32
    /// The receiver grants credit back once the application has consumed this many.
    static let grantThreshold = 16
}
