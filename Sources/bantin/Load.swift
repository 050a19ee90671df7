import ArgumentParser
import BantinCore
import BantinLoad
import BantinRPC
import Foundation

struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test any Bantin method over mutual TLS (closed or open loop, SLO exit status, HTML report).",
        discussion: """
        Requests come from a JSON-lines file (--requests; keys "@method" and "@weight" on a line pick
        its method and its share under --order sample), one JSON request (--data), or a template with
        {{variables}} (--template, --var). They are checked against the server's reflection service
        and serialized before the run starts.

        Closed loop (default): --connections × --concurrency calls in flight.
        Open loop: --rate R, or --schedule with step:FROM:TO:BY:EVERY, ramp:FROM:TO:OVER or @FILE
        (lines "DURATION RATE" or "DURATION FROM TO"). Latency is measured from when each call was
        due, so a stalled server shows in the percentiles (no coordinated omission).

        Exit status: 0 when the run met the SLO (or none was given), 2 when it broke it,
        1 when the run could not be made (unreachable target, refused TLS, unknown method, bad file).

        Examples:
          bantin load 127.0.0.1:7403 --method /bantin.query.v1.Query/Search --requests bench/queries.jsonl \\
              --rate 2000 --duration 30s --max-p99 10 --html var/load.html
          bantin load query:7403 --requests mix.jsonl --order sample --find-max --max-p99 10
          bantin load 127.0.0.1:7400 --method /bantin.bench.v1.Echo/Echo --data '{"payload":"YWJj"}' \\
              --connections 4 --concurrency 16
        """)

    @Argument(help: "host:port; a name with several addresses spreads the load over all of them.")
    var target: String

    @Option(help: "Method path, /package.Service/Method (lines may name their own with \"@method\").")
    var method: String?
    @Option(help: "JSON-lines file of requests.")
    var requests: String?
    @Option(help: "Order of the requests file's lines: cycle or sample (weighted by \"@weight\", seeded).")
    var order: RequestMix.Order = .cycle
    @Option(help: "One request as JSON.")
    var data: String?
    @Option(help: "Request template with {{name}} placeholders ({{i}}: the request's index).")
    var template: String?
    @Option(name: .customLong("var"), help: "Template variable: name=a|b|c, name=@file (one value per line) or name=1..100.")
    var variables: [String] = []
    @Option(help: "Requests generated from the template before the run, then cycled.")
    var templateRequests = 1000

    @Option(help: "Connections (one per address of the target, each).")
    var connections = 4
    @Option(help: "Closed loop: calls in flight on each connection.")
    var concurrency = 16
    @Option(help: "Open loop: calls per second.")
    var rate: Double?
    @Option(help: "Open loop: a rate schedule (see above).")
    var schedule: String?
    @Option(help: "Open loop: calls outstanding at most; later ones go out late and count from when they were due.")
    var maxInFlight = 10_000

    @Option(help: "Measured time (10s, 2m, …). Default 10s, or the schedule's length.")
    var duration: String?
    @Option(help: "Measured calls to make instead of a duration.")
    var calls: Int?
    @Option(help: "Load before measuring, not recorded.")
    var warmup = "2s"
    @Option(help: "Deadline of each call.")
    var timeout = "10s"

    @Option(help: "SLO: highest acceptable p99 latency, in milliseconds.")
    var maxP99: Double?
    @Option(help: "SLO: lowest acceptable share of OK calls, 0 to 1.")
    var minSuccessRate: Double?

    @Flag(help: "Search for the highest open-loop rate that meets the SLO (needs --max-p99).")
    var findMax = false
    @Option(help: "--find-max: first rate tried.")
    var startRate: Double = 100
    @Option(help: "--find-max: measured time of each step.")
    var stepDuration = "5s"
    @Option(help: "--find-max: stop when the passing and failing rates are this close (0.05 = 5 %).")
    var precision = 0.05

    @Option(help: "Write the result as JSON to this file (- for standard output).")
    var json: String?
    @Option(help: "Write the per-second series as CSV to this file.")
    var csv: String?
    @Option(help: "Write a self-contained HTML report (SVG plots) to this file.")
    var html: String?
    @Flag(inversion: .prefixedNo, help: "A progress line every second on standard error (default: when it is a terminal).")
    var progress: Bool?
    @Option(help: "Event-loop threads of the client.")
    var threads = 1
    @Option(help: "Seed for sampled orders and template values.")
    var seed: UInt64 = 1

    @OptionGroup var tls: ClientTLSOptions

    func validate() throws {
        let sources = [requests != nil, data != nil, template != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of --requests, --data and --template") }
        if data != nil || template != nil, method == nil { throw ValidationError("--data and --template need --method") }
        if rate != nil, schedule != nil { throw ValidationError("give --rate or --schedule, not both") }
        if findMax, maxP99 == nil { throw ValidationError("--find-max needs --max-p99: the SLO it searches against") }
        if findMax, rate != nil || schedule != nil { throw ValidationError("--find-max chooses the rates itself; drop --rate/--schedule") }
        guard connections > 0, concurrency > 0, maxInFlight > 0, threads > 0 else {
            throw ValidationError("--connections, --concurrency, --max-in-flight and --threads must be positive")
        }
        if let r = minSuccessRate, !(0...1).contains(r) { throw ValidationError("--min-success-rate is a share between 0 and 1") }
    }

    func run() async throws {
        do {
            try await load()
        } catch let error as LoadError {
            FileHandle.standardError.write(Data("bantin load: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func load() async throws {
        let slo = LoadSLO(maxP99Millis: maxP99, minSuccessRate: minSuccessRate)
        let timeoutSeconds = try LoadDuration.parse(timeout)
        var configuration = ClientConfiguration(tls: try tlsProvider(), serverName: tls.serverName)
        configuration.connectTimeout = .seconds(5)
        configuration.logger.logLevel = .critical  // failures are counted and reported, not logged one by one

        let mix = try await prepareRequests(configuration: configuration)
        let runner = try LoadRunner(target: target, mix: mix, connections: connections, configuration: configuration, threads: threads)
        defer { Task { await runner.close() } }
        do {
            try await runner.connect()
        } catch {
            throw LoadError.target("cannot connect to \(target): \(RPCError(from: error).message)")
        }
        let showProgress = progress ?? (isatty(STDERR_FILENO) == 1)

        if findMax {
            let search = FindMax(startRate: startRate, stepSeconds: try LoadDuration.parse(stepDuration),
                                 precision: precision, slo: slo)
            let steps = await search.run(runner, connections: connections, maxInFlight: maxInFlight, timeout: timeoutSeconds) { step in
                let r = step.result
                FileHandle.standardError.write(Data(String(
                    format: "rate %8.0f/s  achieved %8.1f/s  p50 %7.3f ms  p99 %8.3f ms  %@: %@\n",
                    step.rate, r.achievedRate, r.latencyMillis(50), r.latencyMillis(99), step.passed ? "pass" : "FAIL", step.why).utf8))
            }
            guard let best = steps.filter(\.passed).max(by: { $0.rate < $1.rate }) else {
                summary("no rate tried met the SLO (lowest tried: \(LoadReport.fmt(steps.map(\.rate).min() ?? 0, 0))/s)\n")
                try write(steps.last?.result, slo: slo)
                throw ExitCode(2)
            }
            summary("highest rate meeting the SLO: \(LoadReport.fmt(best.rate, 0)) calls/s\n")
            if steps.contains(where: { $0.result.clientSaturated }) {
                summary("note: the client saturated during the search; the limit found may be the client's\n")
            }
            summary(LoadReport.text(best.result, slo: slo))
            try write(best.result, slo: slo)
            return
        }

        let plan = try makePlan(timeout: timeoutSeconds)
        if showProgress {
            FileHandle.standardError.write(Data("\(plan.description); warm-up \(warmup)\n".utf8))
        }
        let result = await runner.run(plan, progress: showProgress ? Self.printProgress : nil)
        summary(LoadReport.text(result, slo: slo))
        try write(result, slo: slo)
        if !slo.violations(of: result).isEmpty { throw ExitCode(2) }
    }

    private func tlsProvider() throws -> TLSContextProvider {
        do {
            return try TLSContextProvider(tls.configuration())
        } catch {
            throw LoadError.target("TLS set-up: \(error) (make certificates with `bantin certs init \(tls.pki)`)")
        }
    }

    private func makePlan(timeout: Double) throws -> LoadPlan {
        let measured = try duration.map(LoadDuration.parse)
        let model: LoadPlan.Model
        if let rate {
            model = .open(try RateSchedule.parse(String(rate)), maxInFlight: maxInFlight)
        } else if let schedule {
            model = .open(try RateSchedule.parse(schedule), maxInFlight: maxInFlight)
        } else {
            model = .closed(inFlight: concurrency)
        }
        let defaultDuration: Double? = if calls != nil { nil } else if case .open(let s, _) = model, !s.isOpenEnded { nil } else { 10 }
        return LoadPlan(model: model, connections: connections, warmup: try LoadDuration.parse(warmup),
                        duration: measured ?? defaultDuration, calls: calls, timeout: timeout, seed: seed)
    }

    /// Asks the target what it serves, then turns the requests into bytes.
    private func prepareRequests(configuration: ClientConfiguration) async throws -> RequestMix {
        let served: [MethodInfo]
        let client = try RPCClient(target: target, configuration: configuration)
        do {
            served = try await client.unary(ReflectionService.listMethods, ListMethodsRequest(),
                                            options: CallOptions(timeout: .seconds(10))).methods
            await client.close()
        } catch {
            await client.close()
            throw LoadError.target("cannot list the methods of \(target): \(RPCError(from: error).message)")
        }
        let preparer = RequestPreparer(served: served, defaultMethod: method)
        if let requests {
            guard let text = try? String(contentsOfFile: requests, encoding: .utf8) else {
                throw LoadError.requests("cannot read \(requests) as UTF-8 text")
            }
            return try RequestMix(try preparer.prepare(jsonLines: text, name: requests), order: order)
        }
        if let data { return try RequestMix([try preparer.prepare(json: data)]) }
        let generator = try RequestTemplate(template: template!, variables: Dictionary(try variables.map(RequestTemplate.variable),
                                                                                            uniquingKeysWith: { _, last in last }))
        return try RequestMix(try preparer.prepare(generated: generator.generate(count: max(1, templateRequests), seed: seed)))
    }

    /// The text summary, on standard error when standard output carries the JSON.
    private func summary(_ text: String) {
        if json == "-" { FileHandle.standardError.write(Data(text.utf8)) } else { print(text, terminator: "") }
    }

    private func write(_ result: LoadResult?, slo: LoadSLO) throws {
        guard let result else { return }
        if let json {
            let text = LoadReport.json(result, slo: slo) + "\n"
            if json == "-" { print(text, terminator: "") } else { try text.write(toFile: json, atomically: true, encoding: .utf8) }
        }
        if let csv { try LoadReport.csv(result).write(toFile: csv, atomically: true, encoding: .utf8) }
        if let html { try LoadHTMLReport.render(result, slo: slo).write(toFile: html, atomically: true, encoding: .utf8) }
    }

    @Sendable static func printProgress(_ p: LoadProgress) {
        var line = String(format: "%4.0fs %@ done %d, errors %d, in flight %d", p.elapsed, p.warmingUp ? "warm-up" : "       ",
                          p.completed, p.errors, p.inFlight)
        if let s = p.lastSecond {
            line += String(format: ", last second %d calls p50 %.2f ms p99 %.2f ms", s.completed, s.p50Millis, s.p99Millis)
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

extension RequestMix.Order: ExpressibleByArgument {}
