import BantinCore
import NIOCore

/// One call on a server connection. Frames feed it on the event loop; the handler task reads
/// requests and writes responses through it. Mutable state is confined to the event loop.
final class ServerCall: @unchecked Sendable {
    let id: UInt32
    let route: Router.Route
    let context: ServerContext
    /// The client's messages, for methods where the client streams (unary and server-streaming calls take
    /// their one request from `request`): nil otherwise, which saves two objects per unary call.
    private let inboundQueue: InboundMessageQueue?
    /// Send credit, for methods where the server streams.
    private let sendCredit: SendCredit?
    var inbound: InboundMessageQueue { inboundQueue! }
    var credit: SendCredit { sendCredit! }
    let startedAt = NIODeadline.now()
    private unowned let connection: ServerConnectionHandler
    private let eventLoop: any EventLoop

    // Event-loop state.
    var request: ByteBuffer?
    var requestComplete = false
    var task: Task<Void, Never>?
    /// When the server ends the call with DEADLINE_EXCEEDED (watched by the connection's `DeadlineTimer`).
    var deadline: NIODeadline? { context.deadline }
    private(set) var finished = false

    init(id: UInt32, route: Router.Route, context: ServerContext, connection: ServerConnectionHandler, eventLoop: any EventLoop) {
        self.id = id
        self.route = route
        self.context = context
        self.connection = connection
        self.eventLoop = eventLoop
        self.sendCredit = route.kind.serverStreams ? SendCredit(eventLoop: eventLoop) : nil
        self.inboundQueue = route.kind.clientStreams ? InboundMessageQueue(eventLoop: eventLoop) { [unowned connection] count in
            connection.sendWindow(callID: id, credit: count)
        } : nil
    }

    /// The request of a unary or server-streaming call; the task starts only once it is complete.
    func singleRequest() throws -> ByteBuffer {
        guard let request else { throw RPCError(.invalidArgument, "the call ended without a request message") }
        return request
    }

    /// Sends one streamed response, waiting for credit from the client.
    func send(_ message: ByteBuffer) async throws {
        try await credit.acquire()
        try Task.checkCancellation()
        onLoop { call in
            guard !call.finished else { return }
            call.connection.write(Frame(type: .message, callID: call.id, payload: message))
        }
    }

    /// Sends the single response and OK trailers together.
    func finish<M: WireMessage>(with response: M) {
        let frame = Frame.build(type: .message, callID: id) { response.pack(into: &$0) }
        onLoop { call in
            guard !call.finished else { return }
            call.connection.write(frame)
            call.complete(RPCError(.ok, ""))
        }
    }

    /// Ends the call with a status (OK included); later writes are dropped.
    func finish(_ status: RPCError) {
        onLoop { $0.complete(status) }
    }

    /// Ends the call because the client went away or cancelled: no trailers, the handler is cancelled.
    func abandon(_ reason: RPCError) {
        eventLoop.preconditionInEventLoop()
        guard !finished else { return }
        finished = true
        task?.cancel()
        inboundQueue?.finish(reason)
        sendCredit?.fail(reason)
        connection.callEnded(self, status: reason)
    }

    func complete(_ status: RPCError) {
        eventLoop.preconditionInEventLoop()
        guard !finished else { return }
        finished = true
        if status.code != .ok { task?.cancel() }
        inboundQueue?.finish(status.code == .ok ? nil : status)
        sendCredit?.fail(status)
        let trailers = status.code == .ok && status.message.isEmpty && status.metadata.entries.isEmpty
            ? Self.okTrailers
            : CallTrailers(code: status.code, message: status.message, metadata: status.metadata).packed()
        connection.write(Frame(type: .trailers, flags: .end, callID: id, payload: trailers))
        connection.callEnded(self, status: status)
    }

    /// Plain OK trailers, the same bytes for every call that succeeds.
    static let okTrailers = CallTrailers(code: .ok, message: "", metadata: Metadata()).packed()

    private func onLoop(_ body: @escaping @Sendable (ServerCall) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }
}
