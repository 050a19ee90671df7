import BantinCore
import BantinRPC
import Foundation
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

/// A counter shared by the calling tasks.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
    @discardableResult func add(_ n: Int) -> Int { value.add(n, ordering: .relaxed).newValue }
    var current: Int { value.load(ordering: .relaxed) }
}

/// How a run drives the target.
public struct LoadPlan: Sendable {
    public enum Model: Sendable {
        /// Each connection keeps `inFlight` calls going: a new one as soon as one returns.
        case closed(inFlight: Int)
        /// Calls are sent when the schedule says, whether earlier ones have returned or not, and
        /// their latency is measured from that intended time (so a stall is not hidden by the
        /// calls it kept from being sent: no coordinated omission). At most `maxInFlight` calls
        /// are outstanding; calls held back by that limit are sent late and measured from when
        /// they were due.
        case open(RateSchedule, maxInFlight: Int)
    }

    public var model: Model
    public var connections: Int
    /// Seconds of load before measuring; those calls are not recorded.
    public var warmup: Double
    /// Measured seconds. Nil: the schedule's length, or until `calls` have been made.
    public var duration: Double?
    /// Measured calls to make. Nil: until the duration is over.
    public var calls: Int?
    /// Deadline for each call, in seconds.
    public var timeout: Double?
    /// Seed for sampled request orders.
    public var seed: UInt64

    public init(model: Model, connections: Int = 4, warmup: Double = 2, duration: Double? = 10, calls: Int? = nil,
                timeout: Double? = 10, seed: UInt64 = 1) {
        self.model = model
        self.connections = connections
        self.warmup = warmup
        self.duration = duration
        self.calls = calls
        self.timeout = timeout
        self.seed = seed
    }

    public var description: String {
        switch model {
        case .closed(let inFlight): "closed loop, \(connections) connection\(connections == 1 ? "" : "s") × \(inFlight) in flight"
        case .open(let schedule, _): "open loop at \(schedule), \(connections) connection\(connections == 1 ? "" : "s")"
        }
    }
}

/// One progress report, once a second.
public struct LoadProgress: Sendable {
    public var elapsed: Double
    public var warmingUp: Bool
    public var completed: Int
    public var errors: Int
    public var inFlight: Int
    public var lastSecond: SecondStats?
}

/// The outcome of a run.
public struct LoadResult: Sendable {
    public var target: String
    public var methods: [String]
    public var plan: String
    public var measuredSeconds: Double
    /// Calls the schedule asked for in the measured window (open loop).
    public var intendedCalls: Int?
    /// Of those, calls never sent because the run ended first: the client could not keep up.
    public var unsentCalls: Int
    /// Latency from the intended send time (open loop) or from the send (closed loop).
    public var latency: Histogram<UInt64>
    /// Time from the actual send to the answer.
    public var service: Histogram<UInt64>
    public var statuses: [(code: StatusCode, count: Int)]
    public var errorMessages: [(message: String, count: Int)]
    /// Measured calls answered (with any status) before the window closed.
    public var completedInWindow: Int
    /// Per second of the measured window.
    public var series: [SecondStats]
    public var clientCPUSeconds: Double
    public var wallSeconds: Double
    public var clientThreads: Int

    public var calls: Int { statuses.reduce(0) { $0 + $1.count } }
    public var ok: Int { statuses.first { $0.code == .ok }?.count ?? 0 }
    public var successRate: Double { calls == 0 ? 0 : Double(ok) / Double(calls) }
    /// Calls answered per second of the window: a client or server that falls behind shows here.
    public var achievedRate: Double { measuredSeconds > 0 ? Double(completedInWindow) / measuredSeconds : 0 }
    public var intendedRate: Double? { intendedCalls.map { measuredSeconds > 0 ? Double($0) / measuredSeconds : 0 } }
    /// Client CPU as a share of what its threads could use.
    public var clientCPUShare: Double { wallSeconds > 0 ? clientCPUSeconds / (wallSeconds * Double(clientThreads)) : 0 }
    /// A client this busy is the bottleneck: its figures say more about it than about the server.
    public var clientSaturated: Bool { clientCPUShare >= 0.9 }

    public func latencyMillis(_ percentile: Double) -> Double {
        latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) / 1000
    }
    public func serviceMillis(_ percentile: Double) -> Double {
        service.totalCount == 0 ? 0 : Double(service.valueAtPercentile(percentile)) / 1000
    }
    public var maxMillis: Double { Double(latency.maxRecorded) / 1000 }
}

