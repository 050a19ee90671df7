import BantinCore
import Foundation

/// Limits a run must stay within (`--max-p99`, `--min-success-rate`).
public struct LoadSLO: Sendable {
    public var maxP99Millis: Double?
    public var minSuccessRate: Double?

    public init(maxP99Millis: Double? = nil, minSuccessRate: Double? = nil) {
        self.maxP99Millis = maxP99Millis
        self.minSuccessRate = minSuccessRate
    }

    public var isEmpty: Bool { maxP99Millis == nil && minSuccessRate == nil }

    /// What the run broke, one line each; empty when it met every limit.
    public func violations(of result: LoadResult) -> [String] {
        var broken: [String] = []
        if result.calls == 0 { broken.append("no call completed in the measured window") }
        if let max = maxP99Millis, result.latencyMillis(99) > max {
            broken.append(String(format: "p99 %.3f ms is above the limit of %.3f ms", result.latencyMillis(99), max))
        }
        if let min = minSuccessRate, result.successRate < min {
            broken.append(String(format: "success rate %.4f is below the limit of %.4f", result.successRate, min))
        }
        return broken
    }
}

/// The percentiles every report shows.
let reportedPercentiles: [(label: String, value: Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)]

public enum LoadReport {
    // MARK: text

    public static func text(_ r: LoadResult, slo: LoadSLO) -> String {
        var out = "target \(r.target), \(r.methods.joined(separator: ", "))\n"
        out += "\(r.plan); measured \(fmt(r.measuredSeconds, 1)) s\n"
        var rate = "calls \(r.calls): \(r.ok) OK, \(r.calls - r.ok) failed; \(fmt(r.achievedRate, 1)) calls/s achieved"
        if let intended = r.intendedRate { rate += " of \(fmt(intended, 1)) intended" }
        out += rate + "\n"
        if r.unsentCalls > 0 { out += "NOT SENT: \(r.unsentCalls) calls were due but the run ended before the client could send them\n" }
        out += "latency ms " + reportedPercentiles.map { "\($0.label) \(fmt(r.latencyMillis($0.value), 3))" }.joined(separator: "  ")
            + "  max \(fmt(r.maxMillis, 3))  mean \(fmt(r.latency.mean / 1000, 3))\n"
        if r.intendedCalls != nil {
            out += "service ms " + reportedPercentiles.map { "\($0.label) \(fmt(r.serviceMillis($0.value), 3))" }.joined(separator: "  ")
                + "   (from the actual send; latency counts from when the call was due)\n"
        }
        out += "statuses " + r.statuses.map { "\($0.code) \($0.count)" }.joined(separator: ", ") + "\n"
        for e in r.errorMessages.prefix(5) { out += "  \(e.count) × \(e.message)\n" }
        out += "client CPU \(fmt(r.clientCPUShare * 100, 0)) % of \(r.clientThreads) thread\(r.clientThreads == 1 ? "" : "s")"
        out += r.clientSaturated ? " — SATURATED: the client limited this run; its figures understate the server\n" : "\n"
        if !slo.isEmpty {
            let broken = slo.violations(of: r)
            out += broken.isEmpty ? "SLO met\n" : broken.map { "SLO BROKEN: \($0)\n" }.joined()
        }
        return out
    }

    // MARK: JSON

    public static func json(_ r: LoadResult, slo: LoadSLO) -> String {
        func percentiles(_ f: (Double) -> Double, max: Double) -> String {
            "{" + reportedPercentiles.map { "\"\($0.label.replacingOccurrences(of: ".", with: ""))\":\(num(f($0.value)))" }.joined(separator: ",")
                + ",\"max\":\(num(max))}"
        }
        let statuses = r.statuses.map { "\"\($0.code)\":\($0.count)" }.joined(separator: ",")
        let errors = r.errorMessages.map { "{\"message\":\(JSONMessageCodec.quoted($0.message)),\"count\":\($0.count)}" }.joined(separator: ",")
        let series = r.series.map {
            "{\"second\":\($0.second),\"intended\":\($0.intended),\"completed\":\($0.completed),\"errors\":\($0.errors),\"p50_ms\":\(num($0.p50Millis)),\"p99_ms\":\(num($0.p99Millis)),\"max_ms\":\(num($0.maxMillis))}"
        }.joined(separator: ",")
        let broken = slo.violations(of: r).map(JSONMessageCodec.quoted).joined(separator: ",")
        var fields = [
            "\"target\":\(JSONMessageCodec.quoted(r.target))",
            "\"methods\":[\(r.methods.map(JSONMessageCodec.quoted).joined(separator: ","))]",
            "\"plan\":\(JSONMessageCodec.quoted(r.plan))",
            "\"measured_s\":\(num(r.measuredSeconds))",
            "\"calls\":\(r.calls)", "\"ok\":\(r.ok)", "\"success_rate\":\(num(r.successRate))",
            "\"calls_per_s\":\(num(r.achievedRate))",
        ]
        if let intended = r.intendedRate { fields.append("\"intended_calls_per_s\":\(num(intended))") }
        fields += [
            "\"unsent\":\(r.unsentCalls)",
            "\"latency_ms\":\(percentiles(r.latencyMillis, max: r.maxMillis))",
            "\"service_ms\":\(percentiles(r.serviceMillis, max: Double(r.service.maxRecorded) / 1000))",
            "\"statuses\":{\(statuses)}", "\"errors\":[\(errors)]",
            "\"client_cpu\":{\"share\":\(num(r.clientCPUShare)),\"threads\":\(r.clientThreads),\"saturated\":\(r.clientSaturated)}",
        ]
        if !slo.isEmpty {
            var limits: [String] = []
            if let p = slo.maxP99Millis { limits.append("\"max_p99_ms\":\(num(p))") }
            if let s = slo.minSuccessRate { limits.append("\"min_success_rate\":\(num(s))") }
            fields.append("\"slo\":{\(limits.joined(separator: ",")),\"met\":\(broken.isEmpty),\"broken\":[\(broken)]}")
        }
        fields.append("\"series\":[\(series)]")
        return "{" + fields.joined(separator: ",") + "}"
    }

    // MARK: CSV

    /// The per-second time series.
    public static func csv(_ r: LoadResult) -> String {
        var out = "second,intended,completed,errors,p50_ms,p99_ms,max_ms\n"
        for s in r.series {
            out += "\(s.second),\(s.intended),\(s.completed),\(s.errors),\(num(s.p50Millis)),\(num(s.p99Millis)),\(num(s.maxMillis))\n"
        }
        return out
    }

    // MARK: helpers

    public static func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

    /// A JSON number: finite, without needless digits.
    static func num(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return String(format: "%.6g", x)
    }
}
