import BantinCore
import Logging
import NIOCore

/// The client end of one connection: opens calls, routes MESSAGE/TRAILERS/WINDOW to them,
/// honours GOAWAY and fails every open call when the connection ends.
final class ClientConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: every method runs on the channel's event loop.
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    let ready: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var calls: [UInt32: ClientCall] = [:]
    private var nextCallID: UInt32 = 1
    private var lastError: String?
    private let flushes = FlushBatcher()
    private let target: String
    private let interceptors: [any ClientInterceptor]
    /// Set once the server sent GOAWAY or the connection closed: no new calls here.
    private(set) var unusable = false
    var onUnusable: (@Sendable () -> Void)?

    init(eventLoop: any EventLoop, target: String, interceptors: [any ClientInterceptor]) {
        self.ready = eventLoop.makePromise()
        self.target = target
        self.interceptors = interceptors
    }

    private var deadlines: DeadlineTimer?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        deadlines = DeadlineTimer(eventLoop: context.eventLoop) { [unowned self] now in self.giveUpOnCalls(due: now) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted { ready.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        flushes.readStarted()
        switch frame.type {
        case .message:
            guard let call = calls[frame.callID] else { return }
            if let violation = call.receive(frame.payload) { call.cancel(violation) }
        case .trailers:
            guard let call = calls[frame.callID] else { return }
            do {
                let trailers = try CallTrailers(unpacking: frame.payload)
                call.end(RPCError(trailers.code, trailers.message, metadata: trailers.metadata))
            } catch {
                call.end(RPCError(.internal, "server sent unreadable TRAILERS: \(error)"))
            }
        case .window:
            if let call = calls[frame.callID], let credit = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self) {
                guard call.streamsRequests else { break }  // nothing to grant credit for
                call.credit.add(Int(credit))
            }
        case .goAway:
            let goAway = try? GoAway(unpacking: frame.payload)
            let last = goAway?.lastCallID ?? 0
            let reason = goAway?.reason ?? "no reason given"
            markUnusable()
            for call in calls.values where call.id > last {
                call.end(RPCError(.unavailable, "server refused the call with GOAWAY: \(reason)", notProcessed: true))
            }
            if calls.isEmpty { context.close(promise: nil) }
        case .headers, .halfClose, .cancel, .ping, .pong:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushes.readCompleted(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = "\(error)"
        ready.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markUnusable()
        deadlines?.stop()
        let reason = lastError.map { "connection to \(target) closed: \($0)" } ?? "connection to \(target) closed"
        ready.fail(RPCError(.unavailable, reason))
        for call in Array(calls.values) { call.end(RPCError(.unavailable, reason)) }
        self.context = nil
        context.fireChannelInactive()
    }

    private func markUnusable() {
        guard !unusable else { return }
        unusable = true
        onUnusable?()
    }

    // MARK: calls

    /// Opens a call: HEADERS (and the first message, when given) in one write.
    func open(path: String, metadata: Metadata, deadline: NIODeadline?, firstMessage: ByteBuffer?, end: Bool,
              streamsResponses: Bool) throws -> ClientCall {
        guard let context, !unusable else { throw RPCError(.unavailable, "connection to \(target) is closing") }
        let id = nextCallID
        nextCallID += 1
        let call = ClientCall(id: id, path: path, streamsRequests: !end, streamsResponses: streamsResponses, connection: self,
                              eventLoop: context.eventLoop)
        calls[id] = call
        var metadata = metadata
        for interceptor in interceptors { interceptor.prepare(method: path, metadata: &metadata) }
        let timeout = deadline.map { max(($0 - .now()).nanoseconds / 1000, 1) } ?? 0
        let headers = CallHeaders(method: path, timeoutMicros: timeout, metadata: metadata)
        context.write(wrapOutboundOut(Frame(type: .headers, callID: id, payload: headers.packed())), promise: nil)
        if let firstMessage {
            context.write(wrapOutboundOut(Frame(type: .message, flags: end ? .end : [], callID: id, payload: firstMessage)), promise: nil)
        }
        flushes.flushSoon(context)
        if let deadline {
            // The server enforces the deadline too; this covers a server that never answers.
            let giveUpAt = deadline + .milliseconds(50)
            call.giveUpAt = giveUpAt
            deadlines?.watch(giveUpAt)
        }
        return call
    }

    /// Cancels the calls the server left unanswered past their deadline; returns the earliest time still ahead.
    private func giveUpOnCalls(due now: NIODeadline) -> NIODeadline? {
        DeadlineTimer.sweep(Array(calls.values), due: now, deadline: \.giveUpAt) { call in
            call.cancel(RPCError(.deadlineExceeded, "no answer from \(call.path) before the deadline"))
        }
    }

    func write(_ frame: Frame) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        flushes.flushSoon(context)
    }

    func sendWindow(callID: UInt32, credit: Int) {
        var body = ByteBuffer()
        body.writeInteger(UInt32(credit))
        write(Frame(type: .window, callID: callID, payload: body))
    }

    func callEnded(_ call: ClientCall, status: RPCError) {
        calls[call.id] = nil
        let elapsed = NIODeadline.now() - call.startedAt
        for interceptor in interceptors {
            interceptor.callFinished(method: call.path, code: status.code, message: status.message, duration: elapsed)
        }
        if unusable, calls.isEmpty { context?.close(promise: nil) }
    }

    /// Sends GOAWAY and closes once calls finish (client-side graceful close).
    func drain() {
        markUnusable()
        let goAway = GoAway(lastCallID: nextCallID - 1, code: .ok, reason: "client closing")
        write(Frame(type: .goAway, callID: 0, payload: goAway.packed()))
        if calls.isEmpty { context?.close(promise: nil) }
    }
}
