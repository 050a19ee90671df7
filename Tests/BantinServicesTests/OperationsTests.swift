import BantinCore
import BantinRPC
import BantinTesting
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The operations port of real service processes: probes, Prometheus metrics, SIGTERM draining, start-up errors.
@Suite(.serialized) struct OperationsTests {
    @Test func probesFollowTheFeedAndMetricsCountCalls() async throws {
        let services = try ServiceProcesses()
        // A replica that cannot reach ingest is alive but not ready: it does not know how far behind it is.
        try services.start("query")
        try await services.eventually("query's operations port answers") {
            try PlainSocket.get(port: services.opsPort("query"), "/healthz").status == 200
        }
        let early = try PlainSocket.get(port: services.opsPort("query"), "/readyz")
        #expect(early.status == 503)
        #expect(early.body.contains("has not heard ingest's head"), "\(early.body)")

        for name in ["extract", "ingest"] { try services.start(name) }
        for name in ["extract", "ingest", "query"] {
            try await services.eventually("\(name) ready") { try PlainSocket.get(port: services.opsPort(name), "/readyz").status == 200 }
        }
        let ingest = try services.client("ingest")
        let query = try services.client("query")
        for seed in try ServiceProcesses.seeds() {
            #expect(try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seed)).outcome == .accepted)
        }
        try await services.eventually("query holds the five seeds") {
            try await query.unary(QueryAPI.stats, StatsRequest()).articles == 5
        }
        for phrase in ["tap chi cong san", "Bắc Kạn", "thông tin đối ngoại", "hội nghị", "Ban Tuyên giáo", "đoàn công tác", "2023"] {
            _ = try await query.unary(QueryAPI.search, SearchRequest(query: phrase))
        }
        await #expect(throws: RPCError.self) { try await query.unary(QueryAPI.getArticle, GetArticleRequest(articleID: "no-such-id")) }

        let metrics = try PrometheusText(try PlainSocket.get(port: services.opsPort("query"), "/metrics").body)
        let search = ["method": QueryAPI.search.path, "code": "OK"]
        #expect(metrics.value("bantin_rpc_server_calls_total", search) == 7)
        #expect(metrics.value("bantin_rpc_server_call_duration_seconds_count", ["method": QueryAPI.search.path]) == 7)
        #expect(metrics.value("bantin_rpc_server_calls_total", ["method": QueryAPI.getArticle.path, "code": "NOT_FOUND"]) == 1)
        #expect(metrics.value("bantin_rpc_server_calls_in_flight") == 0)
        #expect((metrics.value("bantin_rpc_server_connections") ?? 0) >= 1)
        #expect(metrics.value("bantin_query_index_articles") == 5)
        #expect(metrics.value("bantin_query_lag_sequences") == 0)
        #expect(metrics.value("bantin_query_lag_seconds") == 0)

        try await services.eventually("ingest's outbox drains") {
            let m = try PrometheusText(try PlainSocket.get(port: services.opsPort("ingest"), "/metrics").body)
            return m.value("bantin_ingest_outbox_depth") == 0
        }
        let ingestMetrics = try PrometheusText(try PlainSocket.get(port: services.opsPort("ingest"), "/metrics").body)
        #expect(ingestMetrics.value("bantin_rpc_server_calls_total", ["method": IngestAPI.submit.path, "code": "OK"]) == 5)
        #expect(ingestMetrics.value("bantin_ingest_accepted_sequence") == 5)
        let extractMetrics = try PrometheusText(try PlainSocket.get(port: services.opsPort("extract"), "/metrics").body)
        #expect(extractMetrics.value("bantin_extract_articles_total") == 5)
        #expect((extractMetrics.value("bantin_rpc_server_calls_total", ["method": ExtractAPI.extractBatch.path, "code": "OK"]) ?? 0) >= 1)

        // Handshake failures are counted by reason: plaintext to the TLS port, then a client with no certificate.
        _ = try PlainSocket.exchange(port: services.port("query"), send: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let anonymous = try RPCClient(target: "127.0.0.1:\(services.port("query"))",
                                      configuration: ClientConfiguration(tls: try TLSContextProvider(services.pki.clientTLS(nil))))
        await #expect(throws: (any Error).self) {
            try await anonymous.unary(QueryAPI.stats, StatsRequest(), options: CallOptions(timeout: .seconds(2)))
        }
        try await services.eventually("handshake failures counted") {
            let m = try PrometheusText(try PlainSocket.get(port: services.opsPort("query"), "/metrics").body)
            return m.value("bantin_tls_handshake_failures_total", ["reason": "not_tls"]) == 1
                && (m.value("bantin_tls_handshake_failures_total", ["reason": "no_certificate"]) ?? 0) >= 1
        }

        // Unknown paths and methods get clear answers, not hangs.
        #expect(try PlainSocket.get(port: services.opsPort("query"), "/nope").status == 404)
        let post = String(decoding: try PlainSocket.exchange(
            port: services.opsPort("query"), send: Array("POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)),
            as: UTF8.self)
        #expect(post.hasPrefix("HTTP/1.1 405"), "\(post.prefix(80))")

        // A replica whose ingest went away keeps serving what it has and stays ready.
        services.stop("ingest")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try PlainSocket.get(port: services.opsPort("query"), "/readyz").status == 200)
    }

    @Test func sigtermReportsNotReadyDrainsInFlightCallsAndExitsZero() async throws {
        let echo = try EchoProcess(drainTimeout: 10)
        let client = try echo.client()
        try await echo.waitReady()
        let payload = Array("0123456789".utf8)
        async let streamed = client.serverStreaming(EchoService.expand, EchoRequest(payload: payload, delayMillis: 300)) { responses in
            var all: [UInt8] = []
            for try await r in responses { all += r.payload }
            return all
        }
        try await Task.sleep(for: .milliseconds(600))
        kill(echo.process.processIdentifier, SIGTERM)
        var sawDraining = false
        for _ in 0..<40 where !sawDraining {
            let ready = try PlainSocket.get(port: echo.opsPort, "/readyz")
            sawDraining = ready.status == 503 && ready.body.contains("draining")
            if !sawDraining { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(sawDraining, "readiness did not turn false on SIGTERM")
        #expect(try PlainSocket.get(port: echo.opsPort, "/healthz").status == 200, "liveness must hold while draining")
        #expect(try await streamed == payload, "the in-flight call was cut instead of drained")
        let status = try await echo.waitForExit(within: .seconds(5))
        #expect(status == 0)
        // Its JSON log lines are JSON.
        let lines = try String(contentsOfFile: echo.log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil, "\(line)")
        }
        #expect(lines.contains { $0.contains("\"message\":\"draining\"") })
    }

    @Test func drainIsBoundedByTheDrainTimeout() async throws {
        let echo = try EchoProcess(drainTimeout: 1)
        let client = try echo.client()
        try await echo.waitReady()
        let call = Task {
            try await client.serverStreaming(EchoService.expand, EchoRequest(payload: [UInt8](repeating: 1, count: 100), delayMillis: 100)) { responses in
                var count = 0
                for try await _ in responses { count += 1 }
                return count
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let signalled = ContinuousClock.now
        kill(echo.process.processIdentifier, SIGTERM)
        let status = try await echo.waitForExit(within: .seconds(6))
        let took = ContinuousClock.now - signalled
        #expect(status == 0)
        #expect(took < .seconds(4), "drain took \(took) with --drain-timeout 1")
        await #expect(throws: (any Error).self) { _ = try await call.value }
    }

    @Test func configurationErrorsStopTheProcessNamingTheSetting() async throws {
        let pki = try TestPKI()
        let held = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        defer { held.close(promise: nil) }
        let busy = held.localAddress!.port!
        let cases: [(String, [String], [String: String], [String])] = [
            ("query", [], ["BANTIN_PORT": "abc"], ["BANTIN_PORT", "whole number"]),
            ("query", ["--pki", "/nonexistent/pki"], [:], ["BANTIN_PKI", "/nonexistent/pki/ca.pem", "bantin certs init"]),
            ("query", [], ["BANTIN_READY_MAX_LAG": "-3"], ["BANTIN_READY_MAX_LAG"]),
            ("ingest", [], ["BANTIN_MAX_BACKLOG": "lots"], ["BANTIN_MAX_BACKLOG"]),
            ("extract", [], ["BANTIN_OPS_PORT": "70000"], ["BANTIN_OPS_PORT", "not a TCP port"]),
            ("extract", [], ["BANTIN_LOG_FORMAT": "xml"], ["BANTIN_LOG_FORMAT", "text, json"]),
            ("extract", ["--port", "\(busy)", "--ops-port", "-1"], [:], ["BANTIN_PORT", "cannot listen", "\(busy)"]),
        ]
        for (service, arguments, environment, expected) in cases {
            let result = try await BantinCommand.run(
                arguments, executable: ServiceProcesses.binDirectory + "/bantin-\(service)",
                environment: ["BANTIN_PKI": pki.directory, "BANTIN_HOST": "127.0.0.1", "BANTIN_PORT": "0", "BANTIN_OPS_PORT": "0"].merging(environment) { _, new in new },
                timeout: .seconds(20))
            #expect(result.status != 0, "bantin-\(service) \(arguments) \(environment) started anyway")
            for fragment in expected {
                #expect(result.stderr.contains(fragment), "bantin-\(service) \(environment): \(result.stderr.prefix(300))")
            }
        }
    }
}

/// `bantin echo-server` as a child process with JSON logs: the slow streaming call its Expand method offers is what
/// the drain tests need.
final class EchoProcess: @unchecked Sendable {
    let process = Process()
    let pki: TestPKI
    let port = ServiceProcesses.freePorts(count: 1)
    var opsPort: Int { port + 10_000 }
    let log = NSTemporaryDirectory() + "bantin-echo-\(UUID().uuidString).log"

    init(drainTimeout: Int) throws {
        pki = try TestPKI()
        process.executableURL = URL(fileURLWithPath: ServiceProcesses.binDirectory + "/bantin")
        process.arguments = ["echo-server", "--host", "127.0.0.1", "--port", "\(port)", "--ops-port", "\(opsPort)",
                             "--pki", pki.directory, "--drain-timeout", "\(drainTimeout)", "--log-format", "json"]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = process.standardOutput
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: log)
    }

    func client() throws -> RPCClient {
        var configuration = ClientConfiguration(tls: try TLSContextProvider(pki.clientTLS()))
        configuration.interceptors = []
        return try RPCClient(target: "127.0.0.1:\(port)", configuration: configuration)
    }

    func waitReady() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if (try? PlainSocket.get(port: opsPort, "/readyz").status) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServiceProcesses.TimeoutError(what: "echo-server ready")
    }

    func waitForExit(within limit: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard !process.isRunning else { return nil }
        return process.terminationStatus
    }
}

/// The Prometheus text exposition format (0.0.4), parsed strictly enough to catch what a scraper would reject:
/// metric and label names, label value escapes, values, a TYPE line before a metric's samples, and histograms whose
/// buckets never decrease and end in +Inf equal to _count.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]

    init(_ text: String) throws {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            func fail(_ why: String) -> Malformed { Malformed(description: "line \(number + 1): \(why): \(line)") }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                if parts.count >= 2, parts[1] == "TYPE" {
                    guard parts.count == 4, Self.isMetricName(parts[2]),
                          ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw fail("bad TYPE") }
                    guard types[parts[2]] == nil else { throw fail("second TYPE for \(parts[2])") }
                    types[parts[2]] = parts[3]
                }
                continue
            }
            var rest = Substring(line)
            let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            guard Self.isMetricName(name) else { throw fail("bad metric name") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let key = String(rest.prefix { $0 != "=" })
                    guard Self.isLabelName(key), rest.dropFirst(key.count).hasPrefix("=\"") else { throw fail("bad label") }
                    rest = rest.dropFirst(key.count + 2)
                    var value = ""
                    while let c = rest.first, c != "\"" {
                        rest = rest.dropFirst()
                        if c == "\\" {
                            guard let escaped = rest.first, "\\\"n".contains(escaped) else { throw fail("bad escape") }
                            value.append(escaped == "n" ? "\n" : escaped)
                            rest = rest.dropFirst()
                        } else {
                            value.append(c)
                        }
                    }
                    guard rest.first == "\"" else { throw fail("unterminated label value") }
                    rest = rest.dropFirst()
                    labels[key] = value
                    if rest.first == "," { rest = rest.dropFirst() }
                }
                rest = rest.dropFirst()
            }
            let fields = rest.split(separator: " ")
            guard (1...2).contains(fields.count), let value = Self.number(String(fields[0])) else { throw fail("bad value") }
            let family = ["_bucket", "_sum", "_count"].first { name.hasSuffix($0) && types[String(name.dropLast($0.count))] == "histogram" }
                .map { String(name.dropLast($0.count)) } ?? name
            guard types[family] != nil else { throw fail("sample before its TYPE line") }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        try checkHistograms()
    }

    /// The value of the one sample with this name whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }

    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            let buckets = samples.filter { $0.name == family + "_bucket" }
            for series in Dictionary(grouping: buckets, by: { $0.labels.filter { $0.key != "le" } }).values {
                let ordered = series.sorted { Self.number($0.labels["le"]!)! < Self.number($1.labels["le"]!)! }
                guard zip(ordered, ordered.dropFirst()).allSatisfy({ $0.value <= $1.value }), ordered.last?.labels["le"] == "+Inf",
                      value(family + "_count", series[0].labels.filter { $0.key != "le" }) == ordered.last?.value else {
                    throw Malformed(description: "histogram \(family) \(series[0].labels): buckets inconsistent")
                }
            }
        }
    }

    static func number(_ text: String) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }

    static func isMetricName(_ s: String) -> Bool {
        guard let first = s.first, first.isASCII, first.isLetter || first == "_" || first == ":" else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }

    static func isLabelName(_ s: String) -> Bool {
        guard let first = s.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
