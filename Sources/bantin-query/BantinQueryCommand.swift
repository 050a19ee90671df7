import ArgumentParser
import BantinQuery
import BantinRPC
import Logging

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-query",
        abstract: "A Bantin query replica: follows ingest's change feed, indexes in memory, answers searches.")

    @OptionGroup var server: ServerOptions

    @Option(help: "host:port of bantin-ingest (env BANTIN_INGEST).")
    var ingest = Environment.string("BANTIN_INGEST") ?? "127.0.0.1:7401"

    func run() async throws {
        ServiceMain.bootstrapLogging()
        let logger = Logger(label: "bantin-query")
        let index = SearchIndex()
        let tls = try TLSContextProvider(.client(pkiDirectory: server.pki), logger: logger)
        let client = try RPCClient(target: ingest, configuration: ClientConfiguration(tls: tls, logger: logger))
        let follower = FeedFollower(index: index, ingest: client, logger: logger)
        try await ServiceMain.serve(name: "bantin-query", options: server, defaultPort: QueryService.defaultPort,
                                    services: [QueryService(index: index)], background: [follower])
    }
}
