import ArgumentParser
import BantinRPC
import Foundation

/// Starts bantin-ingest, bantin-extract and bantin-query as child processes with a development
/// PKI and a data directory, prefixes their logs, and stops them gracefully on Ctrl-C / SIGTERM.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the three services locally (child processes, mutual TLS, embedded store).")

    @Option(help: "Development PKI directory (made if missing).")
    var pki = "var/pki"
    @Option(help: "Data directory (the ingest store lives in DATA/ingest).")
    var data = "var/data"
    @Option(help: "Directory holding the bantin-* executables (default: next to this one).")
    var bin: String?
    @Option(help: "Ports of ingest, extract and query.")
    var ports = "7401,7402,7403"

    func run() async throws {
        let portList = ports.split(separator: ",").compactMap { Int($0) }
        guard portList.count == 3 else { throw ValidationError("--ports takes three ports: ingest,extract,query") }
        if !FileManager.default.fileExists(atPath: "\(pki)/ca.pem") {
            try DevelopmentPKI.initialize(directory: pki)
            print("made a development PKI in \(pki)")
        }
        let directory = bin ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let specs: [(String, Int, [String: String])] = [
            ("bantin-extract", portList[1], [:]),
            ("bantin-ingest", portList[0], ["BANTIN_DATA": "\(data)/ingest", "BANTIN_EXTRACT": "127.0.0.1:\(portList[1])"]),
            ("bantin-query", portList[2], ["BANTIN_INGEST": "127.0.0.1:\(portList[0])", "BANTIN_DATA": "\(data)/query"]),
        ]
        var children: [Process] = []
        for (name, port, extra) in specs {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "\(directory)/\(name)")
            var environment = ProcessInfo.processInfo.environment
            environment["BANTIN_PKI"] = pki
            environment["BANTIN_PORT"] = "\(port)"
            environment["BANTIN_HOST"] = "127.0.0.1"
            for (k, v) in extra { environment[k] = v }
            process.environment = environment
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            let prefix = name.replacingOccurrences(of: "bantin-", with: "").padding(toLength: 8, withPad: " ", startingAt: 0)
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                guard !data.isEmpty else { handle.readabilityHandler = nil; return }
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
                let out = lines.map { "\(prefix)| \($0)\n" }.joined()
                FileHandle.standardOutput.write(Data(out.utf8))
            }
            do {
                try process.run()
            } catch {
                for child in children { child.terminate() }
                throw ValidationError("cannot start \(process.executableURL!.path): \(error). Build first: swift build -c release")
            }
            children.append(process)
            print("started \(name) (pid \(process.processIdentifier)) on 127.0.0.1:\(port); /healthz, /readyz, /metrics on http://127.0.0.1:\(port + 2000)")
        }
        // Ctrl-C / SIGTERM: forward SIGTERM (each service drains), wait, exit.
        let stop = AsyncStream<Int32> { continuation in
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig)
                source.setEventHandler { continuation.yield(sig) }
                source.resume()
                nonisolated(unsafe) let keep = source
                continuation.onTermination = { _ in keep.cancel() }
            }
        }
        let exited = AsyncStream<String> { continuation in
            for child in children {
                child.terminationHandler = { p in continuation.yield("\(p.executableURL?.lastPathComponent ?? "?") exited with status \(p.terminationStatus)") }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in stop { return } }
            group.addTask { for await message in exited { print(message); return } }
            await group.next()
            group.cancelAll()
        }
        print("stopping services")
        for child in children where child.isRunning { child.terminate() }
        for child in children { child.waitUntilExit() }
    }
}
