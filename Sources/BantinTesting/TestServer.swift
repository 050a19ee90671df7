import BantinRPC
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Starts a real server on 127.0.0.1 (port chosen by the kernel) and clients for it, so every
/// test exercises real sockets and real TLS handshakes.
public final class TestServer: Sendable {
    public let server: RPCServer
    public let address: SocketAddress
    public let pki: TestPKI
    public let logs: LogCapture

    public static func start(
        pki: TestPKI, services: [any RPCService] = [EchoService()], serverCertificate: String = "server",
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let logs = LogCapture()
        let logger = Logger(label: "test-server") { _ in logs.handler() }
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0,
                                                tls: try TLSContextProvider(pki.serverTLS(serverCertificate), logger: logger))
        configure(&configuration)
        let server = RPCServer(configuration: configuration, services: services, logger: logger)
        let address = try await server.start()
        return TestServer(server: server, address: address, pki: pki, logs: logs)
    }

    init(server: RPCServer, address: SocketAddress, pki: TestPKI, logs: LogCapture) {
        self.server = server
        self.address = address
        self.pki = pki
        self.logs = logs
    }

    public var target: String { "127.0.0.1:\(address.port!)" }

    public func client(certificate: String? = "client", caFile: String = "ca.pem", serverName: String? = nil,
                       configure: (inout ClientConfiguration) -> Void = { _ in }) throws -> RPCClient {
        var configuration = ClientConfiguration(tls: try TLSContextProvider(pki.clientTLS(certificate, caFile: caFile)), serverName: serverName)
        configuration.initialBackoff = .milliseconds(10)
        configure(&configuration)
        return try RPCClient(target: target, configuration: configuration)
    }

    public func stop() async { await server.shutdown() }
}

/// Collects log lines (message plus metadata) so tests can assert what an operator would see.
public final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    public init() {}

    public var all: [String] { lines.withLockedValue { $0 } }

    public func contains(_ fragment: String) -> Bool { all.contains { $0.contains(fragment) } }

    func append(_ line: String) { lines.withLockedValue { $0.append(line) } }

    func handler() -> some LogHandler { CapturingLogHandler(capture: self) }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let rendered = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        capture.append("\(event.level) \(event.message) \(rendered)")
    }
}
