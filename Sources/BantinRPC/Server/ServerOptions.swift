import ArgumentParser

/// The flags every Bantin server executable shares, each with a BANTIN_* environment fallback so that a Kubernetes
/// manifest can configure a container without a command line.
public struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (env BANTIN_HOST).")
    public var host = Environment.string("BANTIN_HOST") ?? "0.0.0.0"

    @Option(help: "Port to listen on (env BANTIN_PORT; default: the service's own port).")
    public var port: Int?

    @Option(help: "Directory with ca.pem, server.pem, server-key.pem, client.pem, client-key.pem (env BANTIN_PKI; make one with `bantin certs init`).")
    public var pki = Environment.string("BANTIN_PKI") ?? "var/pki"

    public init() {}

    /// The port to listen on: the flag, else BANTIN_PORT, else the service's default.
    public func port(default defaultPort: Int) -> Int {
        port ?? Environment.string("BANTIN_PORT").flatMap { Int($0) } ?? defaultPort
    }
}
