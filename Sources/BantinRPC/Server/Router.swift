import BantinCore
import NIOCore

/// A service registers its handlers on a router; the server dispatches HEADERS by path.
public protocol RPCService: Sendable {
    func register(on router: inout Router)
}

/// Method path → handler. Handlers are typed; the router erases them to bytes in, bytes out.
public struct Router: Sendable {
    struct Route: Sendable {
        let info: MethodInfo
        let kind: CallKind
        /// Fast handlers run on the connection's event loop; CPU-heavy ones opt out.
        let runsOnEventLoop: Bool
        let body: @Sendable (ServerCall) async throws -> Void
        /// A synchronous unary handler, called right on the event loop when the request is complete: no task, no
        /// executor hop. For handlers that never wait (Echo, lookups in memory).
        var immediate: (@Sendable (ServerCall) throws -> Void)? = nil
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    public var methods: [MethodInfo] { routes.values.map(\.info).sorted { $0.path < $1.path } }

    func route(for path: String) -> Route? { routes[path] }

    public mutating func unary<Req, Resp>(
        _ method: Method<Req, Resp>, runsOnEventLoop: Bool = true,
        _ handler: @escaping @Sendable (Req, ServerContext) async throws -> Resp
    ) {
        add(method, runsOnEventLoop) { call in
            let request = try Req(unpacking: try call.singleRequest())
            let response = try await handler(request, call.context)
            call.finish(with: response)
        }
    }

    /// A unary handler that does not suspend: it runs inline on the connection's event loop, which saves a task
    /// per call. It must be quick; anything that waits or computes for long belongs in the async `unary`.
    public mutating func unary<Req, Resp>(
        _ method: Method<Req, Resp>, immediate handler: @escaping @Sendable (Req, ServerContext) throws -> Resp
    ) {
        let run: @Sendable (ServerCall) throws -> Void = { call in
            let request = try Req(unpacking: try call.singleRequest())
            call.finish(with: try handler(request, call.context))
        }
        add(method, true) { call in try run(call) }
        routes[method.path]?.immediate = run
    }

    public mutating func serverStreaming<Req, Resp>(
        _ method: Method<Req, Resp>, runsOnEventLoop: Bool = true,
        _ handler: @escaping @Sendable (Req, ResponseWriter<Resp>, ServerContext) async throws -> Void
    ) {
        add(method, runsOnEventLoop) { call in
            let request = try Req(unpacking: try call.singleRequest())
            try await handler(request, ResponseWriter(call: call), call.context)
            call.finish(RPCError(.ok, ""))
        }
    }

    public mutating func clientStreaming<Req, Resp>(
        _ method: Method<Req, Resp>, runsOnEventLoop: Bool = true,
        _ handler: @escaping @Sendable (RequestStream<Req>, ServerContext) async throws -> Resp
    ) {
        add(method, runsOnEventLoop) { call in
            let response = try await handler(RequestStream(queue: call.inbound), call.context)
            call.finish(with: response)
        }
    }

    public mutating func bidirectionalStreaming<Req, Resp>(
        _ method: Method<Req, Resp>, runsOnEventLoop: Bool = true,
        _ handler: @escaping @Sendable (RequestStream<Req>, ResponseWriter<Resp>, ServerContext) async throws -> Void
    ) {
        add(method, runsOnEventLoop) { call in
            try await handler(RequestStream(queue: call.inbound), ResponseWriter(call: call), call.context)
            call.finish(RPCError(.ok, ""))
        }
    }

    private mutating func add<Req, Resp>(_ method: Method<Req, Resp>, _ onLoop: Bool, _ body: @escaping @Sendable (ServerCall) async throws -> Void) {
        precondition(routes[method.path] == nil, "method \(method.path) registered twice")
        routes[method.path] = Route(info: method.info, kind: method.kind, runsOnEventLoop: onLoop, body: body)
    }
}

/// The messages a client streams to a handler.
public typealias RequestStream<Message: WireMessage> = MessageStream<Message>

/// Sends a handler's streamed responses, waiting when the client has granted no credit.
public struct ResponseWriter<Message: WireMessage>: Sendable {
    let call: ServerCall

    public func write(_ message: Message) async throws {
        try await call.send(message.packed())
    }

    /// Sends bytes that already are a serialized `Message` (spliced from stored pieces, say); nothing checks them.
    public func write(packed bytes: ByteBuffer) async throws {
        try await call.send(bytes)
    }
}
