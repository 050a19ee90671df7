import ArgumentParser
import BantinIngest
import BantinRPC
import Logging
import Metrics

@main
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-ingest",
        abstract: "The Bantin ingest service: stores articles durably, sends them to extract, serves the change feed.",
        discussion: "Every flag has a BANTIN_* environment variable; docs/OPERATIONS.md lists them all.")

    @OptionGroup var server: ServerOptions

    @Option(help: "Directory for the SQLite store (env BANTIN_DATA; default var/data/ingest).")
    var data: String?

    @Option(help: "host:port of bantin-extract (env BANTIN_EXTRACT; default 127.0.0.1:7402).")
    var extract: String?

    @Option(help: "Articles waiting for extraction above which submitters are slowed while extraction keeps up (env BANTIN_MAX_BACKLOG; default \(IngestService.defaultMaxBacklog)); bounds how stale the change feed gets under bulk load.")
    var maxBacklog: Int?

    mutating func validate() throws {
        data = try Setting.resolve(data, "BANTIN_DATA", default: "var/data/ingest")
        extract = try Setting.resolve(extract, "BANTIN_EXTRACT", default: "127.0.0.1:7402")
        maxBacklog = try Setting.resolve(maxBacklog, "BANTIN_MAX_BACKLOG", default: IngestService.defaultMaxBacklog)
        guard maxBacklog! > 0 else { throw ValidationError("--max-backlog / BANTIN_MAX_BACKLOG must be at least 1") }
    }

    func run() async throws {
        ServiceMain.bootstrap(server)
        let logger = Logger(label: "bantin-ingest")
        let store = try ArticleStore(directory: data!)
        let heads = store.currentHeads
        logger.info("store open", metadata: ["path": "\(data!)", "articles": "\(heads.acceptedSeq)", "feed-head": "\(heads.feedSeq)", "pending": "\(heads.pending)"])
        let tls = try TLSContextProvider(.client(pkiDirectory: server.pki!), logger: logger)
        let extractor = try RPCClient(target: extract!, configuration: ClientConfiguration(tls: tls, logger: logger))
        let outbox = ExtractionOutbox(store: store, extractor: extractor, logger: logger)
        let outboxDepth = Gauge(label: "bantin_ingest_outbox_depth")
        let accepted = Gauge(label: "bantin_ingest_accepted_sequence")
        let feedHead = Gauge(label: "bantin_ingest_feed_head_sequence")
        try await ServiceMain.serve(
            name: "bantin-ingest", options: server, defaultPort: IngestService.defaultPort,
            services: [IngestService(store: store, outbox: outbox, maxBacklog: maxBacklog!)], background: [outbox],
            // Ready as soon as it listens: the store is opened above, before the ports. Extract being down does not
            // make ingest unready: articles are still accepted and wait in the outbox, which is what it is for.
            collectors: [{
                let heads = store.currentHeads
                outboxDepth.record(Int64(heads.pending))
                accepted.record(Int64(heads.acceptedSeq))
                feedHead.record(Int64(heads.feedSeq))
            }]
        ) {
            // Frames may be larger than articles so that an oversized article reaches the store's size check and gets
            // a per-article INVALID_ARGUMENT instead of a GOAWAY that would end every call on the connection.
            $0.maxFrameSize = IngestService.maxFrameSize
        }
    }
}
