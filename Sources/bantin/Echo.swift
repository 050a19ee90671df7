import ArgumentParser
import BantinCore
import BantinRPC
import Foundation
import Histogram
import NIOCore
import NIOPosix

struct EchoServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-server",
        abstract: "Serve bantin.bench.v1.Echo over mutual TLS (the RPC benchmark target).")

    @OptionGroup var server: ServerOptions
    @Option(help: "Event-loop threads (1 to keep the server on one core).")
    var threads = 1
    @Option(help: "Concurrent calls allowed per connection.")
    var maxConcurrentCalls = 128

    func run() async throws {
        ServiceMain.bootstrapLogging()
        try await ServiceMain.serve(name: "bantin-echo", options: server, defaultPort: 7400,
                                    services: [EchoService()], threads: threads) {
            $0.maxConcurrentCalls = maxConcurrentCalls
            $0.interceptors = [MetricsInterceptor(side: "server")]
        }
    }
}

struct EchoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-bench",
        abstract: "Closed-loop unary Echo load: connections × calls in flight; prints calls/s and latency percentiles.")

    @Argument(help: "host:port of an echo server.")
    var address = "127.0.0.1:7400"
    @Option(help: "Connections to open.")
    var connections = 4
    @Option(help: "Calls in flight on each connection.")
    var inFlight = 16
    @Option(help: "Payload size in bytes.")
    var payload = 64
    @Option(help: "Measured seconds.")
    var duration: Double = 10
    @Option(help: "Warm-up seconds, not measured.")
    var warmup: Double = 2
    @Flag(help: "Print one JSON object instead of text.")
    var json = false
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let provider = try TLSContextProvider(tls.configuration())
        var clientConfiguration = ClientConfiguration(tls: provider, serverName: tls.serverName)
        clientConfiguration.interceptors = []
        // One event loop runs the connections and the calling tasks alike, so a response resumes its
        // caller without waking another thread. One client per connection: each keeps one
        // multiplexed connection to the address.
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopTaskExecutor(loop.next())
        let clients = try (0..<connections).map { _ in try RPCClient(target: address, configuration: clientConfiguration, group: loop) }
        let request = EchoRequest(payload: [UInt8](repeating: 0x61, count: payload))
        for client in clients { _ = try await client.unary(EchoService.echo, request) }

        let start = ContinuousClock.now
        let measureFrom = start + .milliseconds(Int(warmup * 1000))
        let end = measureFrom + .milliseconds(Int(duration * 1000))
        let histograms = try await withThrowingTaskGroup(of: (Histogram<UInt64>, Int).self) { group in
            for client in clients {
                for _ in 0..<inFlight {
                    group.addTask(executorPreference: executor) {
                        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                        var errors = 0
                        while true {
                            let sent = ContinuousClock.now
                            if sent >= end { break }
                            do {
                                _ = try await client.unary(EchoService.echo, request)
                            } catch {
                                errors += 1
                            }
                            if sent >= measureFrom {
                                let micros = (ContinuousClock.now - sent).components
                                _ = histogram.record(UInt64(micros.seconds * 1_000_000 + micros.attoseconds / 1_000_000_000_000))
                            }
                        }
                        return (histogram, errors)
                    }
                }
            }
            var merged = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var errors = 0
            for try await (h, e) in group {
                merged.add(h)
                errors += e
            }
            return (merged, errors)
        }
        for client in clients { await client.close() }
        try await loop.shutdownGracefully()
        let (h, errors) = histograms
        let rate = Double(h.totalCount) / duration
        let p = { (q: Double) in Double(h.valueAtPercentile(q)) / 1000 }
        if json {
            print(#"{"payload":\#(payload),"connections":\#(connections),"in_flight":\#(inFlight),"calls":\#(h.totalCount),"errors":\#(errors),"calls_per_s":\#(Int(rate)),"p50_ms":\#(p(50)),"p90_ms":\#(p(90)),"p99_ms":\#(p(99)),"p999_ms":\#(p(99.9)),"max_ms":\#(Double(h.maxRecorded) / 1000)}"#)
        } else {
            print("payload \(payload) B, \(connections) connections × \(inFlight) in flight, \(duration) s after \(warmup) s warm-up")
            print("calls \(h.totalCount) (\(errors) errors), \(Int(rate)) calls/s")
            print(String(format: "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f", p(50), p(90), p(99), p(99.9), Double(h.maxRecorded) / 1000))
        }
    }
}
