import BantinCore
import Foundation
import Testing

@testable import BantinExtract

/// The extractor's rules one at a time, on sentences written for the purpose.
@Suite struct ExtractorTests {
    static let extractor = Extractor()

    /// (type, surface) of every mention, in text order.
    static func found(_ text: String, province: String = "") -> [(EntityType, String)] {
        extractor.extract(text: text, province: province).mentions.map { ($0.type, $0.surface) }
    }

    static func has(_ text: String, _ type: EntityType, _ surface: String) -> Bool {
        found(text).contains { $0.0 == type && $0.1 == surface }
    }

    /// Entity ids: the folded name, words joined by one hyphen whatever the spacing, and the province for
    /// organizations.
    @Test func entityIDsAreFoldedHyphenatedNames() {
        #expect(ExtractionBuilder.entityID(.person, "Nguyễn Văn  Đức") == "per:nguyen-van-duc")
        #expect(ExtractionBuilder.entityID(.location, " Bắc Kạn ") == "loc:bac-kan")
        #expect(ExtractionBuilder.entityID(.organization, "Sở Y tế", province: "Thừa Thiên Huế") == "org:so-y-te@thua-thien-hue")
        #expect(ExtractionBuilder.entityID(.misc, "") == "misc:")
    }

    /// The unaccented spelling of a unit word ("quan" for "quận") names a unit only in text typed without diacritics.
    @Test func anUnaccentedUnitWordBeforeAnAccentedNameIsNoPlace() {
        let accented = "Đoàn công tác do Trưởng Cơ quan Thường trực Tạp chí Cộng sản tại miền Trung dẫn đầu."
        #expect(!Self.found(accented).contains { $0.0 == .location && $0.1.hasPrefix("quan") })
        #expect(Self.has("Doan cong tac lam viec tai quan Ba Dinh sang nay.", .location, "quan Ba Dinh"))
        #expect(Self.has("Đoàn công tác làm việc tại quận Ba Đình sáng nay.", .location, "quận Ba Đình"))
    }

    /// The byte table the tokenizer looks words up in agrees with the vocabulary it was built from.
    @Test func vocabularyLookupsByBytesAgreeWithLookupsByWord() {
        let lexicon = Lexicon.shared
        var table = ByteTable()
        #expect(table.id(UnsafeBufferPointer(start: nil, count: 0)) == -1)  // empty table
        var words: [Word: Int32] = [:]
        for (i, w) in ["Nguyễn", "nguyen", "Tỉnh", "ủy", "UBND", "a", "ngày", "Đắk", "Lắk"].enumerated() { words[Word(w)] = Int32(i) }
        table = ByteTable(words)
        for (word, id) in words {
            var text = word.text
            #expect(text.withUTF8 { table.id($0) } == id)
            #expect(text.withUTF8 { lexicon.id(of: $0) } == lexicon.id(of: word))
        }
        for unknown in ["Nguyên", "ngay", "", "ủy ban"] {
            var text = unknown
            #expect(text.withUTF8 { table.id($0) } == -1)
        }
        var known = "Tỉnh"
        #expect(known.withUTF8 { lexicon.id(of: $0) } >= 0)
        // Every word of the lexicon, of every length, is found by its bytes under its own number (the hash reads
        // eight bytes at a step and the last few in overlapping pieces).
        for (id, word) in lexicon.vocabulary.words.enumerated() {
            var text = word
            #expect(text.withUTF8 { lexicon.id(of: $0) } == Int32(id), "\(word)")
        }
        for longer in ["Nguyễn Văn", "ThànhphốHồChíMinh", "ab", "abc", "abcd", "abcdefgh", "abcdefghi"] {
            var text = longer
            #expect(text.withUTF8 { table.id($0) } == -1)
        }
    }

    @Test func namesNeverSeenAreFoundFromFamilyNameOrCue() {
        // Neither person is in any lexicon; one has a common family name, the other only a cue.
        #expect(Self.has("Chiều qua, bà Lò Thị Mỷ cho biết gia đình đã nhận hỗ trợ.", .person, "Lò Thị Mỷ"))
        #expect(Self.has("Theo tiền đạo Hùng Dũng Khang, trận đấu rất khó.", .person, "Hùng Dũng Khang"))
        #expect(!Self.has("Theo tiền đạo Hùng Dũng Khang, trận đấu rất khó.", .person, "tiền đạo Hùng Dũng Khang"))
    }

    @Test func foreignNamesAfterAnOfficeOrHonorific() {
        let text = "Tổng thống Pháp Emmanuel Macron đã gặp ông Vladimir Putin và huấn luyện viên Kim Sang-sik."
        #expect(Self.has(text, .person, "Emmanuel Macron"))
        #expect(Self.has(text, .person, "Vladimir Putin"))
        #expect(Self.has(text, .person, "Kim Sang-sik"))
        #expect(Self.has(text, .position, "Tổng thống Pháp"))
        let roles = Self.extractor.extract(text: text).roles
        #expect(roles.contains { $0.title == "Tổng thống Pháp" && $0.personID == "per:emmanuel-macron" })
    }

