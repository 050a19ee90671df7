import BantinCore
import BantinCorpus
import BantinExtract
import BantinIngest
import BantinRPC
import BantinTesting
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

@Suite struct ExtractionOutboxTests {
    /// A real extractor behind a real TLS server that answers its first `shortAnswers` batches with one extraction
    /// too few (the first one missing, so that the others would land on the wrong articles if taken as they come).
    struct ShortChangingExtract: RPCService {
        let shortAnswers: Int
        let calls = NIOLockedValueBox<[Int]>([])  // batch sizes, in call order
        let extractor = Extractor()

        func register(on router: inout Router) {
            router.unary(ExtractAPI.extractBatch, runsOnEventLoop: false) { request, _ in
                let call = calls.withLockedValue { $0.append(request.articles.count); return $0.count }
                let extractions = request.articles.map { extractor.extract(text: $0.text, province: $0.province, publishedAt: $0.publishedAt) }
                return ExtractBatchResponse(extractions: call <= shortAnswers ? Array(extractions.dropFirst()) : extractions)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aBatchAnswerThatDoesNotMatchIsRetriedAndEachArticleGetsItsOwnExtraction() async throws {
        let directory = NSTemporaryDirectory() + "bantin-outbox-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // More than a batch, half of them accepted before a restart: what the outbox sends for those is read back
        // from the file, for the others it is still in memory.
        var store = try ArticleStore(directory: directory)
        var ids = try await store.acceptGenerated(0..<10, seed: 9)
        try await store.close()
        store = try ArticleStore(directory: directory)
        ids += try await store.acceptGenerated(10..<20, seed: 9)
        let extract = ShortChangingExtract(shortAnswers: 2)
        let server = try await TestServer.start(pki: try TestPKI(), services: [extract])
        let client = try server.client()
        let outbox = ExtractionOutbox(store: store, extractor: client, logger: Logger(label: "outbox-test"))
        let running = Task { try await outbox.run() }

        while store.currentHeads.pending > 0 { try await Task.sleep(for: .milliseconds(50)) }
        running.cancel()
        _ = try? await running.value
        let calls = extract.calls.withLockedValue { $0 }
        #expect(calls.count > 2 && calls.allSatisfy { (1...outbox.batchSize).contains($0) })
        // Every article's stored extraction is the one extract made of its own text: none got a neighbour's.
        let extractor = Extractor()
        for id in ids {
            let stored = try #require(try await store.get(id: id))
            let article = try #require(stored.article)
            #expect(stored.extraction == extractor.extract(text: article.text, province: article.province, publishedAt: article.publishedAt))
            #expect(article.extractionStatus == .extracted)
        }
        #expect(try await store.changes(after: 0, limit: 100).count == ids.count)
        await client.close()
        await server.stop()
        try await store.close()
    }

    /// Fails every batch that holds an article with `marker` in its text, as an extract that cannot handle one
    /// article would.
    struct PoisonedExtract: RPCService {
        let marker: String
        let extractor = Extractor()

        func register(on router: inout Router) {
            router.unary(ExtractAPI.extractBatch, runsOnEventLoop: false) { request, _ in
                if request.articles.contains(where: { $0.text.contains(marker) }) { throw RPCError(.internal, "cannot extract this one") }
                return ExtractBatchResponse(extractions: request.articles.map {
                    extractor.extract(text: $0.text, province: $0.province, publishedAt: $0.publishedAt)
                })
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func anArticleExtractCannotHandleDoesNotHoldBackTheOthersOfItsBatch() async throws {
        let directory = NSTemporaryDirectory() + "bantin-outbox-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let generator = CorpusGenerator(seed: 10)
        var ids: [String] = []
        for index in 0..<12 {
            let text = generator.article(index).text + (index == 3 ? "\nĐoạn cuối có chữ ĐỘC." : "")
            ids.append(try await store.accept(try ArticleStore.prepare(SubmitRequest(text: text))).articleID)
        }
        let server = try await TestServer.start(pki: try TestPKI(), services: [PoisonedExtract(marker: "ĐỘC")])
        let client = try server.client()
        let outbox = ExtractionOutbox(store: store, extractor: client, logger: Logger(label: "outbox-test"))
        let running = Task { try await outbox.run() }

        while store.currentHeads.pending > 1 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await store.pending(limit: 10).map(\.id) == [ids[3]])
        running.cancel()
        _ = try? await running.value
        await client.close()
        await server.stop()
        try await store.close()
    }
}
