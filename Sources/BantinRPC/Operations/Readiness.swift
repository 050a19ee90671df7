import NIOConcurrencyHelpers

/// Whether this process should receive traffic, as `/readyz` reports it: every registered check passes and no
/// shutdown has begun. Checks are cheap closures evaluated on each probe, so the answer is never stale.
public final class Readiness: Sendable {
    /// nil when ready, else a short reason ("store not open", "42 sequences behind ingest").
    public typealias Check = @Sendable () -> String?

    private struct State {
        var checks: [(name: String, check: Check)] = []
        var shuttingDown = false
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func add(_ name: String, _ check: @escaping Check) {
        state.withLockedValue { $0.checks.append((name, check)) }
    }

    /// From now on the process reports not ready, so that load balancers stop sending it new work while it drains.
    public func beginShutdown() {
        state.withLockedValue { $0.shuttingDown = true }
    }

    /// Why the process is not ready ("name: reason" each); empty when it is.
    public func failures() -> [String] {
        let (checks, shuttingDown) = state.withLockedValue { ($0.checks, $0.shuttingDown) }
        var failures = shuttingDown ? ["shutdown: draining"] : []
        for (name, check) in checks {
            if let reason = check() { failures.append("\(name): \(reason)") }
        }
        return failures
    }

    /// The checks' names, for `/readyz?verbose`.
    public var checkNames: [String] { state.withLockedValue { $0.checks.map(\.name) } }
}
