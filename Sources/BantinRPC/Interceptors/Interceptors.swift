import BantinCore
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Observes every call a server handles. Called on the connection's event loop, so keep it cheap.
public protocol ServerInterceptor: Sendable {
    func callStarted(_ context: ServerContext)
    func callFinished(_ context: ServerContext, code: StatusCode, message: String, duration: TimeAmount)
}

/// Observes every call a client makes, and may add metadata before it is sent.
public protocol ClientInterceptor: Sendable {
    func prepare(method: String, metadata: inout Metadata)
    func callFinished(method: String, code: StatusCode, message: String, duration: TimeAmount)
}

/// Logs each finished call with its request id: failures at `notice`, the rest at `debug`.
public struct ServerLoggingInterceptor: ServerInterceptor {
    public init() {}
    public func callStarted(_ context: ServerContext) {}
    public func callFinished(_ context: ServerContext, code: StatusCode, message: String, duration: TimeAmount) {
        let level: Logger.Level = code == .ok ? .debug : .notice
        guard context.connectionLogger.logLevel <= level else { return }
        context.logger.log(level: level, "call finished", metadata: [
            "code": "\(code)", "duration-us": "\(duration.nanoseconds / 1000)",
            "message": "\(message)", "peer-cn": "\(context.peer?.commonName ?? "-")",
        ])
    }
}

/// Gives every outbound call an x-request-id (inherited from the server call being handled,
/// when there is one) and logs failures.
public struct ClientLoggingInterceptor: ClientInterceptor {
    let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public func prepare(method: String, metadata: inout Metadata) {
        if metadata["x-request-id"] == nil {
            metadata.add("x-request-id", RequestID.current ?? RequestIDs.make())
        }
    }

    public func callFinished(method: String, code: StatusCode, message: String, duration: TimeAmount) {
        guard code != .ok else { return }
        logger.notice("call failed", metadata: ["method": "\(method)", "code": "\(code)", "message": "\(message)"])
    }
}


/// bantin_rpc_{server,client}_calls_total{method,code}, bantin_rpc_{server,client}_call_duration_seconds{method} and,
/// on servers, bantin_rpc_server_calls_in_flight.
/// Metric objects are made once per (method, code) and cached: the hot path only increments.
public final class MetricsInterceptor: ServerInterceptor, ClientInterceptor, @unchecked Sendable {
    private let side: String
    private let lock = NIOLock()
    private var counters: [Key: Counter] = [:]

    private struct Key: Hashable {
        let method: String
        let code: StatusCode
    }
    private var timers: [String: Metrics.Timer] = [:]

    private let inFlight: Meter?

    public init(side: String) {
        self.side = side
        self.inFlight = side == "server" ? Meter(label: "bantin_rpc_server_calls_in_flight") : nil
    }

    public func callStarted(_ context: ServerContext) { inFlight?.increment() }
    public func prepare(method: String, metadata: inout Metadata) {}

    public func callFinished(_ context: ServerContext, code: StatusCode, message: String, duration: TimeAmount) {
        inFlight?.decrement()
        record(method: context.method, code: code, duration: duration)
    }

    public func callFinished(method: String, code: StatusCode, message: String, duration: TimeAmount) {
        record(method: method, code: code, duration: duration)
    }

    private func record(method: String, code: StatusCode, duration: TimeAmount) {
        let (counter, timer) = lock.withLock { () -> (Counter, Metrics.Timer) in
            let key = Key(method: method, code: code)
            let counter = counters[key] ?? {
                let c = Counter(label: "bantin_rpc_\(side)_calls_total", dimensions: [("method", method), ("code", code.description)])
                counters[key] = c
                return c
            }()
            let timer = timers[method] ?? {
                let t = Metrics.Timer(label: "bantin_rpc_\(side)_call_duration_seconds", dimensions: [("method", method)],
                                      preferredDisplayUnit: .seconds)
                timers[method] = t
                return t
            }()
            return (counter, timer)
        }
        counter.increment()
        timer.recordNanoseconds(duration.nanoseconds)
    }
}
