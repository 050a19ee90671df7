import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The plain-HTTP side port every Bantin service opens for its platform (kubelet probes, Prometheus):
///
/// - `GET /healthz`: 200 while the process runs (liveness: restart me only if this fails).
/// - `GET /readyz`: 200 when every readiness check passes, else 503 with the reasons, one per line; `?verbose`
///   lists the checks either way.
/// - `GET /metrics`: every metric in the Prometheus text exposition format (version 0.0.4).
///
/// It carries no data and accepts no writes, which is why it is plain HTTP beside the mutual-TLS service port.
public final class OperationsServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public let readiness: Readiness
    private let configuration: Configuration
    private let collectors: NIOLockedValueBox<[@Sendable () -> Void]>
    private let group: any EventLoopGroup
    private let logger: Logger
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)

    public init(configuration: Configuration, readiness: Readiness = Readiness(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.configuration = configuration
        self.readiness = readiness
        self.collectors = NIOLockedValueBox([])
        self.group = group
        self.logger = logger
    }

    /// Runs before each scrape, to set gauges whose value is read rather than counted (queue depths, lag, sizes).
    public func addCollector(_ collect: @escaping @Sendable () -> Void) {
        collectors.withLockedValue { $0.append(collect) }
    }

    @discardableResult
    public func start() async throws -> SocketAddress {
        let routes = Routes(readiness: readiness, collectors: collectors)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // On the channel's loop: the handler is added synchronously, never sent across threads.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(OperationsHandler(routes: routes))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        listener.withLockedValue { $0 = channel }
        logger.info("operations port listening", metadata: ["address": "\(channel.localAddress!)"])
        return channel.localAddress!
    }

    public var localAddress: SocketAddress? { listener.withLockedValue { $0?.localAddress } }

    /// Serves until graceful shutdown reaches it. Started first and stopped last by `ServiceMain`, so probes keep
    /// getting answers (readiness false) while the RPC server drains.
    public func run() async throws {
        if localAddress == nil { try await start() }
        try? await gracefulShutdown()
        try? await listener.withLockedValue { $0 }?.close()
    }

    struct Routes: Sendable {
        let readiness: Readiness
        let collectors: NIOLockedValueBox<[@Sendable () -> Void]>

        func respond(method: HTTPMethod, uri: String) -> (HTTPResponseStatus, String, [UInt8]) {
            let text = "text/plain; charset=utf-8"
            let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
            let query = uri.contains("?") ? String(uri.split(separator: "?", maxSplits: 1)[1]) : ""
            guard method == .GET || method == .HEAD else {
                return (.methodNotAllowed, text, Array("only GET and HEAD are served here\n".utf8))
            }
            switch path {
            case "/healthz", "/livez":
                return (.ok, text, Array("ok\n".utf8))
            case "/readyz":
                let failures = readiness.failures()
                var body = failures.isEmpty ? "ready\n" : failures.map { "not ready: \($0)\n" }.joined()
                if query.split(separator: "&").contains("verbose") {
                    body += readiness.checkNames.map { "check: \($0)\n" }.joined()
                }
                return (failures.isEmpty ? .ok : .serviceUnavailable, text, Array(body.utf8))
            case "/metrics":
                for collect in collectors.withLockedValue({ $0 }) { collect() }
                return (.ok, "text/plain; version=0.0.4; charset=utf-8", Telemetry.exposition())
            default:
                return (.notFound, text, Array("not found; try /healthz, /readyz or /metrics\n".utf8))
            }
        }
    }
}

/// One request at a time per connection, answered when its end arrives; keep-alive as the client asks.
final class OperationsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: OperationsServer.Routes
    private var request: HTTPRequestHead?

    init(routes: OperationsServer.Routes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break  // probes and scrapes send none; anything sent is ignored
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, contentType, body) = routes.respond(method: head.method, uri: head.uri)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: "\(body.count)")
            headers.add(name: "Cache-Control", value: "no-store")
            let keepAlive = head.isKeepAlive
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
