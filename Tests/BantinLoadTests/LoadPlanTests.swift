import BantinCore
import BantinLoad
import Foundation
import NIOCore
import Testing

@Suite struct RateScheduleTests {
    @Test func aConstantRateSpacesCallsEvenly() throws {
        let s = try RateSchedule.parse("400")
        #expect(s.isOpenEnded)
        #expect(s.time(ofCall: 0) == 0)
        #expect(s.time(ofCall: 400) == 1)
        #expect(abs(s.time(ofCall: 1_000)! - 2.5) < 1e-12)
    }

    @Test func stepsHoldEachRateForTheirInterval() throws {
        let s = try RateSchedule.parse("step:100:300:100:2s")
        #expect(s.segments.map(\.from) == [100, 200, 300])
        #expect(s.seconds == 6)
        // 200 calls in the first 2 s, 400 in the next 2 s, 600 in the last 2 s.
        #expect(abs(s.time(ofCall: 200)! - 2) < 1e-9)
        #expect(abs(s.time(ofCall: 600)! - 4) < 1e-9)
        #expect(abs(s.time(ofCall: 1_199)! - (4 + 599.0 / 300)) < 1e-9)
        #expect(s.time(ofCall: 1_200) == nil)
    }

    @Test func aRampFromZeroSendsAsManyCallsAsItsIntegral() throws {
        let s = try RateSchedule.parse("ramp:0:1000:10s")
        // ∫ 100·t dt over 10 s = 5,000 calls; half of them (2,500) by t = √50.
        #expect(abs(s.time(ofCall: 2_500)! - 50.0.squareRoot()) < 1e-9)
        #expect(s.time(ofCall: 4_999)! < 10)
        #expect(s.time(ofCall: 5_000) == nil)
        #expect(s.rate(at: 5) == 500)
    }

    @Test func scheduleFilesAndTheirErrors() throws {
        let s = try RateSchedule.parse(lines: "# warm\n2s 100\n\n1s 0   # pause\n3s 100 400\n", name: "plan")
        #expect(s.segments.count == 3)
        #expect(abs(s.time(ofCall: 200)! - 3) < 1e-9, "the pause is skipped")
        #expect(throws: LoadError.self) { try RateSchedule.parse(lines: "2s\n", name: "plan") }
        #expect(throws: LoadError.self) { try RateSchedule.parse(lines: "2s 0\n", name: "plan") }
        #expect(throws: LoadError.self) { try RateSchedule.parse("step:100:50:10:1s") }
        #expect(throws: LoadError.self) { try RateSchedule.parse("fast") }
        #expect(throws: LoadError.self) { try RateSchedule.parse("-5") }
        #expect(try LoadDuration.parse("250ms") == 0.25)
        #expect(try LoadDuration.parse("2m") == 120)
        #expect(throws: LoadError.self) { try LoadDuration.parse("soon") }
    }
}

@Suite struct RequestMixTests {
    let served = [
        MethodInfo(path: "/bantin.query.v1.Query/Search", requestType: "bantin.query.v1.SearchRequest",
                   responseType: "bantin.query.v1.SearchResponse", clientStreaming: false, serverStreaming: false, idempotent: true),
        MethodInfo(path: "/bantin.query.v1.Query/Stats", requestType: "bantin.query.v1.StatsRequest",
                   responseType: "bantin.query.v1.StatsResponse", clientStreaming: false, serverStreaming: false, idempotent: true),
        MethodInfo(path: "/bantin.ingest.v1.Ingest/SubmitStream", requestType: "bantin.ingest.v1.SubmitRequest",
                   responseType: "bantin.ingest.v1.SubmitResponse", clientStreaming: true, serverStreaming: false, idempotent: false),
    ]

