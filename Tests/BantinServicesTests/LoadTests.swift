import BantinCore
import BantinRPC
import BantinTesting
import Foundation
import NIOCore
import NIOPosix
import Testing

/// `bantin load` as a child process against a real query service (child process, mutual TLS)
/// holding the five seeds.
@Suite(.serialized) struct LoadTests {
    static let search = "/bantin.query.v1.Query/Search"

    /// A query service that has indexed the seeds, and a request mix for it.
    struct Target {
        let services: ServiceProcesses
        let address: String
        let mix: String

        static func start() async throws -> Target {
            let services = try ServiceProcesses()
            for name in ["extract", "ingest", "query"] { try services.start(name) }
            let ingest = try services.client("ingest")
            let query = try services.client("query")
            let seeds = try ServiceProcesses.seeds()
            try await services.eventually("ingest accepts") {
                _ = try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seeds[0]))
                return true
            }
            for seed in seeds.dropFirst() { _ = try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seed)) }
            try await services.eventually("query holds the seeds") {
                try await query.unary(QueryAPI.stats, StatsRequest()).articles == 5
            }
            await ingest.close()
            await query.close()
            let mix = services.dataDirectory + "/mix.jsonl"
            try """
            # single word, phrase, AND, diacritic-free, and a Stats call
            {"query": "Tỉnh ủy"}
            {"query": "\\"thông tin đối ngoại\\""}
            {"query": "hội nghị Bắc Kạn", "limit": 5}
            {"query": "tap chi cong san"}
            {"@method": "/bantin.query.v1.Query/Stats", "@weight": 0.5}
            """.write(toFile: mix, atomically: true, encoding: .utf8)
            return Target(services: services, address: "127.0.0.1:\(services.port("query"))", mix: mix)
        }

        func stop() {
            for name in ["query", "ingest", "extract"] { services.stop(name) }
        }

        /// `bantin load` against this target with the test PKI.
        func load(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> BantinCommand.Result {
            try await BantinCommand.run(["load", address, "--pki", services.pki.directory] + arguments, timeout: timeout)
        }
    }

    @Test func openLoopHoldsItsRateAndTheSLODecidesTheExitStatus() async throws {
        let target = try await Target.start()
        defer { target.stop() }
        let run = try await target.load(["--method", Self.search, "--requests", target.mix, "--order", "sample",
                                         "--rate", "100", "--duration", "10s", "--warmup", "1s", "--max-p99", "1000", "--json", "-"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try run.json()
        let achieved = try #require(result["calls_per_s"] as? Double)
        #expect(abs(achieved - 100) / 100 <= 0.02, "achieved \(achieved) calls/s of 100")
        #expect((result["intended_calls_per_s"] as? Double).map { abs($0 - 100) < 1 } == true)
        #expect((result["statuses"] as? [String: Any])?["OK"] as? Int == result["calls"] as? Int, "\(result["errors"] ?? "")")
        #expect((result["series"] as? [Any])?.count == 10)

        // The same load against an SLO it cannot meet exits 2 and says why.
        let strict = try await target.load(["--method", Self.search, "--requests", target.mix, "--rate", "100",
                                            "--duration", "1s", "--warmup", "0s", "--max-p99", "0.001"])
        #expect(strict.status == 2)
        #expect(strict.stdout.contains("SLO BROKEN: p99"))

        // Every call fails (no such article): the success-rate SLO is broken.
        let failing = try await target.load(["--method", "/bantin.query.v1.Query/GetArticle", "--data", #"{"articleId": "nope"}"#,
                                             "--calls", "50", "--warmup", "0s", "--min-success-rate", "0.99"])
        #expect(failing.status == 2)
        #expect(failing.stdout.contains("NOT_FOUND 50"))
        #expect(failing.stdout.contains("SLO BROKEN: success rate 0.0000"))
    }

    /// Coordinated omission: calls due while the server is stopped count from when they were due.
    @Test func aStalledServerShowsInTheTailLatency() async throws {
        let target = try await Target.start()
        defer { target.stop() }
        let pid = try #require(target.services.pid("query"))
        async let run = target.load(["--method", Self.search, "--requests", target.mix, "--rate", "100",
                                     "--duration", "4s", "--warmup", "500ms", "--json", "-"])
        try await Task.sleep(for: .milliseconds(2500))
        kill(pid, SIGSTOP)
        try await Task.sleep(for: .milliseconds(200))
        kill(pid, SIGCONT)
        let result = try await run.json()
        let latency = try #require(result["latency_ms"] as? [String: Any])
        let p99 = try #require(latency["p99"] as? Double)
        let p50 = try #require(latency["p50"] as? Double)
        #expect(p99 >= 150, "a 200 ms stall should put p99 above 150 ms, got \(p99)")
        #expect(p50 < 50, "most calls were not due during the stall; p50 \(p50)")
    }

    @Test func badTargetsMethodsAndFilesFailFastWithAClearMessage() async throws {
        let target = try await Target.start()
        defer { target.stop() }
        let request = ["--method", Self.search, "--data", #"{"query": "a"}"#, "--duration", "1s"]

        // A server whose certificate the client's CA did not sign.
        let stranger = try TestPKI()
        let refused = try await BantinCommand.run(["load", target.address, "--pki", stranger.directory] + request, timeout: .seconds(30))
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("bantin load: target: cannot list the methods of \(target.address)"))
        #expect(refused.stderr.lowercased().contains("tls"))

        // A port that speaks plain HTTP, not TLS.
        let web = try await PlaintextWebServer.start()
        let plaintext = try await BantinCommand.run(["load", "127.0.0.1:\(web.port)", "--pki", target.services.pki.directory] + request,
                                                    timeout: .seconds(30))
        await web.stop()
        #expect(plaintext.status == 1)
        #expect(plaintext.stderr.contains("cannot list the methods of 127.0.0.1:\(web.port)"))
        #expect(plaintext.stderr.lowercased().contains("tls"), "\(plaintext.stderr)")

        let unknown = try await target.load(["--method", "/bantin.query.v1.Query/Serch", "--data", "{}", "--duration", "1s"], timeout: .seconds(30))
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("does not serve /bantin.query.v1.Query/Serch"))

        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let unreachable = try await BantinCommand.run(["load", "127.0.0.1:1", "--pki", target.services.pki.directory] + request,
                                                      timeout: .seconds(30))
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot list the methods of 127.0.0.1:1"))

        let malformed = target.services.dataDirectory + "/bad.jsonl"
        try "{\"query\": \"ok\"}\n{\"query\": \"missing brace\"\n".write(toFile: malformed, atomically: true, encoding: .utf8)
        let bad = try await target.load(["--method", Self.search, "--requests", malformed, "--duration", "1s"], timeout: .seconds(30))
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("bad.jsonl:2: "))

        let wrongField = target.services.dataDirectory + "/field.jsonl"
        try "{\"qery\": \"typo\"}\n".write(toFile: wrongField, atomically: true, encoding: .utf8)
        let typo = try await target.load(["--method", Self.search, "--requests", wrongField, "--duration", "1s"], timeout: .seconds(30))
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("field.jsonl:1: ") && typo.stderr.contains("unknown field 'qery'"))
    }

    @Test(.enabled(if: Chromium.path != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs chromium-headless-shell (make test installs it)"))
    func theHTMLReportRendersItsPlotsInAHeadlessBrowser() async throws {
        let target = try await Target.start()
        defer { target.stop() }
        let report = target.services.dataDirectory + "/report.html"
        let csv = target.services.dataDirectory + "/report.csv"
        let run = try await target.load(["--method", Self.search, "--requests", target.mix, "--rate", "200", "--duration", "3s",
                                         "--warmup", "500ms", "--html", report, "--csv", csv])
        #expect(run.status == 0, "\(run.stderr)")
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(!html.contains("<script"), "the report itself has no scripts")
        #expect(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count == 4)  // header + 3 seconds

        // The browser lays the page out; a probe added to a copy reads back what it drew.
        let probe = """
        <script>
        document.body.setAttribute('data-probe', [...document.querySelectorAll('svg')].map(svg => {
          const box = svg.getBoundingClientRect();
          const lines = [...svg.querySelectorAll('polyline.series')].map(p => {
            const b = p.getBBox();
            return p.dataset.series + ':' + Math.round(b.width) + ':' + Math.round(b.height) + ':' + p.points.numberOfItems;
          });
          return Math.round(box.width) + 'x' + Math.round(box.height) + '=' + lines.join(',');
        }).join(';'));
        </script>
        """
        let probed = target.services.dataDirectory + "/probed.html"
        try html.replacingOccurrences(of: "</body>", with: probe + "</body>").write(toFile: probed, atomically: true, encoding: .utf8)
        let chromium = try #require(Chromium.path, "chromium-headless-shell is not installed")
        let dom = try await BantinCommand.run(["--no-sandbox", "--disable-gpu", "--headless", "--dump-dom", "file://" + probed],
                                              executable: chromium, timeout: .seconds(60))
        #expect(dom.status == 0, "\(dom.stderr)")
        let attribute = try #require(dom.stdout.firstMatch(of: /data-probe="([^"]*)"/)?.1, "the probe did not run: \(dom.stdout.prefix(300))")
        let plots = attribute.split(separator: ";")
        #expect(plots.count == 3, "three plots: \(attribute)")
        for plot in plots {
            #expect(plot.hasPrefix("900x300="), "\(plot)")
            let lines = plot.split(separator: "=")[1].split(separator: ",").map { $0.split(separator: ":") }
            #expect(lines.count >= 2, "\(plot)")
            // Every series was drawn across the plot with several points.
            for line in lines {
                #expect(Int(line[1])! > 500 && Int(line[3])! >= 3, "\(line)")
            }
        }
    }
}

/// Answers anything with an HTTP 400 and closes: a target that does not speak TLS.
struct PlaintextWebServer {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    let port: Int

    final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // The future completes on the channel's loop, where the context may be used.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")))
                .whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    static func start() async throws -> PlaintextWebServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer()) } }
            .bind(host: "127.0.0.1", port: 0).get()
        return PlaintextWebServer(group: group, channel: channel, port: channel.localAddress!.port!)
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

enum Chromium {
    static let path: String? = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
}

/// Runs the `bantin` executable (or another program) as a child process with a time limit, its
/// output captured in files (a pipe left unread could stall it).
enum BantinCommand {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        func json() throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
            return try #require(object as? [String: Any], "not a JSON object: \(stdout.prefix(200)) \(stderr)")
        }
    }

    static func run(_ arguments: [String], executable: String = ServiceProcesses.binDirectory + "/bantin",
                    environment: [String: String] = [:], timeout: Duration) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let base = NSTemporaryDirectory() + "bantin-command-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        process.standardError = FileHandle(forWritingAtPath: base + ".err")
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                Issue.record("\(arguments.prefix(3).joined(separator: " ")) … did not finish within \(timeout): it hangs")
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
    }
}