    @Test func degreesAndHonorificsAreKeptApartFromTheName() throws {
        let extraction = Self.extractor.extract(text: "Sáng nay, PGS,TS Trần Thọ Quang và đồng chí Nông Thanh Tùng làm việc.")
        let quang = try #require(extraction.entities.first { $0.name == "Trần Thọ Quang" })
        #expect(quang.type == .person)
        #expect(extraction.mentions.contains { $0.surface == "Nông Thanh Tùng" && $0.type == .person })
        #expect(extraction.entities.first { $0.name == "Nông Thanh Tùng" }?.honorifics == ["đồng chí"])
    }

    @Test func aTitleChainGivesEachOfficeItsOrganization() {
        let text = "Dự có đồng chí Phương Thị Thanh, Ủy viên Ban Thường vụ, Trưởng Ban Tuyên giáo và Dân vận Tỉnh ủy; ông Mai Xuân Bình - Chủ tịch UBND huyện Hoằng Hóa."
        let extraction = Self.extractor.extract(text: text, province: "Bắc Kạn")
        let titles = Set(extraction.roles.map(\.title))
        #expect(titles == ["Ủy viên Ban Thường vụ Tỉnh ủy", "Trưởng Ban Tuyên giáo và Dân vận Tỉnh ủy", "Chủ tịch UBND huyện Hoằng Hóa"])
        // The provincial committee of the article's province.
        let department = extraction.roles.first { $0.title.hasPrefix("Trưởng") }?.organizationID
        #expect(department == "org:ban-tuyen-giao-va-dan-van-tinh-uy@bac-kan")
    }

    @Test func aShortMentionLaterIsTheSamePerson() {
        let extraction = Self.extractor.extract(text: "Bị cáo Võ Thành Đạt khai nhận hành vi. Tòa xác định Đạt đã chiếm đoạt 35 tỷ đồng.")
        let ids = extraction.mentions.filter { $0.type == .person }.map(\.entityID)
        #expect(ids.count == 2 && Set(ids).count == 1)
    }

    @Test func placesTakeTheirAdministrativeWordAndBothGenerationsMap() throws {
        let text = "Đoàn đến huyện Quỳnh Lưu, tỉnh Nghệ An rồi sang tỉnh Bắc Kạn và Thành phố Hồ Chí Minh."
        #expect(Self.has(text, .location, "huyện Quỳnh Lưu"))
        #expect(Self.has(text, .location, "tỉnh Nghệ An"))
        #expect(Self.has(text, .location, "Thành phố Hồ Chí Minh"))
        // Bắc Kạn became part of Thái Nguyên in the 2025 reorganisation: the entity says so.
        let bacKan = try #require(Self.extractor.extract(text: text).entities.first { $0.name == "Bắc Kạn" })
        #expect(bacKan.province == "Thái Nguyên")
        #expect(bacKan.adminLevel == "province")
    }

    @Test func textWithoutDiacriticsIsReadTheSameWay() {
        let text = "Chieu 5/3, ong Nguyen Van Hai, Chu tich UBND tinh Cao Bang, lam viec voi huyen Bao Lac."
        #expect(Self.has(text, .person, "Nguyen Van Hai"))
        #expect(Self.has(text, .location, "huyen Bao Lac"))
        #expect(Self.has(text, .organization, "UBND tinh Cao Bang"))
        #expect(Self.has(text, .date, "Chieu 5/3") || Self.has(text, .date, "5/3"))
    }

    @Test func abbreviationsFromTheLexiconAndFromTheText() throws {
        let text = "Công tác chuyển đổi số (CĐS) được UBND tỉnh quan tâm; CĐS giúp Liên đoàn Bóng đá Việt Nam (VFF) quản lý giải."
        let extraction = Self.extractor.extract(text: text)
        let abbreviations = Dictionary(extraction.entities.filter { $0.type == .abbreviation }.map { ($0.name, $0.expansion) }, uniquingKeysWith: { a, _ in a })
        #expect(abbreviations["CĐS"] == "chuyển đổi số")
        #expect(abbreviations["UBND"] == "Ủy ban nhân dân")
        #expect(abbreviations["VFF"] == "Liên đoàn Bóng đá Việt Nam")
        #expect(Self.has(text, .organization, "VFF"))
        #expect(extraction.mentions.filter { $0.surface == "CĐS" }.count == 2)
    }

    @Test func documentsCarryKindCodeIssuerAndTermAndOneIdHoweverCited() throws {
        let a = Self.extractor.extract(text: "Thực hiện Chỉ thị số 07-CT/TW ngày 5/9/2016 của Ban Bí thư (khóa XII) về thông tin cơ sở.")
        let document = try #require(a.documents.first)
        #expect(document.kind == "Chỉ thị" && document.code == "07-CT/TW" && document.number == "07" && document.term == "XII")
        #expect(a.mentions.contains { $0.type == .document && $0.surface == "Chỉ thị số 07-CT/TW ngày 5/9/2016 của Ban Bí thư (khóa XII)" })
        #expect(a.mentions.contains { $0.type == .organization && $0.surface == "Ban Bí thư" })
        let b = Self.extractor.extract(text: "Sơ kết Chỉ thị 07-CT/TW tại tỉnh.")
        #expect(b.documents.first?.id == document.id)
    }

