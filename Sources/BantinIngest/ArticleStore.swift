import BantinCore
import COpenSSL
import CSQLite
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The durable article log: one SQLite file in WAL mode under the data directory.
///
/// - Every accepted article gets `seq` (accept order) and is committed before its reply. Calls
///   arriving together share one transaction (group commit): a bulk load pays one fsync per batch,
///   not per article, and no reply goes out before its batch is durable.
/// - Articles wait in the outbox (the `pending` table) until their extraction is stored; that
///   assigns `feed_seq`, the article's position in the change feed. The feed therefore only holds
///   complete articles, in the order they became complete.
/// - Extractions are rows of their own (`extractions`), not a column of the article: SQLite rewrites a
///   whole row on UPDATE, which for an article (normalized structure, text and original) wrote some
///   15 KB to the log again for every extraction stored.
/// - All SQLite work runs on one dedicated thread, which also serializes it.
public final class ArticleStore: @unchecked Sendable {
    // @unchecked: `database`, `signatures`, `recent` and the statements are touched only on `thread`;
    // `queue` is guarded by its lock, `monitor` by its own.
    private let thread: NIOThreadPool
    private let database: SQLiteDatabase
    private var signatures: SignatureIndex
    /// What the outbox sends to extract for articles accepted since start, until their extraction is stored: the
    /// outbox then reads neither the article blob nor its text back from the file. At most `recentLimit` of them;
    /// beyond that (extract down for a while) the outbox reads the article as after a restart.
    private var recent: [UInt64: ExtractRequest] = [:]
    static let recentLimit = 4096
    /// The last feed position handed out; only the committer touches it.
    private var lastFeedSeq: UInt64
    private let queue = NIOLockedValueBox(WriteQueue())
    private let monitor: HeadsMonitor

    /// Articles above this size (UTF-8 bytes) are refused: real articles are far below it.
    public static let maxArticleBytes = 2 * 1024 * 1024

    /// Writes waiting for the committer. Accepts and stored extractions share transactions: under bulk load both
    /// arrive continuously and each fsync covers as many of either as queued while the previous one ran.
    struct WriteQueue {
        var items: [Write] = []
        var committing = false
    }

    enum Write {
        case accept(Candidate, CheckedContinuation<SubmitResponse, any Error>)
        case extractions([StoredExtraction], CheckedContinuation<[UInt64?], any Error>)
    }

    enum WriteResult {
        case accepted(SubmitResponse)
        case extracted([UInt64?])
    }

    /// A feed entry, already serialized as a `bantin.ingest.v1.Change`.
    public struct PackedChange: Sendable {
        public var seq: UInt64
        public var bytes: ByteBuffer
    }

    public struct Heads: Sendable {
        public var acceptedSeq: UInt64
        public var feedSeq: UInt64
        public var pending: Int
        /// When an extraction was last stored (nil: not since start).
        public var lastExtractionAt: ContinuousClock.Instant? = nil
    }

    /// An article's extraction, serialized.
    public struct StoredExtraction: Sendable {
        public var articleID: String
        public var packed: [UInt8]
        public init(articleID: String, packed: [UInt8]) {
            self.articleID = articleID
            self.packed = packed
        }
    }

    /// An article waiting for its extraction, with what to send to extract.
    public struct PendingArticle: Sendable {
        public var seq: UInt64
        public var id: String
        public var request: ExtractRequest
    }

