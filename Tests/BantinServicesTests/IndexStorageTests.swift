import BantinCore
import BantinCorpus
import BantinIngest
@testable import BantinQuery
import Foundation
import Testing

/// The index's storage: segments per batch, merged as they accumulate, with skip checkpoints in long
/// posting lists. However the articles arrive, the answers must be the same, and BM25 must be the formula.
@Suite struct IndexStorageTests {
    static let queries = [
        "tỉnh", "tinh", "ủy ban", #""ban chấp hành""#, #""thông tin đối ngoại""#, "hội nghị tỉnh ủy", "title:tỉnh",
        "tỉnh -huyện", "đồng chí OR đại biểu", "xã hội sort:date", "nghị quyết type:document", "phát triển kinh tế xã hội",
    ]

    static func results(_ index: SearchIndex, _ text: String, documents: Int? = nil) throws -> [String] {
        let result = index.search(try SearchQuery(parsing: text), offset: 0, limit: 200, documents: documents, facets: ["province", "person", "year"])
        return ["\(result.total) \(result.facets)"] + result.hits.map { "\($0.article.id) \($0.score) \($0.bodyMatches.sorted { $0.key < $1.key })" }
    }

    /// The extracted corpus of the search tests, then 400 more generated articles (not extracted: this is about
    /// postings), so that lists run past document 128, where a re-based first entry changes its varint's length.
    static let changes: Result<[Change], any Error> = Result {
        let extracted = try SearchEngineTests.corpus.get()
        let more = try (0..<400).map { k in
            var change = Change()
            change.stored = StoredArticle(article: try ArticleStore.prepare(SubmitRequest(text: CorpusGenerator(seed: 9).article(k).text)).article,
                                          extraction: Extraction())
            change.seq = UInt64(extracted.count + k + 1)
            return change
        }
        return extracted + more
    }

