import BantinCore

/// The four call shapes.
public enum CallKind: Sendable, Hashable {
    case unary, clientStreaming, serverStreaming, bidirectionalStreaming

    public var clientStreams: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    public var serverStreams: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
}

/// A method with its request and response types, shared by the server that serves it and the
/// clients that call it.
public struct Method<Request: WireMessage, Response: WireMessage>: Sendable {
    /// "/bantin.bench.v1.Echo/Echo"
    public let path: String
    public let kind: CallKind
    /// Safe to send again after UNAVAILABLE: clients retry such calls on another connection.
    public let idempotent: Bool

    public init(_ path: String, kind: CallKind, idempotent: Bool = false) {
        self.path = path
        self.kind = kind
        self.idempotent = idempotent
    }

    public var info: MethodInfo {
        MethodInfo(path: path, requestType: Request.messageType.name, responseType: Response.messageType.name,
                   clientStreaming: kind.clientStreams, serverStreaming: kind.serverStreams, idempotent: idempotent)
    }
}
