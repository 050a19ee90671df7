import Foundation

/// The intended send rate of an open-loop run over time: a list of segments, each holding a rate or
/// ramping linearly from one rate to another.
///
/// Written as text (`--schedule`):
/// - `1000`: 1,000 calls/s for the whole run;
/// - `step:100:1000:100:5s`: 100, 200, … 1,000 calls/s, each for 5 s;
/// - `ramp:100:1000:30s`: linearly from 100 to 1,000 calls/s over 30 s;
/// - `@FILE`: one segment per line, `DURATION RATE` or `DURATION FROM TO` (a ramp); `#` comments.
public struct RateSchedule: Sendable, Equatable, CustomStringConvertible {
    public struct Segment: Sendable, Equatable {
        public var seconds: Double
        public var from: Double
        public var to: Double
    }

    public let segments: [Segment]
    /// True for a constant rate with no length of its own (the run's duration decides).
    public let isOpenEnded: Bool

    public static func constant(_ rate: Double) -> RateSchedule {
        RateSchedule(segments: [Segment(seconds: .infinity, from: rate, to: rate)], isOpenEnded: true)
    }

    public init(segments: [Segment]) throws(LoadError) {
        guard !segments.isEmpty else { throw LoadError.schedule("no segments") }
        for s in segments {
            guard s.seconds > 0, s.from >= 0, s.to >= 0, s.from.isFinite, s.to.isFinite else {
                throw LoadError.schedule("a segment needs a positive duration and rates ≥ 0")
            }
        }
        guard segments.contains(where: { $0.from > 0 || $0.to > 0 }) else { throw LoadError.schedule("every rate is 0") }
        self.init(segments: segments, isOpenEnded: false)
    }

    private init(segments: [Segment], isOpenEnded: Bool) {
        self.segments = segments
        self.isOpenEnded = isOpenEnded
    }

    /// Total length in seconds (infinite for an open-ended constant rate).
    public var seconds: Double { segments.reduce(0) { $0 + $1.seconds } }

    /// The rate at the start, used for the warm-up.
    public var initialRate: Double { segments[0].from }

    public var description: String {
        if isOpenEnded { return "\(Self.format(segments[0].from))/s" }
        return segments.map { s in
            s.from == s.to ? "\(Self.format(s.from))/s for \(Self.format(s.seconds)) s"
                : "\(Self.format(s.from))→\(Self.format(s.to))/s over \(Self.format(s.seconds)) s"
        }.joined(separator: ", ")
    }

    /// Calls per second at `t` seconds from the start; 0 past the end.
    public func rate(at t: Double) -> Double {
        var start = 0.0
        for s in segments {
            if t < start + s.seconds {
                return s.from + (s.to - s.from) * (t - start) / s.seconds
            }
            start += s.seconds
        }
        return 0
    }

    /// When the `index`-th call (from 0) is due, in seconds from the start: the time at which the
    /// number of calls the schedule asks for so far, ∫ rate dt, reaches `index`. Nil past the end.
    /// Exact for ramps (the integral of a linear rate is quadratic), so a ramp from 0 works.
    public func time(ofCall index: Int) -> Double? {
        let k = Double(index)
        var start = 0.0, before = 0.0
        for s in segments {
            let during = s.seconds.isInfinite ? Double.infinity : (s.from + s.to) / 2 * s.seconds
            if k < before + during {
                let need = k - before
                if need <= 0 { return start }
                if s.from == s.to { return start + need / s.from }
                // need = from·x + (to − from)/(2·seconds)·x², solved in the cancellation-free form.
                let a = (s.to - s.from) / (2 * s.seconds)
                let x = 2 * need / (s.from + (s.from * s.from + 4 * a * need).squareRoot())
                return start + x
            }
            start += s.seconds
            before += during
        }
        return nil
    }

    public static func parse(_ text: String) throws(LoadError) -> RateSchedule {
        let spec = text.trimmingCharacters(in: .whitespaces)
        if let rate = Double(spec) {
            guard rate > 0, rate.isFinite else { throw LoadError.schedule("rate must be > 0, not \(spec)") }
            return .constant(rate)
        }
        let parts = spec.split(separator: ":").map(String.init)
        switch parts.first {
        case "step":
            guard parts.count == 5, let from = Double(parts[1]), let to = Double(parts[2]), let by = Double(parts[3]), by > 0,
                  let every = try? LoadDuration.parse(parts[4]), from > 0, to >= from else {
                throw LoadError.schedule("\(spec): expected step:FROM:TO:BY:EVERY, as step:100:1000:100:5s")
            }
            var segments: [Segment] = []
            var rate = from
            while rate <= to + 1e-9 {
                segments.append(Segment(seconds: every, from: rate, to: rate))
                rate += by
            }
            return try RateSchedule(segments: segments)
        case "ramp":
            guard parts.count == 4, let from = Double(parts[1]), let to = Double(parts[2]),
                  let over = try? LoadDuration.parse(parts[3]) else {
                throw LoadError.schedule("\(spec): expected ramp:FROM:TO:OVER, as ramp:100:1000:30s")
            }
            return try RateSchedule(segments: [Segment(seconds: over, from: from, to: to)])
        default:
            if spec.hasPrefix("@") {
                let path = String(spec.dropFirst())
                guard let file = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw LoadError.schedule("cannot read \(path)")
                }
                return try parse(lines: file, name: path)
            }
            throw LoadError.schedule("\(spec) is not a rate, step:…, ramp:… or @FILE (see `bantin load --help`)")
        }
    }

    /// `DURATION RATE` or `DURATION FROM TO` per line.
    public static func parse(lines: String, name: String) throws(LoadError) -> RateSchedule {
        var segments: [Segment] = []
        for (n, line) in lines.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.isEmpty { continue }
            guard fields.count == 2 || fields.count == 3, let seconds = try? LoadDuration.parse(fields[0]),
                  let from = Double(fields[1]), let to = fields.count == 3 ? Double(fields[2]) : from else {
                throw LoadError.schedule("\(name):\(n + 1): expected DURATION RATE or DURATION FROM TO, as `10s 500`")
            }
            segments.append(Segment(seconds: seconds, from: from, to: to))
        }
        return try RateSchedule(segments: segments)
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(format: "%.2f", x)
    }
}

/// Durations on the command line: "10s", "500ms", "2m", "1.5" (seconds).
public enum LoadDuration {
    public static func parse(_ text: String) throws(LoadError) -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite { return value * scale }
        }
        if let value = Double(text), value >= 0, value.isFinite { return value }
        throw LoadError.schedule("\(text) is not a duration (as 10s, 500ms, 2m)")
    }
}
