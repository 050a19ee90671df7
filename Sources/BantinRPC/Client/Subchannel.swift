import BantinCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One resolved address of a target and the connection to it: connects on demand, reconnects
/// after failures with exponential backoff, and forgets a connection once it is closing.
final class Subchannel: Sendable {
    let address: SocketAddress
    private let settings: ClientConfiguration
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox(State.idle)

    struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
    }

    enum State {
        case idle
        case connecting(EventLoopFuture<Connection>)
        case ready(Connection)
        case backoff(until: NIODeadline, failures: Int, error: RPCError)
    }

    init(address: SocketAddress, settings: ClientConfiguration, group: any EventLoopGroup) {
        self.address = address
        self.settings = settings
        self.group = group
    }

    var isReady: Bool { readyConnection != nil }

    /// The established connection, if there is one: the per-call fast path, with no future to await.
    var readyConnection: Connection? { state.withLockedValue { if case .ready(let c) = $0 { c } else { nil } } }

    var isInBackoff: Bool {
        state.withLockedValue { if case .backoff(let until, _, _) = $0 { until > .now() } else { false } }
    }

    /// A usable connection: the current one, one being made, or a new one.
    func connection() async throws -> Connection {
        let future: EventLoopFuture<Connection> = try state.withLockedValue { state in
            switch state {
            case .ready(let connection):
                return group.next().makeSucceededFuture(connection)
            case .connecting(let future):
                return future
            case .backoff(let until, let failures, let error) where until > .now():
                _ = failures
                throw RPCError(.unavailable, "\(error.message) (next attempt in \((until - .now()).nanoseconds / 1_000_000) ms)")
            case .idle, .backoff:
                let future = connect()
                state = .connecting(future)
                return future
            }
        }
        return try await future.get()
    }

    private func connect() -> EventLoopFuture<Connection> {
        let settings = self.settings
        let address = self.address
        let loop = group.next()
        let target = "\(settings.serverName ?? "\(address)") (\(address))"
        let handlerBox = NIOLockedValueBox<ClientConnectionHandler?>(nil)
        let future = ClientBootstrap(group: loop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ClientConnectionHandler(eventLoop: channel.eventLoop, target: target, interceptors: settings.interceptors)
                    handlerBox.withLockedValue { $0 = handler }
                    try channel.pipeline.syncOperations.addHandlers([
                        try OpenSSLHandler(context: settings.tls.current, serverName: settings.serverName ?? address.ipAddress,
                                           logger: settings.logger),
                        ByteToMessageHandler(FrameDecoder(maxBodySize: settings.maxFrameSize)),
                        FrameEncoder(),
                        KeepaliveHandler(interval: settings.keepaliveInterval, timeout: settings.keepaliveTimeout, logger: settings.logger),
                        handler,
                    ])
                }
            }
            .connect(to: address)
            .flatMap { channel -> EventLoopFuture<Connection> in
                let handler = handlerBox.withLockedValue { $0! }
                handler.onUnusable = { [weak self] in self?.forget(channel) }
                let handshake = handler.ready.futureResult
                let timeout = channel.eventLoop.scheduleTask(in: settings.tls.current.configuration.handshakeTimeout + .seconds(1)) {
                    handler.ready.fail(RPCError(.unavailable, "TLS handshake with \(target) timed out"))
                    channel.close(promise: nil)
                }
                return handshake.map {
                    timeout.cancel()
                    return Connection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
        future.whenComplete { [weak self] result in
            guard let self else { return }
            self.state.withLockedValue { state in
                switch result {
                case .success(let connection):
                    state = .ready(connection)
                case .failure(let error):
                    let failures: Int = if case .backoff(_, let f, _) = state { f + 1 } else { 1 }
                    let base = min(settings.initialBackoff.nanoseconds << Int64(min(failures - 1, 16)), settings.maxBackoff.nanoseconds)
                    let jittered = Int64(Double(base) * Double.random(in: 0.8...1.2))
                    let message = "cannot connect to \(target): \(error is RPCError ? (error as! RPCError).message : "\(error)")"
                    state = .backoff(until: .now() + .nanoseconds(jittered), failures: failures, error: RPCError(.unavailable, message))
                }
            }
        }
        return future.flatMapErrorThrowing { error in
            if let rpc = error as? RPCError { throw rpc }
            throw RPCError(.unavailable, "cannot connect to \(target): \(error)")
        }
    }

    /// Drops a connection that is closing or got GOAWAY, so the next call reconnects.
    private func forget(_ channel: any Channel) {
        state.withLockedValue { state in
            if case .ready(let connection) = state, connection.channel === channel { state = .idle }
        }
    }

    func close() async {
        let connection: Connection? = state.withLockedValue { state in
            defer { state = .idle }
            if case .ready(let c) = state { return c }
            return nil
        }
        guard let connection else { return }
        try? await connection.channel.eventLoop.submit { connection.handler.value.drain() }.get()
        try? await connection.channel.closeFuture.get()
    }
}
