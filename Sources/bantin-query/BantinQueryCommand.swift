import ArgumentParser
import BantinQuery
import BantinRPC
import Foundation
import Logging
import Metrics

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-query",
        abstract: "A Bantin query replica: follows ingest's change feed, indexes in memory, answers searches.",
        discussion: "Every flag has a BANTIN_* environment variable; docs/OPERATIONS.md lists them all.")

    @OptionGroup var server: ServerOptions

    @Option(help: "host:port of bantin-ingest (env BANTIN_INGEST; default 127.0.0.1:7401).")
    var ingest: String?

    @Option(help: "Directory for the index snapshot (env BANTIN_DATA; default var/data/query).")
    var data: String?

    @Option(help: "Seconds between index snapshots, when the index changed (env BANTIN_SNAPSHOT_INTERVAL; default 300).")
    var snapshotInterval: Int?

    @Option(help: "Sequences behind ingest's head above which /readyz reports not ready (env BANTIN_READY_MAX_LAG; default 100).")
    var readyMaxLag: Int?

    @Option(help: "Least milliseconds between two applies of the change feed while it keeps coming: larger batches cost less per article, and no article waits longer than this (env BANTIN_APPLY_INTERVAL_MS; default 100).")
    var applyIntervalMs: Int?

    @Option(help: "Threads a large batch of the change feed is indexed on, each building its own segment (env BANTIN_INDEX_THREADS; default the cores, up to 4).")
    var indexThreads: Int?

    mutating func validate() throws {
        ingest = try Setting.resolve(ingest, "BANTIN_INGEST", default: "127.0.0.1:7401")
        data = try Setting.resolve(data, "BANTIN_DATA", default: "var/data/query")
        snapshotInterval = try Setting.resolve(snapshotInterval, "BANTIN_SNAPSHOT_INTERVAL", default: 300)
        readyMaxLag = try Setting.resolve(readyMaxLag, "BANTIN_READY_MAX_LAG", default: 100)
        applyIntervalMs = try Setting.resolve(applyIntervalMs, "BANTIN_APPLY_INTERVAL_MS", default: 100)
        indexThreads = try Setting.resolve(indexThreads, "BANTIN_INDEX_THREADS", default: SearchIndex.defaultIndexThreads)
        let limits = SearchIndex.indexThreadLimits
        guard limits.contains(indexThreads!) else {
            throw ValidationError("--index-threads / BANTIN_INDEX_THREADS must be \(limits.lowerBound) to \(limits.upperBound)")
        }
        guard snapshotInterval! > 0 else { throw ValidationError("--snapshot-interval / BANTIN_SNAPSHOT_INTERVAL must be at least 1 second") }
        guard readyMaxLag! >= 0 else { throw ValidationError("--ready-max-lag / BANTIN_READY_MAX_LAG must be 0 or more") }
        guard (0...10_000).contains(applyIntervalMs!) else {
            throw ValidationError("--apply-interval-ms / BANTIN_APPLY_INTERVAL_MS must be 0 to 10000 milliseconds")
        }
    }

    func run() async throws {
        ServiceMain.bootstrap(server)
        let logger = Logger(label: "bantin-query")
        let index = SearchIndex(indexThreads: indexThreads!)
        let data = self.data!
        let ingest = self.ingest!
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let snapshotPath = "\(data)/index.snapshot"
        SnapshotWriter.restore(index, from: snapshotPath, logger: logger)
        let snapshots = SnapshotWriter(index: index, path: snapshotPath, interval: .seconds(snapshotInterval!), logger: logger)
        let tls = try TLSContextProvider(.client(pkiDirectory: server.pki!), logger: logger)
        let client = try RPCClient(target: ingest, configuration: ClientConfiguration(tls: tls, logger: logger))
        let follower = FeedFollower(index: index, ingest: client, logger: logger, applyInterval: .milliseconds(applyIntervalMs!))
        let maxLag = UInt64(readyMaxLag!)
        let lagSequences = Gauge(label: "bantin_query_lag_sequences")
        let lagSeconds = Gauge(label: "bantin_query_lag_seconds")
        let articles = Gauge(label: "bantin_query_index_articles")
        let entities = Gauge(label: "bantin_query_index_entities")
        let applied = Gauge(label: "bantin_query_applied_sequence")
        try await ServiceMain.serve(
            name: "bantin-query", options: server, defaultPort: QueryService.defaultPort,
            services: [QueryService(index: index)], background: [follower, snapshots],
            readiness: [("feed", {
                let progress = index.feedProgress
                guard progress.headKnown else { return "has not heard ingest's head yet (following \(ingest))" }
                return progress.lagSequences <= maxLag ? nil : "\(progress.lagSequences) sequences behind ingest (limit \(maxLag))"
            })],
            collectors: [{
                let progress = index.feedProgress
                let stats = index.stats
                lagSequences.record(Int64(progress.lagSequences))
                lagSeconds.record(progress.lagSeconds)
                articles.record(Int64(stats.articles))
                entities.record(Int64(stats.entities))
                applied.record(Int64(stats.appliedSeq))
            }])
    }
}
