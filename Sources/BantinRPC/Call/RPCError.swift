import BantinCore

/// A call's failure: a gRPC status code and a message for a person.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var metadata: Metadata
    /// The server refused the call before any handler saw it (its GOAWAY named a lower last call id), so trying it
    /// again elsewhere is safe whatever the method does: gRPC's "transparent retry".
    public var notProcessed = false

    public init(_ code: StatusCode, _ message: String, metadata: Metadata = Metadata(), notProcessed: Bool = false) {
        self.code = code
        self.message = message
        self.metadata = metadata
        self.notProcessed = notProcessed
    }

    public var description: String { "\(code): \(message)" }

    /// How a handler's error is reported: RPCErrors as they are, message decoding errors as
    /// INVALID_ARGUMENT, cancellation as CANCELLED, anything else as UNKNOWN.
    public init(from error: any Error) {
        switch error {
        case let e as RPCError: self = e
        case let e as WireError: self.init(.invalidArgument, e.description)
        case is CancellationError: self.init(.cancelled, "call was cancelled")
        default: self.init(.unknown, "\(error)")
        }
    }
}
