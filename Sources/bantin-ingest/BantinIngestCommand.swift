import ArgumentParser
import BantinIngest
import BantinRPC
import Logging

@main
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-ingest",
        abstract: "The Bantin ingest service: stores articles durably, sends them to extract, serves the change feed.")

    @Option(help: "Address to listen on (env BANTIN_HOST).")
    var host = Environment.string("BANTIN_HOST") ?? "0.0.0.0"

    @Option(help: "Port to listen on (env BANTIN_PORT).")
    var port = Int(Environment.string("BANTIN_PORT") ?? "") ?? IngestService.defaultPort

    @Option(help: "Directory with ca.pem, server.pem, server-key.pem, client.pem, client-key.pem (env BANTIN_PKI; make one with `bantin certs init`).")
    var pki = Environment.string("BANTIN_PKI") ?? "var/pki"

    @Option(help: "Directory for the SQLite store (env BANTIN_DATA).")
    var data = Environment.string("BANTIN_DATA") ?? "var/data/ingest"

    @Option(help: "host:port of bantin-extract (env BANTIN_EXTRACT).")
    var extract = Environment.string("BANTIN_EXTRACT") ?? "127.0.0.1:7402"

    func run() async throws {
        ServiceMain.bootstrapLogging()
        let logger = Logger(label: "bantin-ingest")
        let store = try ArticleStore(directory: data)
        let heads = store.currentHeads
        logger.info("store open", metadata: ["path": "\(data)", "articles": "\(heads.acceptedSeq)", "feed-head": "\(heads.feedSeq)", "pending": "\(heads.pending)"])
        let tls = try TLSContextProvider(.client(pkiDirectory: pki), logger: logger)
        let extractor = try RPCClient(target: extract, configuration: ClientConfiguration(tls: tls, logger: logger))
        let outbox = ExtractionOutbox(store: store, extractor: extractor, logger: logger)
        try await ServiceMain.serve(name: "bantin-ingest", host: host, port: port, pkiDirectory: pki,
                                    services: [IngestService(store: store, outbox: outbox)], background: [outbox])
    }
}