/// Runs a plan against a target with one client per connection, all on one event loop: the calling
/// tasks run where their responses arrive, so the client spends its time on calls, not thread hops.
public final class LoadRunner: Sendable {
    public let target: String
    let mix: RequestMix
    let clients: [RPCClient]
    let group: MultiThreadedEventLoopGroup
    let executor: EventLoopTaskExecutor
    let threads: Int

    public init(target: String, mix: RequestMix, connections: Int, configuration: ClientConfiguration, threads: Int = 1) throws {
        var configuration = configuration
        configuration.interceptors = []  // the runner records every call itself
        configuration.maxAttempts = 1  // a load test reports failures, it does not retry them away
        self.target = target
        self.mix = mix
        self.threads = threads
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.group = group
        executor = EventLoopTaskExecutor(group.next())
        clients = try (0..<max(1, connections)).map { _ in try RPCClient(target: target, configuration: configuration, group: group) }
    }

    /// Opens every connection, so the run measures calls rather than handshakes.
    public func connect(timeout: Double = 10) async throws {
        let probe = ByteBuffer()
        for client in clients {
            do {
                _ = try await client.unary(path: HealthService.check.path, request: probe, idempotent: false,
                                           options: CallOptions(timeout: .milliseconds(Int(timeout * 1000))))
            } catch let error as RPCError where error.code != .unavailable && error.code != .deadlineExceeded {
                // Connected; the health answer itself does not matter here.
            }
        }
    }

    public func close() async {
        for client in clients { await client.close() }
        try? await group.shutdownGracefully()
    }

    public func run(_ plan: LoadPlan, progress: (@Sendable (LoadProgress) -> Void)? = nil) async -> LoadResult {
        let start = ContinuousClock.now
        let measureFrom = start + .milliseconds(Int(plan.warmup * 1000))
        let inFlight = Counter()
        let cpuBefore = Self.processCPUSeconds()
        let options = CallOptions(timeout: plan.timeout.map { .milliseconds(Int($0 * 1000)) })

        var intendedCalls: Int?
        var unsent = 0
        // The measured window: the duration, or the schedule's length; open-ended with --calls.
        var length: Double? = plan.duration
        if case .open(let schedule, _) = plan.model {
            length = schedule.isOpenEnded ? plan.duration : min(schedule.seconds, plan.duration ?? .infinity)
            if length == nil, plan.calls == nil { length = 10 }
        }
        let end = length.map { measureFrom + .milliseconds(Int($0 * 1000)) }
        let recorder = LoadRecorder(measureFrom: measureFrom, measureUntil: end)
        let reporter = progress.map { report in
            Task {
                var tick = 1
                while !Task.isCancelled {
                    try? await Task.sleep(until: start + .seconds(tick), clock: .continuous)
                    if Task.isCancelled { break }
                    let (completed, errors, last) = recorder.progress()
                    report(LoadProgress(elapsed: Double(tick), warmingUp: ContinuousClock.now < measureFrom, completed: completed,
                                        errors: errors, inFlight: inFlight.current, lastSecond: last))
                    tick += 1
                }
            }
        }

        switch plan.model {
        case .closed(let perConnection):
            await runClosed(perConnection: perConnection, end: end, calls: plan.calls, measureFrom: measureFrom,
                            options: options, seed: plan.seed, recorder: recorder, inFlight: inFlight)
        case .open(let schedule, let maxInFlight):
            (intendedCalls, unsent) = await runOpen(schedule: schedule, warmup: plan.warmup, start: start, measureFrom: measureFrom,
                                                    length: length ?? .infinity, calls: plan.calls, maxInFlight: maxInFlight,
                                                    options: options, seed: plan.seed, recorder: recorder, inFlight: inFlight)
        }
        reporter?.cancel()
        let finished = ContinuousClock.now
        let cpuAfter = Self.processCPUSeconds()
        let s = recorder.snapshot
        let measured: Double = if let end {
            (end - measureFrom).inSeconds
        } else {
            ((s.lastCompletion ?? finished) - measureFrom).inSeconds
        }
        let statuses = StatusCode.allCases.compactMap { code in s.statuses[Int(code.rawValue)] > 0 ? (code, s.statuses[Int(code.rawValue)]) : nil }
        return LoadResult(
            target: target, methods: mix.methods, plan: plan.description, measuredSeconds: measured,
            intendedCalls: intendedCalls, unsentCalls: unsent,
            latency: s.latency, service: s.service, statuses: statuses,
            errorMessages: s.errorMessages.sorted { $0.value > $1.value }.map { ($0.key, $0.value) },
            completedInWindow: s.completedInWindow,
            series: Array(s.seconds.prefix(Int(measured.rounded(.up)))), clientCPUSeconds: cpuAfter - cpuBefore, wallSeconds: (finished - start).inSeconds,
            clientThreads: threads)
    }

