import CoreMetrics
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The process's metrics: swift-metrics everywhere in the code, exported in the Prometheus text format on the
/// operations port. Libraries only use swift-metrics; this is the one place that knows about Prometheus.
public enum Telemetry {
    /// Where every metric of this process lives once `bootstrap()` has run.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped = NIOLockedValueBox(false)

    /// Latency buckets from 100 µs to 10 s: Bantin's calls take from tens of microseconds (echo, lookups) to seconds
    /// (bulk ingest), so the default buckets (starting at 5 ms) would put nearly every call in the first one.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Routes swift-metrics into `registry`. Safe to call more than once (the first call wins), so that tests
    /// starting several servers in one process do not trip swift-metrics' bootstrap-once rule.
    public static func bootstrap() {
        bootstrapped.withLockedValue { done in
            guard !done else { return }
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = durationBuckets
            MetricsSystem.bootstrap(factory)
            done = true
        }
    }

    /// The exposition text of every metric, as `/metrics` serves it.
    public static func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// Why a TLS handshake failed, as the label of `bantin_tls_handshake_failures_total`. A closed set, so that a
/// scanner sending garbage cannot create unbounded label values.
enum HandshakeFailure: String {
    /// The peer's certificate did not verify (unknown CA, expired, wrong name).
    case badCertificate = "bad_certificate"
    /// A client connected without a certificate to a server that requires one.
    case noCertificate = "no_certificate"
    /// The bytes were not TLS at all (plain HTTP or Bantin frames to a TLS port).
    case notTLS = "not_tls"
    case timeout
    case peerClosed = "peer_closed"
    case alpn
    case protocolError = "protocol_error"

    func count() {
        Counter(label: "bantin_tls_handshake_failures_total", dimensions: [("reason", rawValue)]).increment()
    }
}
