import BantinCore
@testable import BantinIngest
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

    /// A submission that normalization leaves as it is is stored once (its original_text is NULL) and Get still
    /// returns it as given; one that normalization changed keeps its own original.
    @Test func anAlreadyNormalizedSubmissionIsStoredOnceAndReturnedAsGiven() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let seeds = try ServiceProcessesSeeds.load()
        let tidy = VietnameseText.normalize(seeds[1])
        let untidy = seeds[2].replacingOccurrences(of: "hòa", with: "hoà") + "  \n\n\n"
        #expect(VietnameseText.normalize(untidy) != untidy)
        let store = try ArticleStore(directory: directory)
        let stored = try await [tidy, untidy].asyncMap { try await store.accept(try ArticleStore.prepare(SubmitRequest(text: $0))).articleID }
        #expect(try await store.get(id: stored[0])?.article?.originalText == tidy)
        #expect(try await store.get(id: stored[1])?.article?.originalText == untidy)
        try await store.close()
        var missing: [Bool] = []
        try SQLiteDatabase(path: "\(directory)/articles.sqlite").prepare("SELECT original_text IS NULL FROM articles ORDER BY seq").rows {
            missing.append($0.int(0) == 1)
        }
        #expect(missing == [true, false])
    }

    /// A store written before extractions had their own table (they and the outbox were article columns) and before
    /// MinHash signatures opens with its feed, its outbox and its retry counts where they were, once (reopening moves
    /// nothing again), and finds near-duplicates of its articles.
    @Test func aStoreOfTheEarlierLayoutKeepsItsFeedAndOutbox() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let generator = CorpusGenerator(seed: 3)
        let articles = try (0..<2).map { try ArticleStore.prepare(SubmitRequest(text: generator.article($0).text)).article }
        var extraction = Extraction()
        var entity = Entity()
        entity.id = "per:nong-thanh-tung"
        extraction.entities = [entity]
        do {
            let old = try SQLiteDatabase(path: "\(directory)/articles.sqlite")
            try old.execute("""
                PRAGMA journal_mode = WAL;
                CREATE TABLE articles (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body_hash TEXT NOT NULL UNIQUE,
                    fingerprint INTEGER NOT NULL, article BLOB NOT NULL, original_text TEXT, extraction BLOB, feed_seq INTEGER UNIQUE,
                    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
                CREATE INDEX articles_pending ON articles (seq) WHERE extraction IS NULL;
                """)
            try old.prepare("INSERT INTO articles (id, body_hash, fingerprint, article, extraction, feed_seq) VALUES (?, 'h0', 0, ?, ?, 1)")
                .run(.text(articles[0].id), .blob(articles[0].packedBytes()), .blob(extraction.packedBytes()))
            try old.prepare("INSERT INTO articles (id, body_hash, fingerprint, article, attempts, last_error) VALUES (?, 'h1', 0, ?, 2, 'down')")
                .run(.text(articles[1].id), .blob(articles[1].packedBytes()))
        }

        var store = try ArticleStore(directory: directory)
        #expect(store.currentHeads.acceptedSeq == 2 && store.currentHeads.feedSeq == 1 && store.currentHeads.pending == 1)
        let feed = try await store.changes(after: 0, limit: 10).map { try Change(unpacking: $0.bytes) }
        #expect(feed.map(\.articleID) == [articles[0].id] && feed.map(\.seq) == [1])
        #expect(feed.first?.stored?.extraction == extraction)
        #expect(try await store.pending(limit: 10).map(\.id) == [articles[1].id])
        #expect(try await store.get(id: articles[1].id)?.article?.extractionStatus == .pending)
        #expect(try await store.storeExtraction(articleID: articles[1].id, extraction) == 2)
        try await store.close()

        store = try ArticleStore(directory: directory)
        #expect(store.currentHeads.feedSeq == 2 && store.currentHeads.pending == 0)
        #expect(try await store.changes(after: 0, limit: 10).count == 2)
        #expect(try await store.pending(limit: 10).isEmpty)
        // The earlier layout's fingerprints were replaced by signatures computed from the stored articles.
        let reprint = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: NearDuplicateTests.reprints(of: generator.article(0).text)[0])))
        #expect(reprint.outcome == .accepted && reprint.duplicateOf == articles[0].id)
        try await store.close()
    }

    @Test func admissionWaitsForABacklogOnlyWhileExtractionKeepsUp() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let ids = try await store.acceptGenerated(0..<3, seed: 5)
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

    @Test(.timeLimit(.minutes(1))) func heldSubmissionsGoOnInArrivalOrderOnePerStoredExtraction() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let ids = try await store.acceptGenerated(0..<5, seed: 6)
        try await store.storeExtraction(articleID: ids[0], Extraction())  // 4 waiting, extraction under way
        let admitted = NIOLockedValueBox<[Int]>([])
        var waiters: [Task<Void, Never>] = []
        for waiter in 0..<3 {
            waiters.append(Task {
                await store.admit(maxBacklog: 4, progressWindow: .seconds(60))
                admitted.withLockedValue { $0.append(waiter) }
            })
            try await Task.sleep(for: .milliseconds(100))  // queued one after the other
        }
        #expect(admitted.withLockedValue { $0 }.isEmpty)
        // One extraction stored makes room for one: the first to arrive.
        try await store.storeExtraction(articleID: ids[1], Extraction())
        await waiters[0].value
        try await Task.sleep(for: .milliseconds(200))
        #expect(admitted.withLockedValue { $0 } == [0])
        // Two more make room for the other two.
        try await store.storeExtraction(articleID: ids[2], Extraction())
        try await store.storeExtraction(articleID: ids[3], Extraction())
        for waiter in waiters { await waiter.value }
        #expect(admitted.withLockedValue { $0 }.sorted() == [0, 1, 2])
        try await store.close()
    }

    @Test(.timeLimit(.minutes(1))) func heldSubmissionsGoOnWhenExtractionStalls() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let ids = try await store.acceptGenerated(0..<3, seed: 7)
        try await store.storeExtraction(articleID: ids[0], Extraction())
        // The backlog is full and no extraction follows: after the progress window the submission goes on.
        let clock = ContinuousClock()
        let began = clock.now
        await store.admit(maxBacklog: 2, progressWindow: .milliseconds(300))
        #expect(clock.now - began >= .milliseconds(250))
        try await store.close()
    }

    @Test(.timeLimit(.minutes(1))) func aCaughtUpFeedWaitEndsWithTheNextExtractionOrItsTimeout() async throws {
        let directory = NSTemporaryDirectory() + "bantin-store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let id = try await store.acceptGenerated(0..<1, seed: 8)[0]
        let clock = ContinuousClock()
        var began = clock.now
        await store.waitForFeed(after: 0, timeout: .milliseconds(200))
        #expect(clock.now - began >= .milliseconds(200))
        #expect(store.currentHeads.feedSeq == 0)
        // A long timeout: the extraction ends the wait.
        began = clock.now
        async let waited: Void = store.waitForFeed(after: 0, timeout: .seconds(600))
        try await Task.sleep(for: .milliseconds(100))
        try await store.storeExtraction(articleID: id, Extraction())
        await waited
        #expect(store.currentHeads.feedSeq == 1)
        try await store.close()
    }
}

extension ArticleStore {
    /// Accepts the generated articles `indices` of corpus `seed`, one after the other; their ids.
    func acceptGenerated(_ indices: Range<Int>, seed: UInt64) async throws -> [String] {
        let generator = CorpusGenerator(seed: seed)
        var ids: [String] = []
        for index in indices {
            ids.append(try await accept(try ArticleStore.prepare(SubmitRequest(text: generator.article(index).text))).articleID)
        }
        return ids
    }
}
