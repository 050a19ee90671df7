import BantinCore
import Logging
import Metrics
import NIOCore

/// Turns the frames of one server connection into calls: routing, the concurrent-call limit,
/// deadlines, cancellation, flow control and graceful drain.
final class ServerConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: every method runs on the channel's event loop.
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    /// Sent down the pipeline to start a graceful drain (GOAWAY, finish in-flight calls, close).
    struct Drain: Sendable {}

    private let router: Router
    private let configuration: ServerConfiguration
    private var logger: Logger
    private var context: ChannelHandlerContext!
    private var executor: EventLoopTaskExecutor!
    private var calls: [UInt32: ServerCall] = [:]
    private var highestCallID: UInt32 = 0
    private var draining = false
    /// Shared with every call's context so that long-lived streams can end themselves when the server drains.
    private let drainFlag = DrainFlag()
    /// Random per connection: with the call id it names calls that came without an x-request-id.
    private let connectionTag = UInt64.random(in: 0...UInt64(UInt32.max))
    private var peer: PeerIdentity?
    private var closed = false
    private let flushes = FlushBatcher()
    private var deadlines: DeadlineTimer!

    init(router: Router, configuration: ServerConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.executor = EventLoopTaskExecutor(context.eventLoop)
        self.deadlines = DeadlineTimer(eventLoop: context.eventLoop) { [unowned self] now in self.expireCalls(due: now) }
        if let remote = context.channel.remoteAddress { logger[metadataKey: "peer"] = "\(remote)" }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let done as TLSHandshakeCompleted:
            peer = done.peer
        case is Drain:
            startDrain(reason: "server is shutting down")
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        flushes.readStarted()
        switch frame.type {
        case .headers: openCall(frame)
        case .message: calls[frame.callID].map { receiveMessage($0, frame) }
        case .halfClose: calls[frame.callID].map { endOfRequests($0) }
        case .cancel: calls[frame.callID]?.abandon(RPCError(.cancelled, "client cancelled the call"))
        case .window:
            if let call = calls[frame.callID], let credit = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self) {
                guard call.route.kind.serverStreams else { break }  // nothing to grant credit for
                call.credit.add(Int(credit))
            }
        case .goAway:
            startDrain(reason: "client sent GOAWAY")
        case .trailers, .ping, .pong:
            break  // trailers are server-to-client only; keepalive is handled below us
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushes.readCompleted(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let frameError = error as? FrameError {
            // The byte stream cannot be trusted past this point: say why, then close.
            let code: StatusCode = if case .oversized = frameError { .resourceExhausted } else { .internal }
            logger.warning("closing connection: \(frameError)")
            let goAway = GoAway(lastCallID: highestCallID, code: code, reason: frameError.description)
            context.writeAndFlush(wrapOutboundOut(Frame(type: .goAway, callID: 0, payload: goAway.packed())), promise: nil)
            context.close(promise: nil)
        } else if !(error is TLSError) {
            logger.debug("connection error: \(error)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        deadlines.stop()
        for call in Array(calls.values) {
            call.abandon(RPCError(.unavailable, "connection closed"))
        }
        context.fireChannelInactive()
    }

    // MARK: calls

    private func openCall(_ frame: Frame) {
        let id = frame.callID
        guard id > highestCallID else {
            reject(id, RPCError(.internal, "call id \(id) is not above the last one used (\(highestCallID)); call ids must increase"))
            return
        }
        highestCallID = id
        if draining {
            reject(id, RPCError(.unavailable, "server is draining this connection; retry on a new connection"))
            return
        }
        let headers: CallHeaders
        do {
            headers = try CallHeaders(unpacking: frame.payload)
        } catch {
            reject(id, RPCError(.invalidArgument, "HEADERS: \(error)"))
            return
        }
        guard let route = router.route(for: headers.method) else {
            reject(id, RPCError(.unimplemented, "unknown method \(headers.method)"))
            return
        }
        guard calls.count < configuration.maxConcurrentCalls else {
            reject(id, RPCError(.resourceExhausted, "too many concurrent calls on this connection (limit \(configuration.maxConcurrentCalls))"))
            return
        }
        let deadline: NIODeadline? = headers.timeoutMicros > 0 ? .now() + .microseconds(headers.timeoutMicros) : nil
        let serverContext = ServerContext(method: headers.method, deadline: deadline, metadata: headers.metadata,
                                          peer: peer, clientRequestID: headers.metadata["x-request-id"], connectionTag: connectionTag,
                                          callID: id, connectionLogger: logger, drainFlag: drainFlag)
        let call = ServerCall(id: id, route: route, context: serverContext, connection: self, eventLoop: context.eventLoop)
        calls[id] = call
        for interceptor in configuration.interceptors { interceptor.callStarted(serverContext) }
        if let deadline { deadlines.watch(deadline) }
        if route.kind.clientStreams { start(call) }
    }

    /// Ends the calls whose deadline has passed; returns the earliest deadline still ahead.
    private func expireCalls(due now: NIODeadline) -> NIODeadline? {
        DeadlineTimer.sweep(Array(calls.values), due: now, deadline: \.deadline) { call in
            let millis = ((call.deadline! - call.startedAt).nanoseconds + 500_000) / 1_000_000
            call.complete(RPCError(.deadlineExceeded, "deadline of \(millis) ms exceeded"))
        }
    }

    private func receiveMessage(_ call: ServerCall, _ frame: Frame) {
        if call.route.kind.clientStreams {
            guard call.inbound.push(frame.payload) else {
                call.complete(RPCError(.resourceExhausted, "client sent more messages than the flow-control window allows"))
                return
            }
            if frame.flags.contains(.end) { call.inbound.finish() }
            return
        }
        guard call.request == nil else {
            call.complete(RPCError(.invalidArgument, "\(call.route.info.path) takes exactly one request message"))
            return
        }
        call.request = frame.payload
        if frame.flags.contains(.end) { endOfRequests(call) }
    }

    private func endOfRequests(_ call: ServerCall) {
        if call.route.kind.clientStreams {
            call.inbound.finish()
        } else if !call.requestComplete {
            call.requestComplete = true
            start(call)
        }
    }

    private func start(_ call: ServerCall) {
        if let immediate = call.route.immediate {
            do { try immediate(call) } catch { call.finish(RPCError(from: error)) }
            return
        }
        let body = call.route.body
        let inbound = call.context
        let operation: @Sendable () async -> Void = {
            do {
                try await InboundCall.$current.withValue(inbound) { try await body(call) }
            } catch {
                call.finish(RPCError(from: error))
            }
        }
        call.task = call.route.runsOnEventLoop ? Task(executorPreference: executor, operation: operation) : Task(operation: operation)
    }

    /// Calls refused before reaching a handler (unknown method, bad headers, draining, too many calls). Counted by
    /// code only: the method name of a refused call is whatever the peer sent, not a bounded label.
    private func reject(_ id: UInt32, _ status: RPCError) {
        Counter(label: "bantin_rpc_server_rejected_calls_total", dimensions: [("code", status.code.description)]).increment()
        let trailers = CallTrailers(code: status.code, message: status.message)
        write(Frame(type: .trailers, flags: .end, callID: id, payload: trailers.packed()))
    }

    // MARK: called by ServerCall, on the event loop

    /// Writes a frame; the flush is batched with the other calls' (see `FlushBatcher`).
    func write(_ frame: Frame) {
        guard !closed else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        flushes.flushSoon(context)
    }

    func sendWindow(callID: UInt32, credit: Int) {
        var body = context.channel.allocator.buffer(capacity: 4)
        body.writeInteger(UInt32(credit))
        write(Frame(type: .window, callID: callID, payload: body))
    }

    func callEnded(_ call: ServerCall, status: RPCError) {
        calls[call.id] = nil
        let elapsed = NIODeadline.now() - call.startedAt
        for interceptor in configuration.interceptors {
            interceptor.callFinished(call.context, code: status.code, message: status.message, duration: elapsed)
        }
        if draining, calls.isEmpty { closeAfterDrain() }
    }

    // MARK: drain

    private func startDrain(reason: String) {
        guard !draining, !closed else { return }
        draining = true
        drainFlag.set()
        let goAway = GoAway(lastCallID: highestCallID, code: .unavailable, reason: reason)
        write(Frame(type: .goAway, callID: 0, payload: goAway.packed()))
        logger.debug("draining connection", metadata: ["in-flight": "\(calls.count)"])
        if calls.isEmpty { closeAfterDrain() }
    }

    private func closeAfterDrain() {
        guard !closed else { return }
        context.close(promise: nil)
    }
}


