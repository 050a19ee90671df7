import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// What every Bantin executable does after parsing its flags (and `bootstrapLogging()`): load TLS (watching the files and
/// SIGHUP for reloads), serve, and on SIGTERM or SIGINT send GOAWAY, drain and exit.
public enum ServiceMain {
    public static func serve(name: String, options: ServerOptions, defaultPort: Int,
                             services: [any RPCService], background: [any Service] = [], threads: Int = System.coreCount,
                             configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        let logger = Logger(label: name)
        let tls = try TLSContextProvider(.server(pkiDirectory: options.pki), logger: logger)
        tls.watch()
        var configuration = ServerConfiguration(host: options.host, port: options.port(default: defaultPort), tls: tls)
        configure(&configuration)
        let group = threads == System.coreCount ? MultiThreadedEventLoopGroup.singleton : MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let server = RPCServer(configuration: configuration, services: services, group: group, logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(
            services: [.init(service: server)] + background.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
    }

    /// Logs to stderr at BANTIN_LOG_LEVEL (default info). Call once, before making a client or server.
    public static func bootstrapLogging() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: Environment.string("BANTIN_LOG_LEVEL") ?? "info") ?? .info
            return handler
        }
    }
}

/// BANTIN_* environment variables, read where a flag has no value.
public enum Environment {
    public static func string(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}
