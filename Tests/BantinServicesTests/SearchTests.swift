import BantinCore
import BantinCorpus
import BantinExtract
import BantinIngest
import BantinQuery
import BantinRPC
import Foundation
import Testing

@Suite struct QuerySyntaxTests {
    @Test func wordsPhrasesOrExclusionFieldsAndFilters() throws {
        let q = try SearchQuery(parsing: #"tuyên giáo "thông tin đối ngoại" a OR "b c" -"Hà Giang" -hội title:tạp province:"Bắc Kạn" from:2023-06 to:2023 entity:per:x type:person sort:date"#)
        #expect(q.clauses.count == 5)
        #expect(q.clauses[0].map(\.terms) == [["tuyen"]])
        #expect(q.clauses[2].map(\.terms) == [["thong", "tin", "doi", "ngoai"]])
        #expect(q.clauses[2][0].isPhrase && q.clauses[2][0].exact == ["thông", "tin", "đối", "ngoại"])
        #expect(q.clauses[3].map(\.terms) == [["a"], ["b", "c"]])
        #expect(q.clauses[4][0].titleOnly && q.clauses[4][0].terms == ["tap"])
        #expect(q.excluded.map(\.terms) == [["ha", "giang"], ["hoi"]])
        #expect(q.provinces == ["bac kan"])
        #expect(q.dateFrom == "2023-06" && q.dateTo == "2023")
        #expect(q.entityIDs == ["per:x"])
        #expect(q.entityTypes == [.person])
        #expect(q.sort == .date)
    }

    @Test func bothTonePlacementsAndNoDiacriticsGiveTheSameTerms() throws {
        let a = try SearchQuery(parsing: "hoà bình"), b = try SearchQuery(parsing: "hòa bình"), c = try SearchQuery(parsing: "hoa binh")
        #expect(a.clauses.map { $0.map(\.terms) } == c.clauses.map { $0.map(\.terms) })
        #expect(a.clauses.map { $0.map(\.exact) } == b.clauses.map { $0.map(\.exact) })
    }

    @Test(arguments: [#""not closed"#, "OR a", "a OR", "type:planet", "sort:random", "from:yesterday", "province:"])
    func malformedQueriesSayWhatIsWrong(_ text: String) {
        #expect(throws: SearchQuery.ParseError.self) { try SearchQuery(parsing: text) }
    }
}

@Suite struct SearchEngineTests {
    /// The five seeds and 80 generated articles, prepared and extracted as the services do: once for the
    /// whole run. Extraction is the costly part, and tests that each redo it keep the shared thread pool
    /// so busy that timing-sensitive tests elsewhere in the run starve.
    static let corpus: Result<[Change], any Error> = Result {
        let extractor = Extractor()
        let texts = try ServiceProcessesSeeds.load() + (0..<80).map { CorpusGenerator(seed: 3).article($0).text }
        return try texts.enumerated().map { k, text in
            let article = try ArticleStore.prepare(SubmitRequest(text: text)).article
            var change = Change()
            change.stored = StoredArticle(article: article, extraction: extractor.extract(text: article.text, publishedAt: article.publishedAt))
            change.seq = UInt64(k + 1)
            return change
        }
    }

    /// The five seeds plus the first `generated` generated articles, in a fresh index.
    static func index(generated: Int = 60) throws -> (SearchIndex, [String]) {
        let changes = Array(try corpus.get().prefix(5 + generated))
        let index = SearchIndex()
        index.apply(changes)
        return (index, changes.map { $0.stored!.article!.id })
    }

    static func search(_ index: SearchIndex, _ text: String, limit: Int = 100, facets: [String] = []) throws -> SearchIndex.Result {
        index.search(try SearchQuery(parsing: text), offset: 0, limit: limit, facets: facets)
    }

    @Test func phrasesOrExclusionAndTitleNarrowAsDocumented() throws {
        let (index, _) = try Self.index()
        let words = try Self.search(index, "thông tin đối ngoại")
        let phrase = try Self.search(index, #""thông tin đối ngoại""#)
        #expect(phrase.total > 0 && phrase.total <= words.total)
        let a = try Self.search(index, #""chuyển đổi số""#).total, b = try Self.search(index, #""giảm nghèo""#).total
        let either = try Self.search(index, #""chuyển đổi số" OR "giảm nghèo""#).total
        #expect(either >= max(a, b) && either <= a + b)
        let without = try Self.search(index, #""chuyển đổi số" -"giảm nghèo""#).total
        #expect(without == either - b)
        let title = try Self.search(index, "title:tuyên")
        #expect(title.hits.allSatisfy { VietnameseText.fold($0.article.title).contains("tuyen") })
        #expect(try Self.search(index, #""tap chi cong san""#).hits.first.map { VietnameseText.fold($0.article.title).contains("tap chi cong san") } == true)
    }

    /// An entity page's co-mentions, timeline and provinces agree with counting over the extractions.
    @Test func entityPagesCountCoMentionsMonthsAndProvinces() throws {
        let (index, _) = try Self.index(generated: 80)
        let extractions = try Self.corpus.get().map { $0.stored!.extraction! }
        let sets = extractions.map { Set($0.entities.map(\.id)) }
        func articles(_ id: String) -> [Int] { sets.indices.filter { sets[$0].contains(id) } }
        // The person named in most articles.
        let people = Set(extractions.flatMap { $0.entities.filter { $0.type == .person }.map(\.id) })
        let person = try #require(people.max { (articles($0).count, $1) < (articles($1).count, $0) })
        let page = try #require(index.entityPage(id: person))
        let mine = articles(person)
        #expect(page.articleIDs.count == mine.count)
        #expect(page.timeline.reduce(0) { $0 + Int($1.articles) } == mine.count)
        #expect(page.timeline.map(\.period) == page.timeline.map(\.period).sorted())
        #expect(page.provinces.reduce(0) { $0 + Int($1.count) } <= mine.count)
        #expect(!page.coMentions.isEmpty)
        for mention in page.coMentions {
            let theirs = articles(mention.entityID)
            let both = mine.filter(theirs.contains).count
            #expect(Int(mention.articles) == both, "\(mention.name)")
            #expect(abs(mention.score - 2 * Double(both) / Double(mine.count + theirs.count)) < 1e-12, "\(mention.name)")
        }
        #expect(page.coMentions.map(\.score) == page.coMentions.map(\.score).sorted(by: >))
        #expect(!page.coMentions.contains { $0.type == .date })
        #expect(page.events.map(\.date) == page.events.map(\.date).sorted())
    }

    /// Who met whom: a central body and a province, found from the events, in a date range, kept by snapshots.
    @Test func meetingsBetweenACentralBodyAndAProvince() throws {
        let (index, _) = try Self.index(generated: 80)
        let stored = try Self.corpus.get().map { $0.stored! }
        // A working visit: an organization without a province (central) meeting someone filed under a province.
        var visit: (central: Entity, province: String)?
        for article in stored.dropFirst(5) {  // the generated ones, which carry publication dates
            let entities = Dictionary(article.extraction!.entities.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for event in article.extraction!.events {
                let participants = event.participantIDs.compactMap { entities[$0] }
                if let central = participants.first(where: { $0.type == .organization && $0.province.isEmpty }),
                   let local = participants.first(where: { !$0.province.isEmpty }) {
                    visit = (central, local.province)
                    break
                }
            }
            if visit != nil { break }
        }
        let (central, province) = try #require(visit, "the generated articles hold central visits to provinces")
        let found = index.meetings(MeetingsRequest(sideA: central.id, sideB: province, limit: 100))
        #expect(!found.isEmpty)
        for meeting in found {
            #expect(meeting.sideAIDs.contains(central.id))
            let sideB = meeting.sideBIDs.compactMap { id in stored.flatMap { $0.extraction!.entities }.first { $0.id == id } }
            #expect(sideB.allSatisfy { VietnameseText.fold($0.province) == VietnameseText.fold(province) || $0.name == province }, "\(sideB.map(\.name))")
        }
        #expect(found.map(\.date) == found.map(\.date).sorted(by: >), "newest first")
        // The date range narrows it: nothing before the earliest date, every dated meeting from it on.
        let dated = found.filter { $0.date.first?.isNumber == true }
        let earliest = try #require(dated.last?.date)
        #expect(index.meetings(MeetingsRequest(sideA: central.id, sideB: province, dateFrom: earliest, limit: 100)).count == dated.count)
        let before = String(Int(earliest.prefix(4))! - 1)
        #expect(index.meetings(MeetingsRequest(sideA: central.id, sideB: province, dateTo: before, limit: 100)).isEmpty)
        // A snapshot keeps the events.
        let path = IndexSnapshotTests.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try IndexSnapshot.write(index, to: path)
        let loaded = SearchIndex()
        try IndexSnapshot.load(from: path, into: loaded)
        #expect(loaded.meetings(MeetingsRequest(sideA: central.id, sideB: province, limit: 100)) == found)
    }

    /// Names are found by their beginning, diacritics optional, and with a typo or two when nothing starts that way.
    @Test func entityLookupToleratesTypos() throws {
        let (index, _) = try Self.index(generated: 20)
        #expect(index.entities(prefix: "nong thanh", type: .person, limit: 5).first?.name == "Nông Thanh Tùng")
        for typo in ["nong thnah tung", "nomg thanh tung", "nong thanh tuung", "nông thanh tùg"] {
            #expect(index.entities(prefix: typo, type: .person, limit: 5).first?.name == "Nông Thanh Tùng", "\(typo)")
        }
        #expect(index.entities(prefix: "nong xyzq tung", type: .person, limit: 5).isEmpty, "three edits are too many")
        #expect(index.entities(prefix: "nog", type: .person, limit: 5).isEmpty, "short prefixes are taken as typed")
        #expect(SearchIndex.editDistance(Array("thanh".utf8), Array("thnah".utf8)[...], limit: 2) == 1)
        #expect(SearchIndex.editDistance(Array("tung".utf8), Array("tunh".utf8)[...], limit: 2) == 1)
        #expect(SearchIndex.editDistance(Array("abc".utf8), Array("xyz".utf8)[...], limit: 2) == 3)
        #expect(SearchIndex.editDistance(Array("".utf8), Array("ab".utf8)[...], limit: 2) == 2)
    }

    /// Hostile query strings get INVALID_ARGUMENT with a reason; none crashes or runs away.
    @Test func emptyHugeAndOperatorOnlyQueriesAreRefusedWithAReason() throws {
        let (index, _) = try Self.index(generated: 10)
        let service = QueryService(index: index)
        let cases: [(String, String)] = [
            ("", "the query is empty"),
            ("   ", "the query is empty"),
            (String(repeating: "tỉnh ủy ", count: 12_800), "the limit is 1024"),  // 100 KB
            (String(repeating: "a ", count: 40), "the limit is 32"),
            (String(repeating: "\"", count: 7), "query:"),
            ("OR OR OR", "query:"),
            ("title:", "query:"),
            ("from:yesterday", "query:"),
        ]
        for (text, reason) in cases {
            let error = #expect(throws: RPCError.self, "\(text.prefix(40))") { try service.search(SearchRequest(query: text)) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(reason) == true, "\(text.prefix(40)): \(error?.message ?? "")")
        }
        // Operators and quotes around real words are fine.
        #expect(try service.search(SearchRequest(query: #""tỉnh ủy" OR "ban chấp" -"xyz" title:tỉnh"#)).total >= 0)
    }

    /// Phrase matching through the postings finds exactly the articles a scan of their text finds.
    @Test func phrasesFindWhatAScanOfTheTextFinds() throws {
        let (index, ids) = try Self.index()
        let texts = ids.map { id -> [String] in
            let article = index.article(id: id)!
            return VietnameseText.tokens(VietnameseText.fold(article.title + "\n" + SearchIndex.body(of: article))).map { String($0.text) }
        }
        for phrase in ["giảm nghèo", "ban chấp", "tỉnh ủy", "kế hoạch", "ủy ban nhân dân", "chuyển đổi số", "ve", "dân dân"] {
            let terms = VietnameseText.tokens(VietnameseText.fold(phrase)).map { String($0.text) }
            let scanned = texts.filter { words in
                words.indices.contains { start in start + terms.count <= words.count && words[start..<(start + terms.count)].elementsEqual(terms) }
            }.count
            #expect(try Self.search(index, "\"\(phrase)\"").total == scanned, "\(phrase)")
        }
    }

    /// The snippet cut from the postings' positions is the one a scan of the text finds.
    @Test func snippetsFromThePostingsMatchAScanOfTheText() throws {
        let (index, _) = try Self.index()
        for text in [#""thông tin đối ngoại""#, "tỉnh ủy", #""ban chấp hành" trung ương"#, "hội nghị -title:hội"] {
            let query = try SearchQuery(parsing: text)
            for hit in index.search(query, offset: 0, limit: 10).hits {
                let body = hit.body
                #expect(body == SearchIndex.body(of: try #require(index.article(id: hit.article.id))))
                let fromIndex = Snippets.make(body: body, matches: hit.bodyMatches)
                let scanned = Snippets.make(body: body, phrases: query.clauses.flatMap { $0 }.filter { !$0.titleOnly }.map(\.terms))
                #expect(fromIndex.snippet == scanned.snippet, "\(text) in \(hit.article.id)")
                #expect(fromIndex.highlights == scanned.highlights, "\(text) in \(hit.article.id)")
            }
        }
    }

    /// Among equally good matches, the articles written with the query's own diacritics come first.
    @Test func exactDiacriticsRankFirst() throws {
        let index = SearchIndex()
        // Two articles alike but for "tin"/"tín" and a date (which keeps their identities apart).
        let body = "Các cơ quan báo chí của tỉnh đã đưa %@ nhanh về tình hình phòng chống thiên tai trong tuần %@."
        let texts = ["Hội nghị giao ban công tác báo chí\n\n" + String(format: body, "tin", "3"),
                     "Hội nghị giao ban công tác báo chí\n\n" + String(format: body, "tín", "4")]
        index.apply(try texts.enumerated().map { k, text in
            var change = Change()
            change.stored = StoredArticle(article: try ArticleStore.prepare(SubmitRequest(text: text)).article, extraction: nil)
            change.seq = UInt64(k + 1)
            return change
        })
        let accented = try Self.search(index, "tín").hits.map(\.body)
        #expect(accented.count == 2 && accented.first?.contains("đưa tín") == true, "\(accented)")
        let plain = try Self.search(index, "tin").hits
        #expect(plain.count == 2 && plain.first?.score == plain.last?.score, "no diacritics typed: no preference")
    }

    @Test func provinceFilterMatchesTheOldAndTheCurrentProvince() throws {
        let (index, _) = try Self.index(generated: 0)
        let old = try Self.search(index, #"province:"Bắc Kạn""#)
        let current = try Self.search(index, #"province:"Thái Nguyên""#)
        #expect(old.total > 0)
        #expect(Set(old.hits.map(\.article.id)).isSubset(of: Set(current.hits.map(\.article.id))))
        #expect(try Self.search(index, #"province:"Cà Mau""#).total == 0)
    }

    /// With no event to place it, an article is filed under the place with a province it mentions most; a place
    /// without one (a country) does not count, and a tie goes to the smaller id.
    @Test func anArticleWithoutEventsIsFiledUnderThePlaceItMentionsMost() throws {
        func place(_ id: String, _ name: String, province: String) -> Entity {
            var entity = Entity(id: id, type: .location, name: name)
            entity.province = province
            return entity
        }
        func change(_ seq: UInt64, _ title: String, places: [Entity], mentions: [String]) throws -> Change {
            var article = try ArticleStore.prepare(SubmitRequest(text: "\(title)\n\nHội nghị bàn về công tác cán bộ và phát triển kinh tế.")).article
            article.province = ""
            var extraction = Extraction()
            extraction.entities = places
            extraction.mentions = mentions.map { Mention(entityID: $0, type: .location, span: Span(), surface: "") }
            var change = Change()
            change.stored = StoredArticle(article: article, extraction: extraction)
            change.seq = seq
            return change
        }
        let caoBang = place("loc:cao-bang", "Cao Bằng", province: "Cao Bằng"), langSon = place("loc:lang-son", "Lạng Sơn", province: "Lạng Sơn")
        let vietNam = place("loc:viet-nam", "Việt Nam", province: "")
        let index = SearchIndex()
        index.apply([
            try change(1, "Tin thứ nhất", places: [caoBang, langSon, vietNam],
                       mentions: ["loc:viet-nam", "loc:viet-nam", "loc:viet-nam", "loc:cao-bang", "loc:lang-son", "loc:lang-son"]),
            try change(2, "Tin thứ hai", places: [langSon, caoBang], mentions: ["loc:lang-son", "loc:cao-bang"]),
        ])
        let hits = try Self.search(index, "hội nghị").hits
        #expect(Dictionary(uniqueKeysWithValues: hits.map { ($0.article.title, $0.provinceName) }) == ["Tin thứ nhất": "Lạng Sơn", "Tin thứ hai": "Cao Bằng"])
        #expect(try Self.search(index, #"hội nghị province:"Lạng Sơn""#).hits.map(\.article.title) == ["Tin thứ nhất"])
    }

    @Test func dateFiltersAndSortByDate() throws {
        let (index, _) = try Self.index()
        let all = try Self.search(index, "sort:date from:2019")
        let dates = all.hits.map(\.date)
        #expect(all.total > 50 && !dates.contains(""))
        #expect(dates == dates.sorted(by: >))
        let in2021 = try Self.search(index, "from:2021 to:2021")
        #expect(in2021.total > 0 && in2021.hits.allSatisfy { $0.date.hasPrefix("2021") })
    }

    @Test func aCursorKeepsTheRankingWhileArticlesArrive() throws {
        let (index, _) = try Self.index()
        let query = try SearchQuery(parsing: "tỉnh")
        let first = index.search(query, offset: 0, limit: 10)
        let all = index.search(query, offset: 0, limit: 1000)
        // More articles arrive between the pages.
        var change = Change()
        change.stored = StoredArticle(article: try ArticleStore.prepare(SubmitRequest(text: CorpusGenerator(seed: 99).article(0).text)).article, extraction: Extraction())
        change.seq = 1000
        index.apply(change)
        let second = index.search(query, offset: 10, limit: 10, documents: first.documents)
        #expect((first.hits + second.hits).map(\.article.id) == all.hits.prefix(20).map(\.article.id))
        #expect(index.search(query, offset: 0, limit: 1000).total == all.total + 1)
    }

    @Test func facetsCountEveryMatch() throws {
        let (index, _) = try Self.index()
        let result = try Self.search(index, "tỉnh", limit: 5, facets: ["province", "year", "person", "document"])
        #expect(result.facets.map(\.name) == ["province", "year", "person", "document"])
        let years = result.facets[1].counts
        #expect(years.reduce(0) { $0 + Int($1.count) } <= result.total)
        #expect(years.reduce(0) { $0 + Int($1.count) } > result.hits.count)
        #expect(result.facets[2].counts.allSatisfy { $0.value.hasPrefix("per:") && !$0.label.isEmpty })
    }
}

@Suite struct SnippetTests {
    @Test func highlightsMarkTheMatchedWordsAndPhrasesOnlyWhereTheyStandTogether() {
        let body = "Đồng chí phát biểu. " + String(repeating: "Nội dung khác của hội nghị. ", count: 20)
            + "Ban Tuyên giáo phối hợp với Tạp chí Cộng sản trong công tác thông tin."
        let (snippet, highlights) = Snippets.make(body: body, phrases: [["tap", "chi", "cong", "san"]])
        let marked = highlights.compactMap(\.span).map { span in
            String(decoding: Array(snippet.utf8)[Int(span.start)..<Int(span.end)], as: UTF8.self)
        }
        #expect(marked == ["Tạp", "chí", "Cộng", "sản"], "the lone 'chí' of 'Đồng chí' is not part of the phrase")
        #expect(snippet.utf8.count <= Snippets.length + 8)
        #expect(snippet.hasPrefix("… "))
    }
}

@Suite struct IndexSnapshotTests {
    static func temporaryPath() -> String { NSTemporaryDirectory() + "bantin-snapshot-\(UUID().uuidString)" }

    @Test func aLoadedSnapshotAnswersExactlyAsTheIndexItWasTakenFrom() throws {
        let (index, ids) = try SearchEngineTests.index()
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = try IndexSnapshot.write(index, to: path)
        #expect(bytes > 0 && !FileManager.default.fileExists(atPath: path + ".tmp"))
        let loaded = SearchIndex()
        try IndexSnapshot.load(from: path, into: loaded)
        #expect(loaded.stats == index.stats)
        for text in ["tap chi cong san", #""thông tin đối ngoại""#, #"province:"Thái Nguyên""#, "tỉnh sort:date", "type:person from:2020"] {
            let query = try SearchQuery(parsing: text)
            let a = index.search(query, offset: 0, limit: 50, facets: ["province", "person"])
            let b = loaded.search(query, offset: 0, limit: 50, facets: ["province", "person"])
            #expect(a.hits.map(\.article) == b.hits.map(\.article), "\(text)")
            #expect(a.hits.map(\.score) == b.hits.map(\.score), "\(text)")
            #expect(a.facets == b.facets, "\(text)")
        }
        #expect(loaded.article(id: ids[0]) == index.article(id: ids[0]))
        let person = try #require(index.entities(prefix: "nong thanh", type: .person, limit: 1).first)
        #expect(loaded.entityPage(id: person.id) == index.entityPage(id: person.id))
        // And it goes on taking changes where the original left off.
        var change = Change()
        change.stored = StoredArticle(article: try ArticleStore.prepare(SubmitRequest(text: CorpusGenerator(seed: 77).article(0).text)).article, extraction: Extraction())
        change.seq = index.appliedSeq + 1
        loaded.apply(change)
        #expect(loaded.stats.articles == index.stats.articles + 1)
    }

    @Test func aDamagedTruncatedOrForeignFileIsRefusedWithItsReason() throws {
        let (index, _) = try SearchEngineTests.index(generated: 5)
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try IndexSnapshot.write(index, to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        var flipped = good
        flipped[flipped.count / 2] ^= 0x40
        var otherVersion = good
        otherVersion[8] = 9
        let cases: [(Data, String)] = [
            (flipped, "checksum"), (good.prefix(good.count - 10), "truncated"), (otherVersion, "format version 9;"),
            (Data("not a snapshot at all".utf8), "not a Bantin index snapshot"),
        ]
        for (bytes, reason) in cases {
            try bytes.write(to: URL(fileURLWithPath: path))
            let fresh = SearchIndex()
            let error = #expect(throws: IndexSnapshot.Invalid.self) { try IndexSnapshot.load(from: path, into: fresh) }
            #expect(error?.description.contains(reason) == true, "\(error?.description ?? "") should mention \(reason)")
            #expect(fresh.stats.articles == 0, "nothing half-loaded")
        }
    }
}
