import ArgumentParser
import BantinExtract
import BantinRPC

@main
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bantin-extract",
        abstract: "The Bantin extract service (mutual TLS, Bantin RPC v1).")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        ServiceMain.bootstrapLogging()
        try await ServiceMain.serve(name: "bantin-extract", options: server, defaultPort: ExtractService.defaultPort, services: [ExtractService()])
    }
}
