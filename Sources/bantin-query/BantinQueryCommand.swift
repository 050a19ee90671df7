import ArgumentParser
import BantinQuery
import BantinRPC
import Foundation
import Logging

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-query",
        abstract: "A Bantin query replica: follows ingest's change feed, indexes in memory, answers searches.")

    @OptionGroup var server: ServerOptions

    @Option(help: "host:port of bantin-ingest (env BANTIN_INGEST).")
    var ingest = Environment.string("BANTIN_INGEST") ?? "127.0.0.1:7401"

    @Option(help: "Directory for the index snapshot (env BANTIN_DATA).")
    var data = Environment.string("BANTIN_DATA") ?? "var/data/query"

    @Option(help: "Seconds between index snapshots, when the index changed (env BANTIN_SNAPSHOT_INTERVAL).")
    var snapshotInterval = Int(Environment.string("BANTIN_SNAPSHOT_INTERVAL") ?? "") ?? 300

    func run() async throws {
        ServiceMain.bootstrapLogging()
        let logger = Logger(label: "bantin-query")
        let index = SearchIndex()
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let snapshotPath = "\(data)/index.snapshot"
        SnapshotWriter.restore(index, from: snapshotPath, logger: logger)
        let snapshots = SnapshotWriter(index: index, path: snapshotPath, interval: .seconds(snapshotInterval), logger: logger)
        let tls = try TLSContextProvider(.client(pkiDirectory: server.pki), logger: logger)
        let client = try RPCClient(target: ingest, configuration: ClientConfiguration(tls: tls, logger: logger))
        let follower = FeedFollower(index: index, ingest: client, logger: logger)
        try await ServiceMain.serve(name: "bantin-query", options: server, defaultPort: QueryService.defaultPort,
                                    services: [QueryService(index: index)], background: [follower, snapshots])
    }
}
