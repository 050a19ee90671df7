import ArgumentParser
import BantinExtract
import BantinRPC

@main
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-extract",
        abstract: "The Bantin extract service (mutual TLS, Bantin RPC v1).")

    @Option(help: "Address to listen on (env BANTIN_HOST).")
    var host = Environment.string("BANTIN_HOST") ?? "0.0.0.0"

    @Option(help: "Port to listen on (env BANTIN_PORT).")
    var port = Int(Environment.string("BANTIN_PORT") ?? "") ?? ExtractService.defaultPort

    @Option(help: "Directory with ca.pem, server.pem, server-key.pem (env BANTIN_PKI; make one with `bantin certs init`).")
    var pki = Environment.string("BANTIN_PKI") ?? "var/pki"

    func run() async throws {
        ServiceMain.bootstrapLogging()
        try await ServiceMain.serve(name: "bantin-extract", host: host, port: port, pkiDirectory: pki, services: [ExtractService()])
    }
}
