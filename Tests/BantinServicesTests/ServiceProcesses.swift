import BantinCore
import BantinRPC
import BantinTesting
import Foundation

/// The three service executables run as child processes on free ports, with a test PKI and a
/// temporary data directory; stopped (SIGTERM, or SIGKILL to simulate a crash) by the test.
/// Names: "ingest", "extract", and "query" or "query-2", "query-3" ... for more replicas.
final class ServiceProcesses: @unchecked Sendable {
    let pki: TestPKI
    let dataDirectory: String
    let basePort: Int
    private(set) var running: [String: Process] = [:]

    static let binDirectory: String = {
        // The test bundle sits next to the executables in .build/<triple>/debug.
        let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug").path
        let candidates: [String] = [Bundle.main.executableURL?.deletingLastPathComponent().path, fallback].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: "\($0)/bantin-ingest") } ?? fallback
    }()

    init() throws {
        pki = try TestPKI()
        dataDirectory = NSTemporaryDirectory() + "bantin-data-\(UUID().uuidString)"
        basePort = ServiceProcesses.freePorts(count: 5)
    }

    /// A first port such that `count` ports from it, and the operations ports 10,000 above them, are free now.
    /// Below Linux's ephemeral range (32768 and up), so that no client connection of another test can take one
    /// between the check and the child's bind: a random port there was a flake (a test's query port held by
    /// someone else's connection, and the test waiting on a peer that never answered).
    static func freePorts(count: Int) -> Int {
        while true {
            let base = Int.random(in: 10_000...(22_000 - count))
            if (0..<count).allSatisfy({ isFree(base + $0) && isFree(base + $0 + 10_000) }) { return base }
        }
    }

    /// Whether a TCP socket can be bound to 127.0.0.1:`port` right now.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    deinit {
        for process in running.values where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    func port(_ name: String) -> Int {
        switch name {
        case "ingest": basePort
        case "extract": basePort + 1
        case "query": basePort + 2
        default: basePort + 1 + (Int(name.split(separator: "-").last!) ?? 1)
        }
    }

    /// The plain-HTTP operations port (/healthz, /readyz, /metrics).
    func opsPort(_ name: String) -> Int { port(name) + 10_000 }

    func start(_ name: String) throws {
        let process = Process()
        let executable = name.hasPrefix("query") ? "query" : name
        process.executableURL = URL(fileURLWithPath: "\(Self.binDirectory)/bantin-\(executable)")
        var environment = ProcessInfo.processInfo.environment
        environment["BANTIN_PKI"] = pki.directory
        environment["BANTIN_HOST"] = "127.0.0.1"
        environment["BANTIN_LOG_LEVEL"] = environment["BANTIN_TEST_LOG_LEVEL"] ?? "warning"
        environment["BANTIN_PORT"] = "\(port(name))"
        environment["BANTIN_OPS_PORT"] = "\(opsPort(name))"
        switch name {
        case "ingest":
            environment["BANTIN_DATA"] = dataDirectory
            environment["BANTIN_EXTRACT"] = "127.0.0.1:\(port("extract"))"
        case "extract":
            break
        default:
            environment["BANTIN_INGEST"] = "127.0.0.1:\(port("ingest"))"
            environment["BANTIN_DATA"] = "\(dataDirectory)/\(name)"
        }
        process.environment = environment
        // Logs go to a file: an inherited stdout would keep the test runner's pipe open.
        let log = "\(NSTemporaryDirectory())bantin-\(name)-\(basePort).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = process.standardOutput
        try process.run()
        running[name] = process
    }

    func stop(_ name: String, signal: Int32 = SIGTERM) {
        guard let process = running.removeValue(forKey: name) else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    func pid(_ name: String) -> Int32? { running[name]?.processIdentifier }

    /// Forgets a process that was killed from outside (by pid), reaping it.
    func forget(_ name: String) {
        running.removeValue(forKey: name)?.waitUntilExit()
    }

    func client(_ name: String) throws -> RPCClient {
        var configuration = ClientConfiguration(tls: try TLSContextProvider(pki.clientTLS()))
        configuration.interceptors = []
        return try RPCClient(target: "127.0.0.1:\(port(name))", configuration: configuration)
    }

    /// Waits until `condition` holds, polling; fails after `timeout`.
    func eventually(timeout: Duration = .seconds(20), _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TimeoutError(what: what)
    }

    struct TimeoutError: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for: \(what)" }
    }

    static func seeds() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("seeds")
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map {
            try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)
        }
    }
}
