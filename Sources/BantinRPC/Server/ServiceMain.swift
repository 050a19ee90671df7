import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// What every Bantin executable does after parsing its flags: `bootstrap` logging and metrics, then `serve`: load TLS
/// (watching the files and SIGHUP for reloads), open the operations port, serve, and on SIGTERM or SIGINT report not
/// ready, send GOAWAY, drain within `--drain-timeout` and exit 0.
public enum ServiceMain {
    /// Logging as the options say, and metrics into `Telemetry.registry`. Call once, before making a client or server.
    public static func bootstrap(_ options: ServerOptions) {
        bootstrapLogging(format: options.logFormat ?? .text, level: options.logLevel?.level ?? .info)
        Telemetry.bootstrap()
    }

    public static func serve(name: String, options: ServerOptions, defaultPort: Int,
                             services: [any RPCService], background: [any Service] = [],
                             readiness checks: [(name: String, check: Readiness.Check)] = [],
                             collectors: [@Sendable () -> Void] = [],
                             threads: Int = System.coreCount,
                             configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        let logger = Logger(label: name)
        let tls = try TLSContextProvider(.server(pkiDirectory: options.pki ?? "var/pki"), logger: logger)
        tls.watch()
        let host = options.host ?? "0.0.0.0"
        let port = options.port(default: defaultPort)
        var configuration = ServerConfiguration(host: host, port: port, tls: tls)
        configuration.drainGracePeriod = .seconds(Int64(options.drainTimeout ?? 20))
        configure(&configuration)
        let group = threads == System.coreCount ? MultiThreadedEventLoopGroup.singleton : MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let server = RPCServer(configuration: configuration, services: services, group: group, logger: logger)

        var operations: [any Service] = []
        if let opsPort = options.opsPort(rpcPort: port) {
            let readiness = Readiness()
            // The server reports NOT_SERVING from the moment it starts draining; until it listens it is not ready either.
            readiness.add("rpc") {
                guard server.health.status(of: "") == .serving else { return "draining" }
                return server.localAddress == nil ? "RPC port not listening yet" : nil
            }
            for (checkName, check) in checks { readiness.add(checkName, check) }
            let ops = OperationsServer(configuration: .init(host: host, port: opsPort), readiness: readiness, group: group, logger: logger)
            for collect in collectors { ops.addCollector(collect) }
            try await listen("--ops-port / BANTIN_OPS_PORT", host, opsPort) { try await ops.start() }
            operations = [ops]
        }
        try await listen("--port / BANTIN_PORT", host, port) { try await server.start() }
        // ServiceGroup stops services in reverse order: the RPC server (last) drains first, background work stops
        // next, and the operations port (first) answers probes until the very end.
        let serviceGroup = ServiceGroup(configuration: .init(
            services: (operations + background + [server]).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
    }

    /// Binds, turning a failure into an error that names the setting to change.
    private static func listen(_ setting: String, _ host: String, _ port: Int, _ bind: () async throws -> SocketAddress) async throws {
        do {
            _ = try await bind()
        } catch {
            throw ServiceStartError(message: "cannot listen on \(host):\(port) (\(setting)): \(error)")
        }
    }

    /// Logs to stderr, as text or one JSON object per line. Defaults read BANTIN_LOG_FORMAT and BANTIN_LOG_LEVEL, for
    /// the tools that have no server options.
    public static func bootstrapLogging(format: LogFormat? = nil, level: Logger.Level? = nil) {
        let format = format ?? Environment.string("BANTIN_LOG_FORMAT").flatMap(LogFormat.init(rawValue:)) ?? .text
        let level = level ?? Environment.string("BANTIN_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                return JSONLogHandler(label: label, level: level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// A start-up failure the operator can fix; the message says which setting.
public struct ServiceStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
