import BantinCore
import NIOCore

/// One call on a client connection, confined to its event loop like `ServerCall`.
final class ClientCall: @unchecked Sendable {
    let id: UInt32
    let path: String
    /// The server's messages on a call that streams them; nil when one response is expected (unary, client
    /// streaming), which waits in `singleResponse` instead: no queue, no credit, one wait per call.
    private let responseQueue: InboundMessageQueue?
    var responses: InboundMessageQueue { responseQueue! }
    private var singleResponse: ByteBuffer?
    private var singleWaiter: CheckedContinuation<ByteBuffer, any Error>?
    /// Send credit for streamed requests; nil when the request side was complete at open (unary, server
    /// streaming), which saves an object per such call.
    private let sendCredit: SendCredit?
    var credit: SendCredit { sendCredit! }
    var streamsRequests: Bool { sendCredit != nil }
    let startedAt = NIODeadline.now()
    private unowned let connection: ClientConnectionHandler
    private let eventLoop: any EventLoop
    /// When the client gives up waiting (the call's deadline plus a grace period; watched by the connection's
    /// `DeadlineTimer`).
    var giveUpAt: NIODeadline?
    private(set) var status: RPCError?

    init(id: UInt32, path: String, streamsRequests: Bool, streamsResponses: Bool, connection: ClientConnectionHandler,
         eventLoop: any EventLoop) {
        self.id = id
        self.path = path
        self.connection = connection
        self.eventLoop = eventLoop
        self.sendCredit = streamsRequests ? SendCredit(eventLoop: eventLoop) : nil
        self.responseQueue = streamsResponses ? InboundMessageQueue(eventLoop: eventLoop) { [unowned connection] count in
            connection.sendWindow(callID: id, credit: count)
        } : nil
    }

    /// Takes one MESSAGE from the server, on the loop; returns why the call must end when the server broke
    /// flow control or sent a second response where one was expected.
    func receive(_ message: ByteBuffer) -> RPCError? {
        eventLoop.preconditionInEventLoop()
        if let responseQueue {
            return responseQueue.push(message)
                ? nil : RPCError(.resourceExhausted, "server sent more messages than the flow-control window allows")
        }
        guard singleResponse == nil else { return RPCError(.internal, "server sent more than one response to \(path)") }
        singleResponse = message
        return nil
    }

    /// The single response of a unary or client-streaming call, once the server ended the call with OK.
    func response() async throws -> ByteBuffer {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer, any Error>) in
            // Cancellation needs no handler of its own: the caller's cancels the call, which ends it here.
            if eventLoop.inEventLoop {
                awaitResponse(continuation)
            } else {
                eventLoop.execute { self.awaitResponse(continuation) }
            }
        }
    }

    private func awaitResponse(_ continuation: CheckedContinuation<ByteBuffer, any Error>) {
        if let status { settle(continuation, status) } else { singleWaiter = continuation }
    }

    private func settle(_ continuation: CheckedContinuation<ByteBuffer, any Error>, _ status: RPCError) {
        if status.code != .ok {
            continuation.resume(throwing: status)
        } else if let singleResponse {
            continuation.resume(returning: singleResponse)
        } else {
            continuation.resume(throwing: RPCError(.internal, "server ended \(path) with OK but sent no response"))
        }
    }

    /// Sends one request message (credit permitting); `end` marks it the last.
    func send(_ message: ByteBuffer, end: Bool) async throws {
        try await credit.acquire()
        try onLoop { call in
            if let status = call.status { throw status }
            call.connection.write(Frame(type: .message, flags: end ? .end : [], callID: call.id, payload: message))
        }
    }

    /// Tells the server no more requests follow.
    func halfClose() throws {
        try onLoop { call in
            guard call.status == nil else { return }
            call.connection.write(Frame(type: .halfClose, flags: .end, callID: call.id))
        }
    }

    /// Cancels the call: CANCEL to the server, `status` to whoever waits here.
    /// The caller left a response stream before it ended (a `break`): cancel, as gRPC does, so that the server
    /// does not go on streaming to nobody. A call that already ended ignores it.
    func stopReading() {
        cancel(RPCError(.cancelled, "the client stopped reading the responses"))
    }

    func cancel(_ status: RPCError) {
        let send: @Sendable (ClientCall) -> Void = { call in
            guard call.status == nil else { return }
            call.connection.write(Frame(type: .cancel, callID: call.id))
            call.end(status)
        }
        if eventLoop.inEventLoop { send(self) } else { eventLoop.execute { send(self) } }
    }

    /// Called on the loop when TRAILERS arrive, the deadline passes or the connection ends.
    func end(_ status: RPCError) {
        eventLoop.preconditionInEventLoop()
        guard self.status == nil else { return }
        self.status = status
        responseQueue?.finish(status.code == .ok ? nil : status)
        if let singleWaiter {
            self.singleWaiter = nil
            settle(singleWaiter, status)
        }
        sendCredit?.fail(status.code == .ok ? RPCError(.failedPrecondition, "call already completed") : status)
        connection.callEnded(self, status: status)
    }

    private func onLoop(_ body: @escaping @Sendable (ClientCall) throws -> Void) throws {
        if eventLoop.inEventLoop {
            try body(self)
        } else {
            eventLoop.execute { try? body(self) }
        }
    }
}
