import BantinCore
import BantinIngest
import Foundation
import NIOCore
import NIOConcurrencyHelpers
import Testing
import BantinCorpus

@Suite struct ArticleStoreTests {
    @Test func theFeedEntrySplicedFromStoredBytesEqualsTheMessageBuiltFieldByField() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let seeds = try ServiceProcessesSeeds.load()
        let accepted = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: seeds[0])))
        var extraction = Extraction()
        var entity = Entity()
        entity.id = "per:nong-thanh-tung"
        entity.name = "Nông Thanh Tùng"
        entity.type = .person
        extraction.entities = [entity]
        let feedSeq = try await store.storeExtraction(articleID: accepted.articleID, extraction)
        #expect(feedSeq == 1)

        let entries = try await store.changes(after: 0, limit: 10)
        #expect(entries.count == 1)
        let parsed = try Change(unpacking: entries[0].bytes)
        let stored = try #require(try await store.get(id: accepted.articleID))
        #expect(stored.article?.originalText == seeds[0], "Get returns the submission as given")
        var expected = Change()
        expected.stored = stored
        expected.stored?.article?.originalText = ""  // the feed leaves the original out
        expected.seq = 1
        expected.headSeq = 1
        expected.articleID = accepted.articleID
        #expect(parsed == expected)
        // A positions-only feed is the same change without the article.
        let positions = try await store.changes(after: 0, limit: 10, positionsOnly: true)
        expected.stored = nil
        #expect(try positions.map { try Change(unpacking: $0.bytes) } == [expected])
        #expect(parsed.stored?.article?.seq == accepted.seq)
        #expect(parsed.stored?.article?.extractionStatus == .extracted)
        // Storing an extraction twice does not move the article in the feed.
        #expect(try await store.storeExtraction(articleID: accepted.articleID, extraction) == nil)
        try await store.close()
    }

    @Test func admissionWaitsForABacklogOnlyWhileExtractionKeepsUp() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let generator = CorpusGenerator(seed: 5)
        var ids: [String] = []
        for index in 0..<3 {
            ids.append(try await store.accept(try ArticleStore.prepare(SubmitRequest(text: generator.article(index).text))).articleID)
        }
        // Three waiting and no extraction ever stored (extract down): nobody is held back.
        await store.admit(maxBacklog: 2)

        // Extraction under way and the backlog at the limit: admission waits for the next extraction. (A long
        // progress window, so that a busy test machine's scheduling delays do not count as extraction stalling.)
        try await store.storeExtraction(articleID: ids[0], Extraction())
        let admitted = NIOLockedValueBox(false)
        let waiter = Task {
            await store.admit(maxBacklog: 2, progressWindow: .seconds(60))
            admitted.withLockedValue { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!admitted.withLockedValue { $0 })
        try await store.storeExtraction(articleID: ids[1], Extraction())
        await waiter.value
        #expect(admitted.withLockedValue { $0 })
        try await store.close()
    }
}
