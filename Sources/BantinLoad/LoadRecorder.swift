import BantinCore
import Foundation
import Histogram
import NIOConcurrencyHelpers

/// Latencies are kept in microseconds, up to a minute (longer ones count as a minute).
let highestLatencyMicros: UInt64 = 60_000_000

func newHistogram(_ digits: SignificantDigits = .three) -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: highestLatencyMicros, numberOfSignificantValueDigits: digits)
}

func micros(_ d: Duration) -> UInt64 {
    min(UInt64(max(0, d.inMicroseconds)), highestLatencyMicros)
}

/// What one second of the measured window saw: calls by the second they were due to be sent
/// (their latencies), completions by the second they finished.
public struct SecondStats: Sendable {
    public var second: Int
    public var intended = 0
    public var completed = 0
    public var errors = 0
    var latency = newHistogram(.two)

    public var p50Millis: Double { latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(50)) / 1000 }
    public var p99Millis: Double { latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(99)) / 1000 }
    public var maxMillis: Double { Double(latency.maxRecorded) / 1000 }
}

/// Collects the outcome of every measured call. Calls due before the end of the warm-up are not
/// recorded. Shared by every calling task; the lock is uncontended when they share one thread.
final class LoadRecorder: Sendable {
    struct State {
        var latency = newHistogram()
        var service = newHistogram()
        var statuses = [Int](repeating: 0, count: StatusCode.allCases.count)
        var errorMessages: [String: Int] = [:]
        var seconds: [SecondStats] = []
        var lastCompletion: ContinuousClock.Instant?
        /// Measured calls that completed before the window closed: the achieved rate's numerator.
        var completedInWindow = 0
    }

    let measureFrom: ContinuousClock.Instant
    /// End of the measured window; nil when the run ends after a number of calls instead.
    let measureUntil: ContinuousClock.Instant?
    private let state = NIOLockedValueBox(State())
    /// Distinct error messages kept; the rest are counted under their status only.
    static let maxErrorMessages = 20

    init(measureFrom: ContinuousClock.Instant, measureUntil: ContinuousClock.Instant?) {
        self.measureFrom = measureFrom
        self.measureUntil = measureUntil
    }

    func record(intended: ContinuousClock.Instant, sent: ContinuousClock.Instant, done: ContinuousClock.Instant,
                status: StatusCode, message: String?) {
        guard intended >= measureFrom else { return }
        let latency = micros(done - intended)
        let service = micros(done - sent)
        let dueSecond = Self.second(of: intended - measureFrom)
        let doneSecond = Self.second(of: done - measureFrom)
        state.withLockedValue { s in
            _ = s.latency.record(latency)
            _ = s.service.record(service)
            s.statuses[Int(status.rawValue)] += 1
            while s.seconds.count <= max(dueSecond, doneSecond) { s.seconds.append(SecondStats(second: s.seconds.count)) }
            s.seconds[dueSecond].intended += 1
            _ = s.seconds[dueSecond].latency.record(latency)
            s.seconds[doneSecond].completed += 1
            if status != .ok {
                s.seconds[doneSecond].errors += 1
                if let message {
                    let key = "\(status): \(message)"
                    if s.errorMessages[key] != nil || s.errorMessages.count < Self.maxErrorMessages { s.errorMessages[key, default: 0] += 1 }
                }
            }
            if s.lastCompletion.map({ done > $0 }) ?? true { s.lastCompletion = done }
            if measureUntil.map({ done < $0 }) ?? true { s.completedInWindow += 1 }
        }
    }

    /// Completed calls, errors and the last full second's p99, for the progress line.
    func progress() -> (completed: Int, errors: Int, lastSecond: SecondStats?) {
        state.withLockedValue { s in
            let completed = s.statuses.reduce(0, +)
            let errors = completed - s.statuses[0]
            let current = Self.second(of: ContinuousClock.now - measureFrom)
            let last = current >= 1 && current - 1 < s.seconds.count ? s.seconds[current - 1] : nil
            return (completed, errors, last)
        }
    }

    var snapshot: State { state.withLockedValue { $0 } }

    static func second(of d: Duration) -> Int { max(0, Int(d.components.seconds)) }
}
