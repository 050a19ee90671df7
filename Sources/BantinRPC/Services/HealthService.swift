import BantinCore
import NIOConcurrencyHelpers

/// Serving status per service name ("" = the whole server), as the health service reports it.
public final class HealthStatus: Sendable {
    private let state = NIOLockedValueBox(State())

    private struct State {
        var statuses: [String: HealthCheckResponse.ServingStatus] = ["": .serving]
        var watchers: [Int: (service: String, continuation: AsyncStream<HealthCheckResponse.ServingStatus>.Continuation)] = [:]
        var nextWatcher = 0
    }

    public init() {}

    public func set(_ service: String, _ status: HealthCheckResponse.ServingStatus) {
        let watchers = state.withLockedValue { state in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for w in watchers { w.yield(status) }
    }

    /// Marks every known service, and the server, with `status` (NOT_SERVING on shutdown).
    public func setAll(_ status: HealthCheckResponse.ServingStatus) {
        for service in state.withLockedValue({ Array($0.statuses.keys) }) { set(service, status) }
    }

    public func status(of service: String) -> HealthCheckResponse.ServingStatus? {
        state.withLockedValue { $0.statuses[service] }
    }

    func watch(_ service: String) -> AsyncStream<HealthCheckResponse.ServingStatus> {
        AsyncStream { continuation in
            let id = state.withLockedValue { state -> Int in
                let id = state.nextWatcher
                state.nextWatcher += 1
                state.watchers[id] = (service, continuation)
                return id
            }
            continuation.yield(status(of: service) ?? .serviceUnknown)
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLockedValue { $0.watchers.removeValue(forKey: id) }
            }
        }
    }
}

/// bantin.health.v1.Health: Check and Watch.
public struct HealthService: RPCService {
    public static let check = Method<HealthCheckRequest, HealthCheckResponse>("/bantin.health.v1.Health/Check", kind: .unary, idempotent: true)
    public static let watch = Method<HealthCheckRequest, HealthCheckResponse>("/bantin.health.v1.Health/Watch", kind: .serverStreaming, idempotent: true)
    static var methods: [MethodInfo] { [check.info, watch.info] }

    let status: HealthStatus

    public func register(on router: inout Router) {
        let status = self.status
        router.unary(Self.check) { request, _ in
            guard let s = status.status(of: request.service) else {
                throw RPCError(.notFound, "no health status for service '\(request.service)'")
            }
            return HealthCheckResponse(status: s)
        }
        router.serverStreaming(Self.watch) { request, writer, _ in
            for await s in status.watch(request.service) {
                try await writer.write(HealthCheckResponse(status: s))
            }
        }
    }
}
