import BantinRPC

/// bantin-ingest's RPC service. A shell until the services issue fills it: the server already
/// serves health and reflection, so deployments and probes can be built against it.
public struct IngestService: RPCService {
    public static let defaultPort = 7401

    public init() {}

    public func register(on router: inout Router) {}
}
