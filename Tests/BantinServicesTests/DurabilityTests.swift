import BantinCore
import BantinCorpus
import BantinIngest
import BantinRPC
import Foundation
import Testing

@Suite(.serialized) struct DurabilityTests {
    /// Submits `texts` on one SubmitStream; calls `onReply` with each per-article reply in order (the stream answers
    /// in submission order). Returns the replies received before the stream ended, and the error that ended it, if any.
    static func submitStream(_ client: RPCClient, _ texts: [String],
                             onReply: @escaping @Sendable (Int) -> Void = { _ in }) async -> ([SubmitResponse], (any Error)?) {
        let requests = texts.map { SubmitRequest(text: $0) }
        let collected = Collected()
        do {
            try await client.bidirectionalStreaming(IngestAPI.submitStream) { writer, responses in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for request in requests { try await writer.write(request) }
                        try writer.finish()
                    }
                    for try await response in responses {
                        if let result = response.result {
                            collected.append(result)
                            onReply(collected.count)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            return (collected.all, nil)
        } catch {
            return (collected.all, error)
        }
    }

    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var replies: [SubmitResponse] = []
        func append(_ r: SubmitResponse) { lock.withLock { replies.append(r) } }
        var count: Int { lock.withLock { replies.count } }
        var all: [SubmitResponse] { lock.withLock { replies } }
    }

    @Test func killingIngestDuringABulkLoadLosesNoAcceptedArticleAndResubmitsAreDuplicates() async throws {
        let services = try ServiceProcesses()
        try services.start("extract")
        try services.start("ingest")
        let generator = CorpusGenerator(seed: 2026)
        let texts = (0..<2000).map { generator.article($0).text }
        var ingest = try services.client("ingest")
        try await services.eventually("ingest up") { try await ingest.unary(HealthService.check, HealthCheckRequest()).status == .serving }

        // kill -9 once a few hundred replies are in: the rest of the stream is in flight or not yet sent.
        let pid = services.pid("ingest")!
        let (firstRound, error) = await Self.submitStream(ingest, texts) { count in
            if count == 400 { kill(pid, SIGKILL) }
        }
        #expect(error != nil, "the stream should have been cut by the crash")
        #expect(firstRound.count >= 400 && firstRound.count < 2000)
        services.forget("ingest")
        await ingest.close()

        try services.start("ingest")
        ingest = try services.client("ingest")
        try await services.eventually("ingest back") { try await ingest.unary(HealthService.check, HealthCheckRequest()).status == .serving }
        // Every article whose reply said accepted is there.
        for reply in firstRound where reply.outcome == .accepted {
            let stored = try await ingest.unary(IngestAPI.get, GetRequest(articleID: reply.articleID))
            #expect(stored.article?.id == reply.articleID)
        }
        // Resubmitting everything: the acknowledged ones come back as duplicates of themselves, the rest are
        // accepted or (stored before the crash but not yet answered) duplicates: never a second copy.
        let (secondRound, secondError) = await Self.submitStream(ingest, texts)
        #expect(secondError == nil)
        #expect(secondRound.count == texts.count)
        for (first, second) in zip(firstRound, secondRound) {
            #expect(second.outcome == .duplicate)
            #expect(second.articleID == first.articleID)
        }
        #expect(secondRound.allSatisfy { $0.outcome == .accepted || $0.outcome == .duplicate })
        #expect(Set(secondRound.map(\.articleID)).count == texts.count)
        await ingest.close()
        services.stop("ingest")
        services.stop("extract")

        let store = try ArticleStore(directory: services.dataDirectory)
        #expect(try await store.count() == texts.count, "each article stored exactly once")
        try await store.close()
    }

    @Test func twoReplicasConvergeAndARestartedReplicaCatchesUp() async throws {
        let services = try ServiceProcesses()
        for name in ["extract", "ingest", "query", "query-2"] { try services.start(name) }
        let ingest = try services.client("ingest")
        let replicas = [try services.client("query"), try services.client("query-2")]
        try await services.eventually("ingest up") { try await ingest.unary(HealthService.check, HealthCheckRequest()).status == .serving }
        let generator = CorpusGenerator(seed: 7)
        let texts = try ServiceProcesses.seeds() + (0..<300).map { generator.article($0).text }
        let (replies, error) = await Self.submitStream(ingest, texts)
        #expect(error == nil)
        let stored = Set(replies.map(\.articleID)).count

        func sameAnswers(_ expectedArticles: Int) async throws {
            for replica in replicas {
                try await services.eventually("replica holds \(expectedArticles) articles") {
                    try await replica.unary(QueryAPI.stats, StatsRequest()).articles == UInt64(expectedArticles)
                }
            }
            let stats = try await replicas.asyncMap { try await $0.unary(QueryAPI.stats, StatsRequest()) }
            #expect(stats[0].appliedSeq == stats[1].appliedSeq)
            #expect(stats[0].entities == stats[1].entities)
            for query in ["tap chi cong san", "Bắc Kạn", "chuyển đổi số", "thong tin doi ngoai", "Nghị quyết", "Ban Tổ chức Trung ương"] {
                var request = SearchRequest()
                request.query = query
                request.limit = 20
                let answers = try await replicas.asyncMap { try await $0.unary(QueryAPI.search, request) }
                #expect(answers[0].total == answers[1].total, "\(query)")
                #expect(answers[0].hits.map(\.articleID) == answers[1].hits.map(\.articleID), "\(query)")
            }
        }
        try await sameAnswers(stored)

        // A replica restarted with an empty memory (its snapshot removed) catches up from the change feed,
        // including what arrived while it was down.
        services.stop("query-2")
        try FileManager.default.removeItem(atPath: "\(services.dataDirectory)/query-2/index.snapshot")
        let more = (300..<350).map { generator.article($0).text }
        let (moreReplies, _) = await Self.submitStream(ingest, more)
        #expect(moreReplies.count == 50)
        try services.start("query-2")
        try await sameAnswers(stored + Set(moreReplies.map(\.articleID)).count)

        // Graceful shutdown of ingest ends the followers' Changes streams instead of waiting out the 20 s drain
        // grace period for them.
        await ingest.close()
        let started = ContinuousClock.now
        services.stop("ingest")
        #expect(ContinuousClock.now - started < .seconds(10))
        for replica in replicas { await replica.close() }
        for name in ["query", "query-2", "extract"] { services.stop(name) }
    }

    @Test func aRestartedReplicaServesFromItsSnapshotBeforeIngestIsBack() async throws {
        let services = try ServiceProcesses()
        for name in ["extract", "ingest", "query"] { try services.start(name) }
        let ingest = try services.client("ingest")
        let query = try services.client("query")
        try await services.eventually("ingest up") { try await ingest.unary(HealthService.check, HealthCheckRequest()).status == .serving }
        let (replies, _) = await Self.submitStream(ingest, try ServiceProcesses.seeds())
        #expect(replies.count == 5)
        try await services.eventually("query holds the seeds") { try await query.unary(QueryAPI.stats, StatsRequest()).articles == 5 }
        let before = try await query.unary(QueryAPI.search, SearchRequest(query: "tap chi cong san", limit: 10))
        // SIGTERM writes a final snapshot.
        services.stop("query")
        #expect(FileManager.default.fileExists(atPath: "\(services.dataDirectory)/query/index.snapshot"))
        await ingest.close()
        services.stop("ingest")
        // With ingest gone, the restarted replica can only have its articles from the snapshot.
        try services.start("query")
        try await services.eventually("the replica is back with its five articles") {
            try await query.unary(QueryAPI.stats, StatsRequest()).articles == 5
        }
        let after = try await query.unary(QueryAPI.search, SearchRequest(query: "tap chi cong san", limit: 10))
        #expect(after == before)
        await query.close()
        for name in ["query", "extract"] { services.stop(name) }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
