import ArgumentParser
import BantinCore
import BantinRPC
import Foundation
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
        ServiceMain.bootstrap(server)
        try await ServiceMain.serve(name: "bantin-echo", options: server, defaultPort: 7400,
                                    services: [EchoService()], threads: threads) {
            $0.maxConcurrentCalls = maxConcurrentCalls
            $0.interceptors = [MetricsInterceptor(side: "server")]
        }
    }
}