    /// A cleaned article ready to store.
    public struct Candidate: Sendable {
        public var article: Article
        public var bodyHash: String
        /// The body's MinHash signature (see `MinHash`).
        public var signature: [UInt32]
    }

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        database = try SQLiteDatabase(path: "\(directory)/articles.sqlite")
        // A 64 MiB page cache (2 MiB by default) keeps the rows that the outbox update and the change feed read
        // again, moments after their insert, in memory: with the default, every one of them was read from the file.
        try database.execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA cache_size = -65536;
            \(Self.articlesTable("articles"))
            -- The outbox: accepted articles whose extraction is not stored yet.
            CREATE TABLE IF NOT EXISTS pending (
                seq INTEGER PRIMARY KEY,      -- the article's
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT
            );
            -- The change feed: each article once its extraction is stored, in that order.
            CREATE TABLE IF NOT EXISTS extractions (
                feed_seq INTEGER PRIMARY KEY,
                article_seq INTEGER NOT NULL UNIQUE,
                extraction BLOB NOT NULL
            );
            """)
        try Self.migrate(database)
        var accepted: UInt64 = 0
        var feed: UInt64 = 0
        var pending = 0
        var loaded = SignatureIndex()
        try database.prepare("SELECT id, signature FROM articles ORDER BY seq").rows { row in
            guard let signature = MinHash.signature(bytes: row.blob(1)) else { throw SQLiteDatabase.Error(code: SQLITE_CORRUPT, message: "article \(row.text(0)) has a malformed signature") }
            loaded.add(signature, id: row.text(0))
        }
        try database.prepare("SELECT COALESCE(MAX(seq), 0) FROM articles").rows { accepted = UInt64($0.int(0)) }
        try database.prepare("SELECT COALESCE(MAX(feed_seq), 0) FROM extractions").rows { feed = UInt64($0.int(0)) }
        try database.prepare("SELECT COUNT(*) FROM pending").rows { pending = Int($0.int(0)) }
        signatures = loaded
        lastFeedSeq = feed
        monitor = HeadsMonitor(Heads(acceptedSeq: accepted, feedSeq: feed, pending: pending))
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
    }

    private static func articlesTable(_ name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name) (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            body_hash TEXT NOT NULL UNIQUE,
            signature BLOB NOT NULL,      -- MinHash of the body, 64 little-endian 32-bit values
            article BLOB NOT NULL,        -- Article without original_text
            original_text TEXT            -- the submission as given; NULL when it is the normalized text itself
        );
        """
    }

    /// Brings a store written by an earlier version to the current layout (user_version 2), once, in one transaction
    /// per step.
    private static func migrate(_ database: SQLiteDatabase) throws {
        var columns: Set<String> = []
        try database.prepare("SELECT name FROM pragma_table_info('articles')").rows { columns.insert($0.text(0)) }
        // Stores made before original_text had its own column keep it inside the article blob, which still reads.
        if !columns.contains("original_text") { try database.execute("ALTER TABLE articles ADD COLUMN original_text TEXT") }
        var version = 0
        try database.prepare("PRAGMA user_version").rows { version = Int($0.int(0)) }
        // Version 0 kept extractions, and the outbox, in article columns.
        if version < 1 {
            try database.transaction {
                if columns.contains("extraction") {
                    try database.execute("""
                        INSERT INTO extractions (feed_seq, article_seq, extraction)
                            SELECT feed_seq, seq, extraction FROM articles WHERE extraction IS NOT NULL;
                        INSERT INTO pending (seq, attempts, last_error) SELECT seq, attempts, last_error FROM articles WHERE extraction IS NULL;
                        """)
                }
                try database.execute("PRAGMA user_version = 1")
            }
        }
        // Versions 0 and 1 had a 64-bit SimHash per article instead of a MinHash signature: the table is rebuilt with
        // signatures computed from the stored articles (which also drops version 0's columns).
        if version < 2 {
            try database.transaction {
                if columns.contains("fingerprint") {
                    try database.execute(articlesTable("articles_rebuilt"))
                    let insert = try database.prepare(
                        "INSERT INTO articles_rebuilt (seq, id, body_hash, signature, article, original_text) VALUES (?, ?, ?, ?, ?, ?)")
                    try database.prepare("SELECT seq, id, body_hash, article, original_text FROM articles ORDER BY seq").rows { row in
                        let article = try Article(unpacking: ByteBuffer(bytes: row.blob(3)))
                        let signature = identity(of: article).withUnsafeBufferPointer(MinHash.signature(folded:))
                        _ = try insert.run(.int(row.int(0)), .text(row.text(1)), .text(row.text(2)), .blob(MinHash.bytes(signature)),
                                           .blob(row.blob(3)), row.isNull(4) ? .null : .text(row.text(4)))
                    }
                    try database.execute("DROP TABLE articles; ALTER TABLE articles_rebuilt RENAME TO articles;")
                }
                try database.execute("PRAGMA user_version = 2")
            }
        }
    }

    public func close() async throws {
        try await thread.shutdownGracefully()
    }

    public var currentHeads: Heads { monitor.heads }

    // MARK: accepting

    /// Normalizes, cleans and signs (`MinHash`) a submission; throws `ArticleCleaner.Rejection`.
    public static func prepare(_ request: SubmitRequest) throws(ArticleCleaner.Rejection) -> Candidate {
        guard request.text.utf8.count <= maxArticleBytes else {
            throw .notText("\(request.text.utf8.count) bytes is above the limit of \(maxArticleBytes) bytes per article")
        }
        let text = VietnameseText.normalize(request.text)
        let cleaned = try ArticleCleaner().clean(text)
        var article = Article()
        article.originalText = request.text
        article.text = text
        article.title = cleaned.title
        article.lead = cleaned.lead
        article.paragraphs = cleaned.paragraphs
        article.captions = cleaned.captions
        article.byline = cleaned.byline
        article.sourceURL = request.sourceURL
        article.province = request.province
        article.publishedAt = request.publishedAt.isEmpty ? cleaned.publishedAt : request.publishedAt
        let folded = identity(of: article)
        let hash = sha256Hex(folded)
        article.id = "a" + hash.prefix(16)
        article.extractionStatus = .pending
        return Candidate(article: article, bodyHash: hash, signature: folded.withUnsafeBufferPointer(MinHash.signature(folded:)))
    }

    /// What identifies an article: its cleaned title and paragraphs, folded (the same story with other page furniture
    /// is the same article).
    static func identity(of article: Article) -> [UInt8] {
        let body = ([article.title] + article.paragraphs).joined(separator: "\n")
        var folded: [UInt8] = []
        folded.reserveCapacity(body.utf8.count)
        VietnameseText.fold(body, into: &folded)
        return folded
    }

    /// Stores the article durably (or finds it is a duplicate) and only then returns.
    public func accept(_ candidate: Candidate) async throws -> SubmitResponse {
        try await withCheckedThrowingContinuation { enqueue(.accept(candidate, $0)) }
    }

    private func enqueue(_ write: Write) {
        let startCommitter = queue.withLockedValue { q in
            q.items.append(write)
            defer { q.committing = true }
            return !q.committing
        }
        if startCommitter { thread.submit { _ in self.commitLoop() } }
    }

    /// Runs on `thread`: commits whatever has queued, batch after batch, until the queue is empty.
    private func commitLoop() {
        while true {
            let batch = queue.withLockedValue { q -> [Write] in
                let items = q.items
                q.items = []
                if items.isEmpty { q.committing = false }
                return items
            }
            if batch.isEmpty { return }
            let feedBefore = lastFeedSeq
            var added: [UInt64] = []  // articles of this transaction (signatures, `recent`), undone if it rolls back
            do {
                let results = try database.transaction { () throws -> [WriteResult] in
                    try batch.map { write in
                        switch write {
                        case .accept(let candidate, _): .accepted(try insert(candidate, added: &added))
                        case .extractions(let extractions, _): .extracted(try extractions.map(update))
                        }
                    }
                }
                var accepted = 0, extracted = 0
                for result in results {
                    switch result {
                    case .accepted(let r) where r.outcome == .accepted: accepted += 1
                    case .extracted(let seqs): extracted += seqs.count { $0 != nil }
                    default: break
                    }
                }
                let acceptedSeq = results.compactMap { if case .accepted(let r) = $0, r.outcome == .accepted { r.seq } else { nil } }.last
                monitor.update {
                    if let acceptedSeq { $0.acceptedSeq = acceptedSeq }
                    $0.feedSeq = lastFeedSeq
                    $0.pending += accepted - extracted
                    if extracted > 0 { $0.lastExtractionAt = .now }
                }
                for (write, result) in zip(batch, results) {
                    switch (write, result) {
                    case (.accept(_, let c), .accepted(let r)): c.resume(returning: r)
                    case (.extractions(_, let c), .extracted(let seqs)): c.resume(returning: seqs)
                    default: preconditionFailure("result does not match its write")
                    }
                }
            } catch {
                lastFeedSeq = feedBefore  // rolled back
                signatures.removeLast(added.count)
                for seq in added { recent.removeValue(forKey: seq) }
                for write in batch {
                    switch write {
                    case .accept(_, let c): c.resume(throwing: error)
                    case .extractions(_, let c): c.resume(throwing: error)
                    }
                }
            }
        }
    }

    private lazy var findByHash = try! database.prepare("SELECT id FROM articles WHERE body_hash = ?")
    private lazy var insertArticle = try! database.prepare(
        "INSERT INTO articles (id, body_hash, signature, article, original_text) VALUES (?, ?, ?, ?, ?) RETURNING seq")
    private lazy var insertPending = try! database.prepare("INSERT INTO pending (seq) VALUES (?)")

    private func insert(_ candidate: Candidate, added: inout [UInt64]) throws -> SubmitResponse {
        var response = SubmitResponse()
        var existing: String?
        try findByHash.rows(.text(candidate.bodyHash)) { existing = $0.text(0) }
        if let existing {
            response.outcome = .duplicate
            response.articleID = existing
            response.duplicateOf = existing
            response.similarity = 1
            response.reason = "identical to article \(existing)"
            return response
        }
        var article = candidate.article
        let near = signatures.nearest(candidate.signature)
        if let near {
            article.duplicateOf = near.id
            article.duplicateSimilarity = near.similarity
        }
        var seq: UInt64 = 0
        // The original has its own column: the feed sends the blob as it is, without it. A submission that was
        // already normalized (NFC, one tone placement, tidy spacing: most are) is not stored a second time.
        let original: SQLiteStatement.Value = article.originalText == article.text ? .null : .text(article.originalText)
        article.originalText = ""
        try insertArticle.rows(.text(article.id), .text(candidate.bodyHash), .blob(MinHash.bytes(candidate.signature)),
                               .blob(article.packedBytes()), original) { seq = UInt64($0.int(0)) }
        try insertPending.run(.int(Int64(seq)))
        signatures.add(candidate.signature, id: article.id)
        if recent.count < Self.recentLimit {
            recent[seq] = ExtractRequest(text: article.text, province: article.province, publishedAt: article.publishedAt)
        }
        added.append(seq)
        response.outcome = .accepted
        response.articleID = article.id
        response.seq = seq
        if let near {
            response.duplicateOf = near.id
            response.similarity = near.similarity
        }
        return response
    }

    // MARK: reading

    private lazy var selectArticle = try! database.prepare("""
        SELECT a.seq, a.article, e.extraction, a.original_text FROM articles a LEFT JOIN extractions e ON e.article_seq = a.seq
        WHERE a.id = ?
        """)

    public func get(id: String) async throws -> StoredArticle? {
        try await thread.runIfActive {
            var found: StoredArticle?
            try self.selectArticle.rows(.text(id)) { row in
                var stored = try Self.stored(row, seqColumn: 0, articleColumn: 1, extractionColumn: 2)
                if !row.isNull(3) {
                    stored.article?.originalText = row.text(3)
                } else if let text = stored.article?.text, stored.article?.originalText.isEmpty == true {
                    // NULL: the submission was its normalized text (stores of the first layout kept it in the blob).
                    stored.article?.originalText = text
                }
                found = stored
            }
            return found
        }
    }

    private lazy var countArticles = try! database.prepare("SELECT COUNT(*) FROM articles")

    /// Number of stored articles (each stored once: `id` and `body_hash` are unique).
    public func count() async throws -> Int {
        try await thread.runIfActive {
            var count = 0
            try self.countArticles.rows { count = Int($0.int(0)) }
            return count
        }
    }

    private lazy var selectPending = try! database.prepare(
        "SELECT a.seq, a.id, a.article FROM pending p JOIN articles a ON a.seq = p.seq WHERE p.seq > ? ORDER BY p.seq LIMIT ?")

    /// Articles still waiting for their extraction, oldest first.
    public func pending(after seq: UInt64 = 0, limit: Int) async throws -> [PendingArticle] {
        try await thread.runIfActive {
            var articles: [PendingArticle] = []
            try self.selectPending.rows(.int(Int64(seq)), .int(Int64(limit))) { row in
                let seq = UInt64(row.int(0))
                // The blob is read (its overflow pages loaded, the article unpacked) only if the request is not in memory.
                let request = try self.recent[seq] ?? {
                    let article = try Article(unpacking: ByteBuffer(bytes: row.blob(2)))
                    return ExtractRequest(text: article.text, province: article.province, publishedAt: article.publishedAt)
                }()
                articles.append(PendingArticle(seq: seq, id: row.text(1), request: request))
            }
            return articles
        }
    }

    /// Stores an article's extraction and appends it to the change feed (group-committed with other writes);
    /// returns its feed position, or nil if the article already had one.
    @discardableResult
    public func storeExtraction(articleID: String, _ extraction: Extraction) async throws -> UInt64? {
        // Packed here, not on the one thread that commits.
        try await storeExtractions([StoredExtraction(articleID: articleID, packed: extraction.packedBytes())])[0]
    }

    /// `storeExtraction` for several articles, with the extractions already serialized (as extract sent them): one
    /// feed position or nil for each, in order. They commit together.
    public func storeExtractions(_ extractions: [StoredExtraction]) async throws -> [UInt64?] {
        try await withCheckedThrowingContinuation { enqueue(.extractions(extractions, $0)) }
    }

    private lazy var removePending = try! database.prepare("DELETE FROM pending WHERE seq = (SELECT seq FROM articles WHERE id = ?) RETURNING seq")
    private lazy var insertExtraction = try! database.prepare("INSERT INTO extractions (feed_seq, article_seq, extraction) VALUES (?, ?, ?)")

    /// On `thread`, inside the commit transaction.
    private func update(_ extraction: StoredExtraction) throws -> UInt64? {
        var articleSeq: Int64?
        try removePending.rows(.text(extraction.articleID)) { articleSeq = $0.int(0) }
        guard let articleSeq else { return nil }  // unknown, or already extracted
        recent.removeValue(forKey: UInt64(articleSeq))
        let next = lastFeedSeq + 1
        try insertExtraction.run(.int(Int64(next)), .int(articleSeq), .blob(extraction.packed))
        lastFeedSeq = next
        return next
    }

    private lazy var recordFailure = try! database.prepare(
        "UPDATE pending SET attempts = attempts + 1, last_error = ? WHERE seq = (SELECT seq FROM articles WHERE id = ?)")

    public func recordExtractionFailure(articleID: String, _ error: String) async throws {
        _ = try await thread.runIfActive { try self.recordFailure.run(.text(error), .text(articleID)) }
    }

    private lazy var selectChanges = try! database.prepare(Self.feedQuery(columns: "a.id, e.feed_seq, a.seq, a.article, e.extraction"))
    private lazy var selectPositions = try! database.prepare(Self.feedQuery(columns: "a.id, e.feed_seq"))

    private static func feedQuery(columns: String) -> String {
        "SELECT \(columns) FROM extractions e JOIN articles a ON a.seq = e.article_seq WHERE e.feed_seq > ? ORDER BY e.feed_seq LIMIT ?"
    }

    /// Up to `limit` feed entries after `afterSeq`, in feed order; with `positionsOnly`, without the articles.
    public func changes(after afterSeq: UInt64, limit: Int, positionsOnly: Bool = false) async throws -> [PackedChange] {
        let head = monitor.heads.feedSeq
        return try await thread.runIfActive {
            var changes: [PackedChange] = []
            try (positionsOnly ? self.selectPositions : self.selectChanges).rows(.int(Int64(afterSeq)), .int(Int64(limit))) { row in
                let feedSeq = UInt64(row.int(1))
                var change = ByteBuffer()
                if !positionsOnly {
                    Self.writeStored(article: row.blob(3), seq: UInt64(row.int(2)), extraction: row.blob(4), to: &change)
                }
                Self.writePositions(articleID: row.text(0), feedSeq: feedSeq, head: max(head, feedSeq), to: &change)
                changes.append(PackedChange(seq: feedSeq, bytes: change))
            }
            return changes
        }
    }

    /// `Change.stored` serialized from the stored blobs without unpacking them: the article blob plus its seq and
    /// extraction status (later fields override), then the extraction blob. Equal, once parsed, to the message built
    /// field by field; `ArticleStoreTests` checks that.
    static func writeStored(article: [UInt8], seq: UInt64, extraction: [UInt8], to change: inout ByteBuffer) {
        var articleTail = ByteBuffer()
        WireEncoding.writeVarintField(2, seq, to: &articleTail)  // Article.seq
        WireEncoding.writeVarintField(15, UInt64(ExtractionStatus.extracted.rawValue), to: &articleTail)  // Article.extraction_status
        let articleLength = article.count + articleTail.readableBytes
        var stored = ByteBuffer()
        stored.reserveCapacity(articleLength + extraction.count + 16)
        WireEncoding.writeVarint(1 << 3 | 2, to: &stored)  // StoredArticle.article
        WireEncoding.writeVarint(UInt64(articleLength), to: &stored)
        stored.writeBytes(article)
        stored.writeBuffer(&articleTail)
        WireEncoding.writeLengthDelimitedField(2, extraction, to: &stored)  // StoredArticle.extraction
        change.reserveCapacity(stored.readableBytes + 64)
        WireEncoding.writeLengthDelimitedField(1, stored.readableBytesView, to: &change)  // Change.stored
    }

    /// The rest of a `Change`: head, feed position and article id.
    static func writePositions(articleID: String, feedSeq: UInt64, head: UInt64, to change: inout ByteBuffer) {
        WireEncoding.writeVarintField(2, head, to: &change)  // Change.head_seq
        WireEncoding.writeVarintField(3, feedSeq, to: &change)  // Change.seq
        WireEncoding.writeLengthDelimitedField(4, articleID.utf8, to: &change)  // Change.article_id
    }

    /// Backpressure for bulk loads: waits while `maxBacklog` or more articles are waiting for their extraction
    /// *and* extraction is making progress (one stored within the last second). Under a bulk load the backlog then
    /// stays near `maxBacklog`, which bounds how stale the change feed gets; while extract is down nothing waits,
    /// and articles are accepted as pending, as promised. `progressWindow` is that "within the last second".
    /// Waiting submissions go on in arrival order, one for each article whose extraction is stored.
    public func admit(maxBacklog: Int, progressWindow: Duration = .seconds(1)) async {
        await monitor.admit(maxBacklog: maxBacklog, progressWindow: progressWindow)
    }

    /// Returns once the feed head passes `seq`, or after about `timeout` (see `HeadsMonitor`).
    public func waitForFeed(after seq: UInt64, timeout: Duration) async {
        await monitor.waitForFeed(after: seq, timeout: timeout)
    }

    private static func stored(_ row: SQLiteRow, seqColumn: Int32, articleColumn: Int32, extractionColumn: Int32) throws -> StoredArticle {
        var article = try Article(unpacking: ByteBuffer(bytes: row.blob(articleColumn)))
        article.seq = UInt64(row.int(seqColumn))
        var extraction: Extraction?
        if !row.isNull(extractionColumn) {
            extraction = try Extraction(unpacking: ByteBuffer(bytes: row.blob(extractionColumn)))
            article.extractionStatus = .extracted
        } else {
            article.extractionStatus = .pending
        }
        return StoredArticle(article: article, extraction: extraction)
    }
}

extension WireMessage {
    func packedBytes() -> [UInt8] {
        let buffer = packed()
        return Array(buffer.readableBytesView)
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    _ = SHA256(bytes, bytes.count, &digest)
    let hex = Array("0123456789abcdef".utf8)
    return String(decoding: digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 15)]] }, as: UTF8.self)
}
