import ArgumentParser

@main
struct Bantin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin",
        abstract: "Bantin: Vietnamese government and Party press as a queryable record.",
        discussion: "Talks to Bantin services over mutual TLS. Make development certificates first: bantin certs init var/pki",
        subcommands: [Up.self, IngestFiles.self, Search.self, EntityLookup.self, Meetings.self, ExtractFiles.self, Eval.self, Corpus.self, BuildIndex.self, PipelineBench.self, Call.self, Load.self, Certs.self, EchoServer.self])
}

/// Where the client's CA, certificate and key come from.
struct ClientTLSOptions: ParsableArguments {
    @Option(help: "Directory made by `bantin certs init` (env BANTIN_PKI).")
    var pki = Environment.string("BANTIN_PKI") ?? "var/pki"
    @Option(help: "CA bundle (default: PKI/ca.pem).")
    var ca: String?
    @Option(help: "Client certificate (default: PKI/client.pem).")
    var cert: String?
    @Option(help: "Client private key (default: PKI/client-key.pem).")
    var key: String?
    @Option(help: "Name the server certificate must carry (default: the host dialed).")
    var serverName: String?

    func configuration() -> TLSConfiguration {
        TLSConfiguration(role: .client, caFile: ca ?? "\(pki)/ca.pem",
                         certificateFile: cert ?? "\(pki)/client.pem", privateKeyFile: key ?? "\(pki)/client-key.pem")
    }
}

import BantinRPC
import Foundation
