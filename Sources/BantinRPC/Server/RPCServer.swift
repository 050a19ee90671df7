import BantinCore
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var tls: TLSContextProvider
    /// Calls one connection may have open at once; more get RESOURCE_EXHAUSTED.
    public var maxConcurrentCalls = 128
    public var maxFrameSize = Frame.defaultMaxBodySize
    public var keepaliveInterval: TimeAmount = .seconds(30)
    public var keepaliveTimeout: TimeAmount = .seconds(10)
    /// How long in-flight calls may run after a shutdown starts before connections are cut.
    public var drainGracePeriod: TimeAmount = .seconds(20)
    public var interceptors: [any ServerInterceptor] = [ServerLoggingInterceptor(), MetricsInterceptor(side: "server")]

    public init(host: String = "0.0.0.0", port: Int, tls: TLSContextProvider) {
        self.host = host
        self.port = port
        self.tls = tls
    }
}

/// A Bantin RPC server: mutual TLS, v1 framing, the given services plus health and reflection.
/// Run it in a `ServiceGroup` (SIGTERM → GOAWAY, drain, exit) or call `start()`/`shutdown()`.
public final class RPCServer: Service, @unchecked Sendable {
    public let health = HealthStatus()
    private let router: Router
    private let configuration: ServerConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var shuttingDown = false
    }

    public init(configuration: ServerConfiguration, services: [any RPCService],
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        var router = Router()
        for service in services { service.register(on: &router) }
        HealthService(status: health).register(on: &router)
        let listed = router.methods + ReflectionService.methods
        ReflectionService(methods: listed).register(on: &router)
        self.router = router
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// Re-reads the TLS files; new connections use them, established ones keep theirs.
    @discardableResult
    public func reloadCertificates() -> Bool { configuration.tls.reload() }

    /// Every method this server serves.
    public var methods: [MethodInfo] { router.methods }

    /// Binds and starts accepting connections; returns the bound address (port 0 picks a free one).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let configuration = self.configuration
        let router = self.router
        let logger = self.logger
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    var connectionLogger = logger
                    connectionLogger[metadataKey: "peer"] = "\(channel.remoteAddress.map { "\($0)" } ?? "?")"
                    let tls = try OpenSSLHandler(context: configuration.tls.current, logger: connectionLogger)
                    try channel.pipeline.syncOperations.addHandlers([
                        tls,
                        ByteToMessageHandler(FrameDecoder(maxBodySize: configuration.maxFrameSize)),
                        FrameEncoder(),
                        KeepaliveHandler(interval: configuration.keepaliveInterval, timeout: configuration.keepaliveTimeout,
                                         logger: connectionLogger),
                        ServerConnectionHandler(router: router, configuration: configuration, logger: connectionLogger),
                    ])
                    self?.track(channel)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        state.withLockedValue { $0.listener = channel }
        logger.info("listening", metadata: ["address": "\(channel.localAddress!)", "methods": "\(router.methods.count)"])
        return channel.localAddress!
    }

    /// Open connections (TLS handshake in progress included).
    private static let connectionsGauge = Meter(label: "bantin_rpc_server_connections")

    public var localAddress: SocketAddress? { state.withLockedValue { $0.listener?.localAddress } }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let draining = state.withLockedValue { state -> Bool in
            state.connections[id] = channel
            return state.shuttingDown
        }
        if draining { channel.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.Drain()) }
        Self.connectionsGauge.increment()
        channel.closeFuture.whenComplete { [weak self] _ in
            Self.connectionsGauge.decrement()
            self?.state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
        }
    }

    /// ServiceLifecycle entry point: serve until graceful shutdown is requested, then drain.
    public func run() async throws {
        if localAddress == nil { try await start() }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops accepting, sends GOAWAY on every connection, lets in-flight calls finish for up to
    /// the grace period, then closes what is left.
    public func shutdown() async {
        let (listener, connections) = state.withLockedValue { state in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        health.setAll(.notServing)
        try? await listener?.close()
        logger.info("draining", metadata: ["connections": "\(connections.count)"])
        for channel in connections {
            channel.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.Drain())
        }
        let deadline = NIODeadline.now() + configuration.drainGracePeriod
        while NIODeadline.now() < deadline, !state.withLockedValue({ $0.connections.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for channel in state.withLockedValue({ Array($0.connections.values) }) {
            try? await channel.close()
        }
        logger.info("stopped")
    }
}
