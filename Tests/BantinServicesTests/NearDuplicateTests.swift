import BantinCore
import BantinCorpus
@testable import BantinIngest
import Foundation
import Testing

/// The SimHash threshold (`SimHash.maxDistance`) against what it has to tell apart: reprints of one article with
/// edits on one side, other articles of the same genre on the other.
@Suite struct NearDuplicateTests {
    static let generator = CorpusGenerator(seed: 21)

    static func fingerprint(_ text: String) throws -> UInt64 { try ArticleStore.prepare(SubmitRequest(text: text)).fingerprint }

    static func distance(_ a: UInt64, _ b: UInt64) -> Int { (a ^ b).nonzeroBitCount }

    /// The minor edits sites make when they reprint a press release. (Not a dropped paragraph: see `SimHash`.)
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
        lines[paragraphs[1]] = lines[paragraphs[1]].replacingOccurrences(of: "đồng chí", with: "ông")
        edits.append(lines.joined(separator: "\n"))
        return edits
    }

    @Test func reprintsWithEditsStayWithinTheThreshold() throws {
        for index in 0..<40 {
            let text = Self.generator.article(index).text
            let original = try Self.fingerprint(text)
            for (n, reprint) in Self.reprints(of: text).enumerated() {
                let d = Self.distance(original, try Self.fingerprint(reprint))
                #expect(d <= SimHash.maxDistance, "article \(index), edit \(n): distance \(d)")
            }
        }
    }

    @Test func otherArticlesOfTheSameGenreStayBeyondIt() throws {
        let fingerprints = try (0..<300).map { try Self.fingerprint(Self.generator.article($0).text) }
        var closest = 64
        for i in fingerprints.indices {
            for j in fingerprints.indices where j > i { closest = min(closest, Self.distance(fingerprints[i], fingerprints[j])) }
        }
        #expect(closest > SimHash.maxDistance, "two different generated articles are \(closest) bits apart")
    }

    @Test func theStoreMarksAReprintAndAnswersAnIdenticalBodyWithTheFirstID() async throws {
        let directory = NSTemporaryDirectory() + "bantin-near-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ArticleStore(directory: directory)
        let text = Self.generator.article(0).text
        let first = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: text)))
        #expect(first.outcome == .accepted && first.duplicateOf.isEmpty)

        let reprint = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: Self.reprints(of: text)[0])))
        #expect(reprint.outcome == .accepted, "a near-duplicate is stored")
        #expect(reprint.articleID != first.articleID)
        #expect(reprint.duplicateOf == first.articleID)
        #expect(reprint.similarity >= 1 - Double(SimHash.maxDistance) / 64)
        let stored = try #require(try await store.get(id: reprint.articleID)?.article)
        #expect(stored.duplicateOf == first.articleID)

        // The same body under other page furniture is the same article.
        let again = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: Self.reprints(of: text)[2])))
        #expect(again.outcome == .duplicate && again.articleID == first.articleID)

        let other = try await store.accept(try ArticleStore.prepare(SubmitRequest(text: Self.generator.article(1).text)))
        #expect(other.outcome == .accepted && other.duplicateOf.isEmpty)
        try await store.close()
    }

    /// The pigeonhole lookup finds what a scan of every fingerprint finds: the closest within the threshold, the
    /// earliest stored of equally close ones. Stored: random fingerprints and copies of them with 0–9 bits flipped.
    @Test func theFingerprintLookupFindsWhatAFullScanFinds() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return SimHash.mix(state) }
        func flipped(_ f: UInt64, _ bits: Int) -> UInt64 { (0..<bits).reduce(f) { value, _ in value ^ 1 << (next() % 64) } }
        var stored: [UInt64] = []
        for _ in 0..<3000 { stored.append(stored.isEmpty || next() % 3 == 0 ? next() : flipped(stored[Int(next() % UInt64(stored.count))], Int(next() % 10))) }
        var index = FingerprintIndex()
        for (i, f) in stored.enumerated() { index.add(f, id: "a\(i)") }
        var found = 0
        for q in 0..<3000 {
            let query = q % 2 == 0 ? next() : flipped(stored[Int(next() % UInt64(stored.count))], Int(next() % 10))
            var expected: (id: String, similarity: Double)?
            var bestDistance = SimHash.maxDistance + 1
            for (i, f) in stored.enumerated() where (f ^ query).nonzeroBitCount < bestDistance {
                bestDistance = (f ^ query).nonzeroBitCount
                expected = ("a\(i)", SimHash.similarity(f, query))
            }
            let got = index.nearest(query)
            #expect(got?.id == expected?.id && got?.similarity == expected?.similarity, "query \(q)")
            if got != nil { found += 1 }
        }
        #expect(found > 1000, "the queries near stored fingerprints find them")
    }
}
