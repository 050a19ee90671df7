import BantinRPC

/// bantin-query's RPC service. A shell until the services issue fills it: the server already
/// serves health and reflection, so deployments and probes can be built against it.
public struct QueryService: RPCService {
    public static let defaultPort = 7403

    public init() {}

    public func register(on router: inout Router) {}
}
