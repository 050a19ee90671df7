import Logging
import NIOCore

/// Connection-level PING/PONG, on both sides: answers the peer's pings, sends its own when the
/// connection has been quiet for `interval`, and closes the connection when a ping goes
/// unanswered for `timeout` (a peer that stopped answering, or a dead network path).
final class KeepaliveHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    struct PeerUnresponsive: Error, CustomStringConvertible {
        let timeout: TimeAmount
        var description: String { "peer did not answer a keepalive ping within \(timeout.nanoseconds / 1_000_000) ms" }
    }

    private let interval: TimeAmount
    private let timeout: TimeAmount
    private let logger: Logger
    private var timer: RepeatedTask?
    private var heardFromPeer = false
    private var outstandingPing: (payload: UInt64, sentAt: NIODeadline)?
    private var nextPayload: UInt64 = 1

    init(interval: TimeAmount, timeout: TimeAmount, logger: Logger) {
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted { startTimer(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    private func startTimer(context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let tick = min(interval, timeout)
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.handler.tick(context: bound.value.context)
        }
    }

    private func tick(context: ChannelHandlerContext) {
        if let outstanding = outstandingPing {
            if NIODeadline.now() - outstanding.sentAt >= timeout {
                let error = PeerUnresponsive(timeout: timeout)
                logger.warning("closing connection: \(error)")
                timer?.cancel()
                context.fireErrorCaught(error)
                context.close(promise: nil)
            }
            return
        }
        if heardFromPeer {
            heardFromPeer = false
            return
        }
        let payload = nextPayload
        nextPayload += 1
        var body = context.channel.allocator.buffer(capacity: 8)
        body.writeInteger(payload)
        outstandingPing = (payload, .now())
        context.writeAndFlush(wrapOutboundOut(Frame(type: .ping, callID: 0, payload: body)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        heardFromPeer = true
        switch frame.type {
        case .ping:
            context.writeAndFlush(wrapOutboundOut(Frame(type: .pong, callID: 0, payload: frame.payload)), promise: nil)
        case .pong:
            if frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt64.self) == outstandingPing?.payload {
                outstandingPing = nil
            }
        default:
            context.fireChannelRead(data)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }
}
