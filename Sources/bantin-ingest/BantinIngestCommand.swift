import ArgumentParser
import BantinIngest
import BantinRPC
import Logging

@main
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-ingest",
        abstract: "The Bantin ingest service: stores articles durably, sends them to extract, serves the change feed.")

    @OptionGroup var server: ServerOptions

    @Option(help: "Directory for the SQLite store (env BANTIN_DATA).")
    var data = Environment.string("BANTIN_DATA") ?? "var/data/ingest"

    @Option(help: "host:port of bantin-extract (env BANTIN_EXTRACT).")
    var extract = Environment.string("BANTIN_EXTRACT") ?? "127.0.0.1:7402"

    @Option(help: "Articles waiting for extraction above which submitters are slowed while extraction keeps up (env BANTIN_MAX_BACKLOG); bounds how stale the change feed gets under bulk load.")
    var maxBacklog = Int(Environment.string("BANTIN_MAX_BACKLOG") ?? "") ?? IngestService.defaultMaxBacklog

    func run() async throws {
        ServiceMain.bootstrapLogging()
        let logger = Logger(label: "bantin-ingest")
        let store = try ArticleStore(directory: data)
        let heads = store.currentHeads
        logger.info("store open", metadata: ["path": "\(data)", "articles": "\(heads.acceptedSeq)", "feed-head": "\(heads.feedSeq)", "pending": "\(heads.pending)"])
        let tls = try TLSContextProvider(.client(pkiDirectory: server.pki), logger: logger)
        let extractor = try RPCClient(target: extract, configuration: ClientConfiguration(tls: tls, logger: logger))
        let outbox = ExtractionOutbox(store: store, extractor: extractor, logger: logger)
        try await ServiceMain.serve(name: "bantin-ingest", options: server, defaultPort: IngestService.defaultPort,
                                    services: [IngestService(store: store, outbox: outbox, maxBacklog: maxBacklog)], background: [outbox]) {
            // Frames may be larger than articles so that an oversized article reaches the store's size check and gets
            // a per-article INVALID_ARGUMENT instead of a GOAWAY that would end every call on the connection.
            $0.maxFrameSize = IngestService.maxFrameSize
        }
    }
}