    /// The per-article tables are shared between the follower and readers: each copy must keep exactly what it
    /// had, whichever of them appends or changes an element afterwards, across chunk boundaries.
    /// The builder's vocabulary map answers as a Dictionary would, through its growth from 1,024 slots to
    /// 131,072, for keys that differ in one word only and for keys that share their home slot's neighbourhood.
    @Test func wordKeyMapAnswersAsADictionary() {
        var map = WordKeyMap<Int32>()
        var reference: [String: Int32] = [:]
        var state: UInt64 = 7
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state }
        for n in 0..<50_000 {
            let (low, high) = n % 3 == 0 ? (UInt64(n), UInt64(0)) : n % 3 == 1 ? (UInt64(0), UInt64(n)) : (next(), next())
            let key = "\(low)/\(high)"
            guard reference[key] == nil else { continue }
            #expect(map[low: low, high: high] == nil)
            map.insert(low: low, high: high, Int32(n))
            reference[key] = Int32(n)
        }
        #expect(map.count == reference.count)
        for (key, value) in reference {
            let words = key.split(separator: "/").map { UInt64($0)! }
            #expect(map[low: words[0], high: words[1]] == value)
        }
        #expect(map[low: 1, high: 1] == nil && map[low: UInt64.max, high: 3] == nil)
    }

    @Test func chunkedArrayCopiesKeepTheirOwnElements() {
        let size = ChunkedArray<Int>.chunkSize
        var writer = ChunkedArray<String>()
        for i in 0..<(size + 10) { writer.append("w\(i)") }
        let reader = writer  // what a search holds
        for i in (size + 10)..<(2 * size + 5) { writer.append("w\(i)") }  // appends in place into the shared chunk
        var behind = reader
        behind.append("b")  // the slot after the reader's count is the writer's: this copy must take its own chunk
        writer[3] = "changed"
        writer[size + 2] = "changed too"
        #expect(reader.count == size + 10 && Array(reader) == (0..<(size + 10)).map { "w\($0)" })
        #expect(behind.count == size + 11 && behind.last == "b" && behind[size + 9] == "w\(size + 9)" && behind[3] == "w3")
        #expect(writer.count == 2 * size + 5 && writer[size + 10] == "w\(size + 10)" && writer.last == "w\(2 * size + 4)")
        #expect(writer[3] == "changed" && writer[size + 2] == "changed too" && reader[size + 2] == "w\(size + 2)")
        var again = behind
        again.append("c")
        behind.append("d")  // `again` claimed the slot first
        #expect(again.last == "c" && behind.last == "d" && again[size + 10] == "b" && behind[size + 10] == "b")
    }

    @Test func batchesOfAnySizeAndTheirMergesAnswerAsOneBatchDoes() throws {
        let changes = try Self.changes.get()
        let whole = SearchIndex()
        whole.apply(changes)
        // Batches of 1 to 150 articles: segments, merged several at a time, lists re-based and their checkpoints
        // carried over (the common syllables are in hundreds of articles, so they have checkpoints).
        let batched = SearchIndex()
        var random = SplitMix64(seed: 11)
        var start = 0
        while start < changes.count {
            let end = min(changes.count, start + 1 + Int(random.next() % 150))
            batched.apply(Array(changes[start..<end]))
            start = end
        }
        #expect(batched.stats == whole.stats)
        #expect(batched.snapshot.segments.count > 1)
        for text in Self.queries {
            #expect(try Self.results(batched, text) == Self.results(whole, text), "\(text)")
            // A cursor's prefix of the collection cuts lists inside a segment.
            #expect(try Self.results(batched, text, documents: 237) == Self.results(whole, text, documents: 237), "\(text) over 237")
        }
        for change in changes {
            let id = change.stored!.article!.id
            #expect(batched.article(id: id) == whole.article(id: id))
        }
        for entity in whole.entities(prefix: "", type: nil, limit: 40) {
            #expect(batched.entityPage(id: entity.id) == whole.entityPage(id: entity.id), "\(entity.name)")
        }
        // And the segmented index survives a snapshot round trip.
        let path = NSTemporaryDirectory() + "bantin-segments-\(UUID().uuidString).snapshot"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try IndexSnapshot.write(batched, to: path)
        let loaded = SearchIndex()
        try IndexSnapshot.load(from: path, into: loaded)
        for text in Self.queries { #expect(try Self.results(loaded, text) == Self.results(whole, text), "\(text) after loading") }
        // The loaded index reads the file where it is mapped: the next snapshot renamed over it, and the file
        // then deleted, must change nothing for it.
        try IndexSnapshot.write(whole, to: path)
        try FileManager.default.removeItem(atPath: path)
        for text in Self.queries { #expect(try Self.results(loaded, text) == Self.results(whole, text), "\(text) after its file went") }
        for change in changes.prefix(50) {
            let id = change.stored!.article!.id
            #expect(loaded.article(id: id) == whole.article(id: id))
        }
    }

    /// However batches come (one article at a time under a steady feed, hundreds when catching up), the segment
    /// list keeps its shape after every batch: size classes never grow towards the end, fewer than four per class.
    /// The last batch's own segments are outside that shape until the next batch merges them in.
    @Test func theSegmentListStaysLogarithmicWhateverTheBatches() throws {
        let changes = try Self.changes.get()
        let index = SearchIndex()
        var random = SplitMix64(seed: 5)
        var start = 0, batches = 0, mostSegments = 0
        while start < changes.count {
            let size = random.next() % 40 == 0 ? 1 + Int(random.next() % 60) : 1
            let end = min(changes.count, start + size)
            index.apply(Array(changes[start..<end]))
            batches += 1
            let segments = index.snapshot.segments
            let settled = segments.filter { $0.firstDocument < start }
            #expect(segments.count - settled.count == 1, "after batch \(batches)")
            start = end
            let classes = settled.map(\.sizeClass)
            #expect(classes == classes.sorted(by: >), "after batch \(batches): \(classes)")
            #expect(Dictionary(grouping: classes) { $0 }.values.allSatisfy { $0.count < Segment.mergeFactor }, "after batch \(batches): \(classes)")
            #expect(zip(segments, segments.dropFirst()).allSatisfy { $0.endDocument == $1.firstDocument })
            mostSegments = max(mostSegments, segments.count)
        }
        #expect(batches > 200 && mostSegments <= 3 * 5 + 1, "\(batches) batches, at most \(mostSegments) segments")
        // Settled (as before a snapshot is written), the last batch's segment has joined the list too.
        index.settle()
        let classes = index.snapshot.segments.map(\.sizeClass)
        #expect(classes == classes.sorted(by: >) && Dictionary(grouping: classes) { $0 }.values.allSatisfy { $0.count < Segment.mergeFactor }, "\(classes)")
        let four = SearchIndex()
        for change in changes.prefix(4) { four.apply(change) }
        #expect(four.snapshot.segments.count == 4, "the fourth one-article segment waits for the next apply")
        four.settle()
        #expect(four.snapshot.segments.map(\.documentCount) == [4])
    }

    /// A plain conjunction streams its cursors (`SearchIndex.conjunction`); every other query builds match lists
    /// clause by clause. Both must give the same matches with the same scores (up to the rounding of adding
    /// three or more scores in another order), whatever the batches.
    @Test func streamedConjunctionsScoreAsTheGeneralEvaluation() throws {
        let changes = try Self.changes.get()
        let index = SearchIndex()
        var start = 0
        while start < changes.count {
            index.apply(Array(changes[start..<min(changes.count, start + 97)]))
            start += 97
        }
        let queries = [
            "tỉnh", "ủy ban", "tinh uy", #""ban chấp""#, "hội nghị tỉnh", "title:tỉnh ủy", "tỉnh -huyện", #"đồng chí -"ban chấp""#,
            "tỉnh -title:tỉnh", "kinh tế xã", #""phát triển" kinh"#, #"nghị quyết province:"Bắc Kạn""#, "Tỉnh ủy sort:date", "xyzzy tỉnh",
        ]
        for text in queries {
            let query = try SearchQuery(parsing: text)
            for documents in [nil, 300] {
                let streamed = index.search(query, offset: 0, limit: 1_000, documents: documents, facets: ["province"], general: false)
                let general = index.search(query, offset: 0, limit: 1_000, documents: documents, facets: ["province"], general: true)
                #expect(streamed.total == general.total, "\(text)")
                #expect(streamed.facets == general.facets, "\(text)")
                let scores = Dictionary(uniqueKeysWithValues: general.hits.map { ($0.article.id, $0.score) })
                #expect(streamed.hits.count == general.hits.count, "\(text)")
                for hit in streamed.hits {
                    let expected = try #require(scores[hit.article.id], "\(text): \(hit.article.id)")
                    #expect(abs(hit.score - expected) <= 1e-12 * expected, "\(text): \(hit.article.id)")
                }
            }
            #expect(index.search(query, offset: 0, limit: 1, documents: nil, facets: [], general: false).total > 0 || text.hasPrefix("xyzzy"), "\(text)")
        }
    }

    /// A batch split over indexing threads (each builder with its own vocabulary for stored bodies) answers as one
    /// thread does, and so does its snapshot loaded into an index with another number of threads, which goes on
    /// indexing.
    @Test func indexingThreadsAnswerAsOneThreadDoes() throws {
        let changes = try Self.changes.get()
        let (first, later) = (Array(changes.prefix(300)), Array(changes.dropFirst(300)))
        let one = SearchIndex(indexThreads: 1), three = SearchIndex(indexThreads: 3)
        one.apply(first)
        three.apply(first)
        #expect(three.snapshot.vocabularies.count == 3 && three.snapshot.segments.count == 3)
        for query in Self.queries { #expect(try Self.results(three, query) == Self.results(one, query), "\(query)") }

        let path = NSTemporaryDirectory() + "bantin-threads-\(UUID().uuidString).snapshot"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try IndexSnapshot.write(three, to: path)
        let loaded = SearchIndex(indexThreads: 2)
        try IndexSnapshot.load(from: path, into: loaded)
        one.apply(later)
        loaded.apply(later)
        for query in Self.queries { #expect(try Self.results(loaded, query) == Self.results(one, query), "\(query)") }
        // Written again (blocks of both runs name their builders' vocabularies) and loaded on one thread.
        try IndexSnapshot.write(loaded, to: path)
        let reloaded = SearchIndex(indexThreads: 1)
        try IndexSnapshot.load(from: path, into: reloaded)
        for change in changes {
            let id = change.stored!.article!.id
            #expect(loaded.article(id: id) == one.article(id: id))
            #expect(reloaded.article(id: id) == one.article(id: id))
        }
    }

    /// Stored bodies are kept as spelling codes (`StoredBody`): every article must read back byte for byte, whatever
    /// lies between its tokens, before and after a snapshot round trip, and articles applied after the load (whose
    /// new spellings continue the loaded vocabulary) as well. A paragraph holding a line break is stored as it is.
    @Test func storedBodiesReadBackByteForByteAcrossSnapshots() throws {
        var state: UInt64 = 7
        func next(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % n }
        let words = ["Người", "người", "NGƯỜI", "tỉnh", "Hoà", "hòa", "ủy", "2026", "Nghị quyết", "03/2025/NQ-HĐND", "đồng chí",
                     "Thành phố Hồ Chí Minh", "nghiêngnghiêngnghiêng", "x", "café", "COVID-19"]
        let gaps = [" ", " ", " ", ", ", ".  ", " - ", "\t", " (", ") ", "“", "”", "", "…"]
        func line() -> String {
            var text = next(3) == 0 ? gaps[next(gaps.count)] : ""
            for _ in 0..<next(30) { text += words[next(words.count)] + gaps[next(gaps.count)] }
            return text
        }
        func article(_ k: Int) -> Change {
            var change = Self.change(k, title: "Bài \(k)", body: "")
            change.stored!.article!.paragraphs = (0..<next(5)).map { _ in line() }
            change.stored!.article!.captions = (0..<next(3)).map { _ in line() }
            if k % 17 == 0 { change.stored!.article!.paragraphs.append("hai\ndòng") }  // not coded: would not split back
            return change
        }
        let first = (1...150).map(article), later = (151...300).map(article)
        let index = SearchIndex()
        for batch in stride(from: 0, to: first.count, by: 40) { index.apply(Array(first[batch..<min(batch + 40, first.count)])) }
        for change in first { #expect(index.article(id: change.stored!.article!.id) == change.stored!.article!) }

        let path = NSTemporaryDirectory() + "bantin-bodies-\(UUID().uuidString).snapshot"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try IndexSnapshot.write(index, to: path)
        let loaded = SearchIndex()
        try IndexSnapshot.load(from: path, into: loaded)
        loaded.apply(later)
        for change in first + later { #expect(loaded.article(id: change.stored!.article!.id) == change.stored!.article!) }
        #expect(try Self.results(loaded, "thanh pho ho chi minh").count > 1)
    }

    /// A coded body that does not decode (a code past the vocabulary, a literal past the record, the wrong number of
    /// lines) is refused rather than read out of bounds.
    @Test func corruptStoredBodiesAreRefused() {
        let spellings = ChunkedArray(["một", "hai"])
        func decode(_ bytes: [UInt8]) -> Article? {
            var article = Article()
            return bytes.withUnsafeBytes { raw in
                do throws(StoredBody.Corrupt) { try StoredBody.decode(raw, spellings: spellings, into: &article); return article } catch { return nil }
            }
        }
        #expect(decode([1, 0, 0, 0 << 1 | 1, 1 << 1, 0])?.paragraphs == ["một hai"])
        #expect(decode([1, 0, 0, 2 << 1 | 1]) == nil)  // code 2 of 2 spellings
        #expect(decode([1, 0, 5, 0x41]) == nil)  // a 5-byte literal with 1 byte left
        #expect(decode([2, 0, 0, 0 << 1, 0]) == nil)  // two paragraphs, one line
        #expect(decode([1, 0, 0, 0x80]) == nil)  // a varint cut short
    }

    static func change(_ seq: Int, title: String, body: String) -> Change {
        var article = Article()
        article.id = "hand-\(seq)"
        article.title = title
        article.paragraphs = [body]
        var change = Change()
        change.stored = StoredArticle(article: article, extraction: Extraction())
        change.seq = UInt64(seq)
        return change
    }

    @Test func scoresAreBM25ComputedByHand() throws {
        let index = SearchIndex()
        index.apply([
            Self.change(1, title: "Hội nghị", body: "tỉnh ủy họp tỉnh ủy"),
            Self.change(2, title: "Tin tức", body: "hội nghị tỉnh"),
            Self.change(3, title: "Thể thao", body: "bóng đá"),
        ])
        // Lengths count the title, 8 positions of gap, then the body: 2 + 8 + 5 = 15, 2 + 8 + 3 = 13, 2 + 8 + 2 = 12.
        let average = (15.0 + 13.0 + 12.0) / 3
        func bm25(tf: Double, length: Double, idf: Double) -> Double { idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average)) }

        // "tỉnh": in articles 1 (twice) and 2 (once) of 3, so idf = ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln 1.6.
        // Both spell it with its diacritics, as typed: both × 1.25.
        let tinh = index.search(try SearchQuery(parsing: "tỉnh"), offset: 0, limit: 10)
        #expect(tinh.hits.map(\.article.id) == ["hand-1", "hand-2"])
        #expect(abs(tinh.hits[0].score - 1.25 * bm25(tf: 2, length: 15, idf: log(1.6))) < 1e-9)
        #expect(abs(tinh.hits[1].score - 1.25 * bm25(tf: 1, length: 13, idf: log(1.6))) < 1e-9)

        // "hội nghị", unquoted: each word is one clause, idf ln 1.6 each. In article 1 both are in the title, which
        // counts three times (tf 1 + 2 · 1 = 3); in article 2 both are in the body (tf 1). They stand side by side
        // in both (× 2), with the diacritics typed (× 1.25).
        let meeting = index.search(try SearchQuery(parsing: "hội nghị"), offset: 0, limit: 10)
        #expect(meeting.hits.map(\.article.id) == ["hand-1", "hand-2"])
        #expect(abs(meeting.hits[0].score - 2 * 1.25 * 2 * bm25(tf: 3, length: 15, idf: log(1.6))) < 1e-9)
        #expect(abs(meeting.hits[1].score - 2 * 1.25 * 2 * bm25(tf: 1, length: 13, idf: log(1.6))) < 1e-9)

        // Typed without diacritics: the same articles, no exact-form factor. "bong da" is in one article of three:
        // idf = ln(1 + 2.5 / 1.5) per syllable, summed for the phrase, tf 1.
        let football = index.search(try SearchQuery(parsing: #""bong da""#), offset: 0, limit: 10)
        #expect(football.hits.map(\.article.id) == ["hand-3"])
        #expect(abs(football.hits[0].score - bm25(tf: 1, length: 12, idf: 2 * log(1 + 2.5 / 1.5))) < 1e-9)
    }
}
