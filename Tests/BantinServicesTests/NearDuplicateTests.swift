import BantinCore
import BantinCorpus
@testable import BantinIngest
import Foundation
import Testing

/// The MinHash threshold (`MinHash.agreeing`) against what it has to tell apart: reprints of one article with edits
/// on one side, other articles of the same genre on the other; and the band lookup against a scan.
@Suite struct NearDuplicateTests {
    static let generator = CorpusGenerator(seed: 21)

    static func signature(_ text: String) throws -> [UInt32] { try ArticleStore.prepare(SubmitRequest(text: text)).signature }

    static func similarity(_ a: [UInt32], _ b: [UInt32]) -> Double {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in MinHash.similarity(a, b) } }
    }

    static let threshold = Double(MinHash.agreeing) / Double(MinHash.bins)

    /// The edits sites make when they reprint a press release; the last one drops a paragraph.
    static func reprints(of text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let paragraphs = lines.indices.dropFirst(2).filter { !lines[$0].isEmpty }
        var edits: [String] = []
        var otherLead = lines
        otherLead[paragraphs[0]] = "Theo tin từ Văn phòng Tỉnh ủy, " + otherLead[paragraphs[0]].prefix(1).lowercased() + otherLead[paragraphs[0]].dropFirst()
        edits.append(otherLead.joined(separator: "\n"))
        edits.append(text + "\nNGUYỄN HÀ (Trung tâm Truyền thông tỉnh)")
        var furniture = lines
        furniture.insert(contentsOf: ["0:00 / 0:00", "Chia sẻ"], at: 1)
        furniture.append(contentsOf: ["Xem thêm", "Tin liên quan"])
        edits.append(furniture.joined(separator: "\n"))
        var shortened = lines
        shortened.remove(at: paragraphs[paragraphs.count / 2])
        lines[paragraphs[1]] = lines[paragraphs[1]].replacingOccurrences(of: "đồng chí", with: "ông")
        edits.append(lines.joined(separator: "\n"))
        edits.append(shortened.joined(separator: "\n"))
        return edits
    }

    @Test func reprintsWithEditsAndADroppedParagraphStayAboveTheThreshold() throws {
        var lowest = 1.0
        for index in 0..<40 {
            let text = Self.generator.article(index).text
            let original = try Self.signature(text)
            for (n, reprint) in Self.reprints(of: text).enumerated() {
                let s = Self.similarity(original, try Self.signature(reprint))
                lowest = min(lowest, s)
                #expect(s >= Self.threshold, "article \(index), edit \(n): similarity \(s)")
            }
        }
        #expect(lowest < 1, "the edits change the signature")
    }

    @Test func otherArticlesOfTheSameGenreStayBelowIt() throws {
        let signatures = try (0..<300).map { try Self.signature(Self.generator.article($0).text) }
        var highest = 0.0
        for i in signatures.indices {
            for j in signatures.indices where j > i { highest = max(highest, Self.similarity(signatures[i], signatures[j])) }
        }
        #expect(highest < Self.threshold, "two different generated articles reach \(highest)")
    }

    @Test func theStoreMarksReprintsAndAnswersAnIdenticalBodyWithTheFirstID() async throws {
        let directory = NSTemporaryDirectory() + "bantin-near-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var store = try ArticleStore(directory: directory)
        let text = Self.generator.article(0).text
        let first = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: text)))
        #expect(first.outcome == .accepted && first.duplicateOf.isEmpty)

        for edit in [0, 4] {  // another opening clause; a dropped paragraph
            let reprint = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: Self.reprints(of: text)[edit])))
            #expect(reprint.outcome == .accepted, "a near-duplicate is stored")
            #expect(reprint.articleID != first.articleID)
            #expect(reprint.duplicateOf == first.articleID)
            #expect(reprint.similarity >= Self.threshold)
            let stored = try #require(try await store.get(id: reprint.articleID)?.article)
            #expect(stored.duplicateOf == first.articleID)
        }

        // The same body under other page furniture is the same article.
        let again = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: Self.reprints(of: text)[2])))
        #expect(again.outcome == .duplicate && again.articleID == first.articleID)

        let other = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: Self.generator.article(1).text)))
        #expect(other.outcome == .accepted && other.duplicateOf.isEmpty)

        // Signatures are stored: after a restart a reprint still finds its original.
        try await store.close()
        store = try ArticleStore(directory: directory)
        let late = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: Self.reprints(of: text)[3])))
        #expect(late.duplicateOf == first.articleID)
        try await store.close()
    }

    /// The band lookup against a scan of every signature. Stored: random signatures and copies of them with 0–30
    /// bins changed. A signature differing from its best match in at most 15 bins shares a whole band with it
    /// (16 bands), so there the lookup must find exactly what the scan finds: the most similar at or above the
    /// threshold, the earliest stored of equally similar ones. Otherwise whatever it finds must be a real match.
    /// Undoing the last adds leaves the index answering as one built without them.
    @Test func theBandLookupFindsWhatAScanFinds() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return MinHash.mix(state) }
        func random() -> [UInt32] { (0..<MinHash.bins).map { _ in UInt32(truncatingIfNeeded: next()) } }
        func changed(_ s: [UInt32], _ bins: Int) -> [UInt32] {
            var s = s
            for _ in 0..<bins { s[Int(next() % UInt64(MinHash.bins))] = UInt32(truncatingIfNeeded: next()) }
            return s
        }
        /// A copy with one bin changed in every band but one: found through that band alone.
        func oneBandLeft(_ s: [UInt32]) -> [UInt32] {
            var s = s
            let kept = Int(next() % UInt64(MinHash.bands))
            for band in 0..<MinHash.bands where band != kept { s[band * MinHash.rows + Int(next() % UInt64(MinHash.rows))] &+= 1 }
            return s
        }
        var stored: [[UInt32]] = []
        for _ in 0..<2000 { stored.append(stored.isEmpty || next() % 3 == 0 ? random() : changed(stored[Int(next() % UInt64(stored.count))], Int(next() % 31))) }
        func scan(_ query: [UInt32], among count: Int) -> (id: String, similarity: Double)? {
            var best: (id: String, similarity: Double)?
            for (i, s) in stored.prefix(count).enumerated() {
                let similarity = Self.similarity(s, query)
                if similarity >= Self.threshold, similarity > best?.similarity ?? 0 { best = ("a\(i)", similarity) }
            }
            return best
        }
        var index = SignatureIndex()
        for (i, s) in stored.enumerated() { index.add(s, id: "a\(i)") }
        index.removeLast(500)
        // A body without words is nobody's near-duplicate, not even another's without words.
        let empty = [UInt32](repeating: .max, count: MinHash.bins)
        var withEmpty = index
        withEmpty.add(empty, id: "empty")
        #expect(withEmpty.nearest(empty) == nil)
        withEmpty.removeLast(1)
        var exact = 0
        for q in 0..<2000 {
            let original = stored[Int(next() % 1500)]
            let query = [random(), changed(original, Int(next() % 31)), oneBandLeft(original)][q % 3]
            let expected = scan(query, among: 1500)
            let got = index.nearest(query)
            if let expected, expected.similarity >= Double(MinHash.bins - 15) / Double(MinHash.bins) {
                #expect(got?.id == expected.id && got?.similarity == expected.similarity, "query \(q)")
                exact += 1
            } else if let got {
                let i = Int(got.id.dropFirst())!
                #expect(i < 1500 && got.similarity == Self.similarity(stored[i], query) && got.similarity >= Self.threshold, "query \(q)")
            }
        }
        #expect(exact > 200, "enough queries are close copies")
    }
}