    // MARK: closed loop

    private func runClosed(perConnection: Int, end: ContinuousClock.Instant?, calls: Int?, measureFrom: ContinuousClock.Instant,
                           options: CallOptions, seed: UInt64, recorder: LoadRecorder, inFlight: Counter) async {
        let taken = Counter()  // measured calls started, against `calls`
        let mix = mix
        await withDiscardingTaskGroup { group in
            for (c, client) in clients.enumerated() {
                for w in 0..<max(1, perConnection) {
                    group.addTask(executorPreference: executor) {
                        var random = SplitMix64(seed: seed &+ UInt64(c * 1_000_003 + w))
                        var index = c * perConnection + w
                        let stride = self.clients.count * perConnection
                        while true {
                            let sent = ContinuousClock.now
                            if let end, sent >= end { break }
                            if sent >= measureFrom, let calls {
                                if taken.add(1) > calls { break }
                            }
                            let request = mix.request(index, random: &random)
                            index += stride
                            inFlight.add(1)
                            let (status, message) = await Self.perform(request, on: client, options: options)
                            inFlight.add(-1)
                            recorder.record(intended: sent, sent: sent, done: .now, status: status, message: message)
                        }
                    }
                }
            }
        }
    }

    // MARK: open loop

    /// Sends each call when it is due. Returns the calls due in the measured window and those of
    /// them never sent because the run ended while the client was behind.
    private func runOpen(schedule: RateSchedule, warmup: Double, start: ContinuousClock.Instant, measureFrom: ContinuousClock.Instant,
                         length: Double, calls: Int?, maxInFlight: Int, options: CallOptions, seed: UInt64,
                         recorder: LoadRecorder, inFlight: Counter) async -> (Int, Int) {
        let warmupCalls = schedule.initialRate > 0 ? Int(warmup * schedule.initialRate) : 0
        let endOffset = warmup + length
        let mix = mix
        let clients = clients
        // The dispatcher runs on the same loop as the calls: sending is cheap, and nothing waits
        // for a thread to wake up.
        return await Task(executorPreference: executor) { () -> (Int, Int) in
            var random = SplitMix64(seed: seed)
            var index = 0
            var measuredDue = 0
            var unsent = 0
            await withDiscardingTaskGroup { group in
                while true {
                    // When the index-th call is due, in seconds from the start.
                    let offset: Double? = if index < warmupCalls {
                        Double(index) / schedule.initialRate
                    } else {
                        schedule.time(ofCall: index - warmupCalls).map { warmup + $0 }
                    }
                    guard let offset, offset < endOffset else { break }
                    if index >= warmupCalls, let calls, measuredDue >= calls { break }
                    let due = start + .nanoseconds(Int64(offset * 1e9))
                    var now = ContinuousClock.now
                    if due > now {
                        try? await Task.sleep(until: due, tolerance: .microseconds(50), clock: .continuous)
                        now = ContinuousClock.now
                    }
                    if inFlight.current >= maxInFlight {
                        // Held back: it goes out late, and its latency counts from when it was due.
                        if length.isFinite, now >= measureFrom + .milliseconds(Int(length * 1000)) {
                            if index >= warmupCalls { unsent += 1; measuredDue += 1 }
                            index += 1
                            continue
                        }
                        try? await Task.sleep(for: .microseconds(200))
                        continue
                    }
                    let request = mix.request(index, random: &random)
                    let client = clients[index % clients.count]
                    if index >= warmupCalls { measuredDue += 1 }
                    index += 1
                    inFlight.add(1)
                    group.addTask(executorPreference: self.executor) {
                        let sent = ContinuousClock.now
                        let (status, message) = await Self.perform(request, on: client, options: options)
                        inFlight.add(-1)
                        recorder.record(intended: due, sent: sent, done: .now, status: status, message: message)
                    }
                }
            }
            return (measuredDue, unsent)
        }.value
    }

    static func perform(_ request: PreparedRequest, on client: RPCClient, options: CallOptions) async -> (StatusCode, String?) {
        do {
            if request.method.serverStreaming {
                try await client.serverStreaming(path: request.method.path, request: request.body, options: options) { _ in }
            } else {
                _ = try await client.unary(path: request.method.path, request: request.body, idempotent: false, options: options)
            }
            return (.ok, nil)
        } catch {
            let failure = RPCError(from: error)
            return (failure.code, failure.message)
        }
    }

    /// User plus system CPU time of this process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
