import Foundation

/// Searches for the highest constant rate a target sustains within an SLO: doubling from a start
/// rate until a step fails, then bisecting between the last rate that passed and the first that
/// failed until they are within `precision` of each other.
///
/// A step passes when the SLO holds, at least 98 % of the intended calls completed in the window
/// (a target that falls behind fails even if the calls it did answer were fast) and the client
/// was not saturated (a saturated client would be measuring itself).
public struct FindMax: Sendable {
    public struct Step: Sendable {
        public var rate: Double
        public var result: LoadResult
        public var passed: Bool
        public var why: String
    }

    public var startRate: Double
    public var stepSeconds: Double
    public var warmup: Double
    public var precision: Double
    public var maxSteps: Int
    public var slo: LoadSLO

    public init(startRate: Double = 100, stepSeconds: Double = 5, warmup: Double = 1, precision: Double = 0.05,
                maxSteps: Int = 20, slo: LoadSLO) {
        self.startRate = startRate
        self.stepSeconds = stepSeconds
        self.warmup = warmup
        self.precision = precision
        self.maxSteps = maxSteps
        self.slo = slo
    }

    public func judge(_ r: LoadResult) -> (Bool, String) {
        var why = slo.violations(of: r)
        // Behind by more than 2 % of the calls due (and by more than the one or two a window edge cuts off).
        if let due = r.intendedCalls, Double(due - r.completedInWindow) > max(2, 0.02 * Double(due)) {
            why.append(String(format: "completed %.0f calls/s of %.0f intended", r.achievedRate, r.intendedRate ?? 0))
        }
        if r.clientSaturated { why.append("client saturated") }
        return (why.isEmpty, why.isEmpty ? "met" : why.joined(separator: "; "))
    }

    /// Runs the search; `onStep` hears each step as it ends. Returns every step; the best passing
    /// one is the answer.
    public func run(_ runner: LoadRunner, connections: Int, maxInFlight: Int, timeout: Double?,
                    onStep: @Sendable (Step) -> Void) async -> [Step] {
        var steps: [Step] = []
        var good: Double?
        var bad: Double?
        var rate = startRate
        while steps.count < maxSteps {
            let plan = LoadPlan(model: .open(.constant(rate), maxInFlight: maxInFlight), connections: connections,
                                warmup: warmup, duration: stepSeconds, timeout: timeout)
            let result = await runner.run(plan)
            let (passed, why) = judge(result)
            let step = Step(rate: rate, result: result, passed: passed, why: why)
            steps.append(step)
            onStep(step)
            if passed { good = rate } else { bad = rate }
            if result.clientSaturated { break }
            switch (good, bad) {
            case (let g?, nil): rate = g * 2
            case (nil, let b?):
                // Even the start rate failed: halve it, down to 1 call/s.
                if b / 2 < 1 { return steps }
                rate = b / 2
            case (let g?, let b?):
                if (b - g) / g <= precision { return steps }
                rate = ((g + b) / 2).rounded()
            case (nil, nil): return steps
            }
            // Let the target's queues empty before the next step.
            try? await Task.sleep(for: .seconds(1))
        }
        return steps
    }
}
