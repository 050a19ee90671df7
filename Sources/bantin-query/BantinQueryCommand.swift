import ArgumentParser
import BantinQuery
import BantinRPC
import Logging

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-query",
        abstract: "A Bantin query replica: follows ingest's change feed, indexes in memory, answers searches.")

    @Option(help: "Address to listen on (env BANTIN_HOST).")
    var host = Environment.string("BANTIN_HOST") ?? "0.0.0.0"

    @Option(help: "Port to listen on (env BANTIN_PORT).")
    var port = Int(Environment.string("BANTIN_PORT") ?? "") ?? QueryService.defaultPort

    @Option(help: "Directory with the CA, server and client certificates (env BANTIN_PKI; make one with `bantin certs init`).")
    var pki = Environment.string("BANTIN_PKI") ?? "var/pki"

    @Option(help: "host:port of bantin-ingest (env BANTIN_INGEST).")
    var ingest = Environment.string("BANTIN_INGEST") ?? "127.0.0.1:7401"

    func run() async throws {
        ServiceMain.bootstrapLogging()
        let logger = Logger(label: "bantin-query")
        let index = SearchIndex()
        let tls = try TLSContextProvider(.client(pkiDirectory: pki), logger: logger)
        let client = try RPCClient(target: ingest, configuration: ClientConfiguration(tls: tls, logger: logger))
        let follower = FeedFollower(index: index, ingest: client, logger: logger)
        try await ServiceMain.serve(name: "bantin-query", host: host, port: port, pkiDirectory: pki,
                                    services: [QueryService(index: index)], background: [follower])
    }
}