    @Test func datesResolveAgainstThePublicationDateAndSayWhenTheYearIsInferred() throws {
        let extraction = Self.extractor.extract(text: "Sáng 10/12, hội nghị tổng kết 6 tháng đầu năm 2023 và nhiệm kỳ 2025 - 2030.", publishedAt: "2025-12-10T08:00:00Z")
        let dates = Dictionary(extraction.dates.map { (String(decoding: Array("Sáng 10/12, hội nghị tổng kết 6 tháng đầu năm 2023 và nhiệm kỳ 2025 - 2030.".utf8)[Int($0.span!.start)..<Int($0.span!.end)], as: UTF8.self), $0) }, uniquingKeysWith: { a, _ in a })
        #expect(dates["Sáng 10/12"]?.value == "2025-12-10")
        #expect(dates["Sáng 10/12"]?.yearInferred == true)
        #expect(dates["6 tháng đầu năm 2023"]?.value == "2023-H1")
        #expect(dates["6 tháng đầu năm 2023"]?.yearInferred == false)
        #expect(dates["nhiệm kỳ 2025 - 2030"]?.value == "2025/2030")
    }

    /// Dates are written zero-padded, as ISO 8601 does: a day and month alone ("--MM-DD"), a month of a year
    /// ("YYYY-MM"), a full date; and document ids hyphenate the folded kind and code.
    @Test func dateValuesAreZeroPaddedAndIdsHyphenated() throws {
        let text = "Ngày 5/9 và tháng 3/2024, rồi ngày 1/2/2025 có Nghị quyết số 18-NQ/TW."
        let bytes = Array(text.utf8)
        let extraction = Self.extractor.extract(text: text)
        let values = Dictionary(extraction.dates.map { (String(decoding: bytes[Int($0.span!.start)..<Int($0.span!.end)], as: UTF8.self), $0.value) },
                                uniquingKeysWith: { a, _ in a })
        #expect(values["Ngày 5/9"] == "--09-05")
        #expect(values["tháng 3/2024"] == "2024-03")
        #expect(values["ngày 1/2/2025"] == "2025-02-01")
        #expect(zeroPadded(7, 4) == "0007" && zeroPadded(2025, 4) == "2025" && zeroPadded(12345, 4) == "12345")
        #expect(hyphenated("nghi quyet 18") == "nghi-quyet-18")
        #expect(extraction.documents.first?.id.contains(" ") == false)
    }

    @Test func theMainEventHasKindDatePlaceAndParticipants() throws {
        let text = "Sáng 10/12, tại tỉnh Cao Bằng, đồng chí Nông Thanh Tùng tiếp đoàn Tạp chí Cộng sản. Tại buổi làm việc, hai bên trao đổi."
        let event = try #require(Self.extractor.extract(text: text, publishedAt: "2025-12-10").events.first)
        #expect(event.kind == "working session")
        #expect(event.date == "2025-12-10")
        #expect(event.locationID == "loc:cao-bang")
        #expect(event.participantIDs.contains("per:nong-thanh-tung") && event.participantIDs.contains { $0.hasPrefix("org:tap-chi-cong-san") })
    }

    /// Bad input: answered, without a crash, with spans inside the text.
    @Test(arguments: [
        "",
        String(repeating: "a", count: 1 << 20),
        String(repeating: "Đ", count: 300_000),
        String(repeating: "Bộ Ông (AB) ", count: 40_000),
        String(repeating: "Nguyễn ", count: 100_000),
        "Ủy viên, Trưởng, Phó, [[PER:x]] ]] Chỉ thị số 07-/ 10/13/2020 nhiệm kỳ - ",
        "Москва 東京 القاهرة Hà Nội 🇻🇳 e\u{301} \u{200B}tỉnh\u{200B} Cao Bằng",
    ])
    func adversarialInputIsAnsweredWithSpansInsideTheText(text: String) {
        let extraction = Self.extractor.extract(text: text)
        let length = UInt32(text.utf8.count)
        #expect(extraction.mentions.allSatisfy { ($0.span?.end ?? 0) <= length })
    }

    @Test func randomUnicodeNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        let pool: [ClosedRange<UInt32>] = [0x20...0x7E, 0xC0...0x1EF9, 0x0400...0x04FF, 0x4E00...0x4E80, 0x1F600...0x1F64F, 0x0300...0x036F]
        for _ in 0..<50 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<2_000 {
                let range = pool.randomElement(using: &generator)!
                if let s = Unicode.Scalar(UInt32.random(in: range, using: &generator)) { scalars.append(s) }
            }
            let text = String(scalars)
            let extraction = Self.extractor.extract(text: text)
            #expect(extraction.mentions.allSatisfy { ($0.span?.end ?? 0) <= UInt32(text.utf8.count) })
        }
    }
}
