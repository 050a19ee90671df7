import ArgumentParser
import BantinExtract
import BantinRPC
import NIOConcurrencyHelpers

@main
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-extract",
        abstract: "The Bantin extract service (mutual TLS, Bantin RPC v1).",
        discussion: "Every flag has a BANTIN_* environment variable; docs/OPERATIONS.md lists them all.")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        ServiceMain.bootstrap(server)
        // The lexicons load while the ports open, so probes get answers (not ready) instead of refused connections.
        let loaded = NIOLockedValueBox(false)
        Task.detached {
            _ = Lexicon.shared
            loaded.withLockedValue { $0 = true }
        }
        try await ServiceMain.serve(
            name: "bantin-extract", options: server, defaultPort: ExtractService.defaultPort, services: [ExtractService()],
            readiness: [("lexicon", { loaded.withLockedValue { $0 } ? nil : "extractor data still loading" })])
    }
}