    @Test func linesAreSerializedOnceWithTheirMethodAndWeight() throws {
        let preparer = RequestPreparer(served: served, defaultMethod: "/bantin.query.v1.Query/Search")
        let requests = try preparer.prepare(jsonLines: """
            {"query": "thông tin đối ngoại", "limit": 5}
            # a comment
            {"@method": "/bantin.query.v1.Query/Stats", "@weight": 3}
            """, name: "mix.jsonl")
        #expect(requests.count == 2)
        #expect(requests[0].method.path == "/bantin.query.v1.Query/Search")
        #expect(try SearchRequest(unpacking: requests[0].body) == SearchRequest(query: "thông tin đối ngoại", limit: 5))
        #expect(requests[1].method.path == "/bantin.query.v1.Query/Stats" && requests[1].weight == 3)
    }

    @Test func errorsNameTheLineAndWhatIsWrong() {
        let preparer = RequestPreparer(served: served, defaultMethod: "/bantin.query.v1.Query/Search")
        func message(_ text: String) -> String {
            do { _ = try preparer.prepare(jsonLines: text, name: "f"); return "" } catch { return error.description }
        }
        #expect(message("{\"query\": \"a\"}\n{\"query\": ") .contains("f:2: "))
        #expect(message("{\"qery\": \"a\"}").contains("unknown field 'qery'"))
        #expect(message("{\"@method\": \"/bantin.query.v1.Query/Serch\"}").contains("does not serve /bantin.query.v1.Query/Serch"))
        #expect(message("{\"@method\": \"/bantin.ingest.v1.Ingest/SubmitStream\"}").contains("takes a stream of requests"))
        #expect(message("{\"@weight\": -1}").contains("@weight must be a number ≥ 0"))
        #expect(message("{\"@speed\": 1}").contains("unknown direction @speed"))
        #expect(message("\n# nothing\n").contains("holds no requests"))
    }

    @Test func weightedSamplingFollowsTheWeights() throws {
        let search = PreparedRequest(method: served[0], body: ByteBuffer(), weight: 1)
        let stats = PreparedRequest(method: served[1], body: ByteBuffer(), weight: 3)
        let mix = try RequestMix([search, stats], order: .sample)
        var random = SplitMix64(seed: 7)
        let picks = (0..<40_000).map { mix.request($0, random: &random).method.path }
        let share = Double(picks.filter { $0.hasSuffix("/Stats") }.count) / 40_000
        #expect(abs(share - 0.75) < 0.01)
        let cycled = try RequestMix([search, stats], order: .cycle)
        #expect((0..<4).map { cycled.request($0, random: &random).method.path.hasSuffix("/Stats") } == [false, true, false, true])
    }

    @Test func templatesFillTheirVariablesAsJSONText() throws {
        let (name, values) = try RequestTemplate.variable("word=Tỉnh ủy|\"quoted\"|a\\b")
        #expect(name == "word" && values == ["Tỉnh ủy", "\"quoted\"", "a\\b"])
        #expect(try RequestTemplate.variable("n=3..5").1 == ["3", "4", "5"])
        let template = try RequestTemplate(template: #"{"query": "{{word}} {{i}}", "limit": {{n}}}"#,
                                           variables: ["word": values, "n": ["3", "4", "5"]])
        let generated = template.generate(count: 50, seed: 1)
        #expect(generated == template.generate(count: 50, seed: 1), "the same seed gives the same requests")
        let preparer = RequestPreparer(served: served, defaultMethod: "/bantin.query.v1.Query/Search")
        let requests = try preparer.prepare(generated: generated)
        let decoded = try requests.map { try SearchRequest(unpacking: $0.body) }
        #expect(decoded[7].query.hasSuffix(" 7"))
        #expect(Set(decoded.map { String($0.query.dropLast(String(decoded.firstIndex(of: $0)!).count + 1)) }) == Set(values))
        #expect(Set(decoded.map(\.limit)) == [3, 4, 5])
        #expect(throws: LoadError.self) { try RequestTemplate(template: "{{missing}}", variables: [:]) }
    }
}
