import BantinCore
import BantinIngest
import Foundation
import Testing

@Suite struct NormalizerTests {
    @Test func oneTonePlacementForBothStyles() {
        #expect(VietnameseText.normalize("hoà bình") == VietnameseText.normalize("hòa bình"))
        #expect(VietnameseText.normalize("thuỷ") == "thủy")
        #expect(VietnameseText.normalize("khoẻ") == "khỏe")
        #expect(VietnameseText.normalize("Hoà") == "Hòa")
        // Closed syllables and modified vowels are the same in both styles.
        #expect(VietnameseText.normalize("hoàn thành") == "hoàn thành")
        #expect(VietnameseText.normalize("người quý") == "người quý")
    }

    @Test(arguments: [
        ("hoà", "hòa"), ("HOÀ", "HÒA"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("hoá", "hóa"), ("Thuý", "Thúy"),
        ("quý", "quý"), ("giúp", "giúp"), ("người", "người"), ("khuya", "khuya"), ("thuở", "thuở"), ("chiều", "chiều"),
        ("tuỳ", "tùy"), ("hoè", "hòe"), ("giữa", "giữa"), ("quốc", "quốc"), ("oà", "òa"), ("Đoàn", "Đoàn"),
    ])
    func tonePlacementRule(_ input: String, _ expected: String) {
        #expect(VietnameseText.normalize(input) == expected)
        #expect(VietnameseText.normalize(input.decomposedStringWithCanonicalMapping) == expected)
        #expect(VietnameseText.canonicalTonePlacement(input) == expected)
    }

    @Test func foldingCoversEveryVietnameseLetterAndOtherScripts() {
        let letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
        #expect(VietnameseText.fold(letters) == "aaaaaaaaaaaaaaaaaaeeeeeeeeeeeeiiiiiioooooooooooooooooouuuuuuuuuuuuyyyyyyd")
        #expect(VietnameseText.fold(letters.uppercased()) == VietnameseText.fold(letters))
        #expect(VietnameseText.fold("Москва 2025") == "москва 2025")
    }

    /// Folding and letter case read tables below U+3000; over every scalar there (and a few above) they agree
    /// with the Unicode properties: no letter keeps an upper-case form after folding, "İ" loses its dot like
    /// any Latin diacritic, combining marks vanish, and case is what the scalar's properties say for letters outside Vietnamese.
    @Test func tabledFoldingAndCaseAgreeWithUnicodeOverTheWholeTable() {
        var all = ""
        for value in 0..<0x3100 { if let s = Unicode.Scalar(UInt32(value)) { all.unicodeScalars.append(s) } }
        let folded = VietnameseText.fold(all)
        #expect(!folded.unicodeScalars.contains { $0.properties.isUppercase && $0.properties.changesWhenLowercased })
        #expect(VietnameseText.fold("İ") == "i")
        #expect(VietnameseText.lowercased(all) == all.lowercased())
        let letters = all.unicodeScalars.count { VietnameseText.isLetter($0) }, visible = all.unicodeScalars.count { !VietnameseText.isSpace($0) }
        #expect(VietnameseText.countLetters(all) == (letters, visible))
        #expect(VietnameseText.countLetters("Hà Nội, 2024!\t\r\n") == (5, 11))
        #expect(VietnameseText.fold("a\u{301}\u{323}") == "a")
        for value in [0x41, 0x61, 0x1EA0, 0x1EA1, 0x110, 0x111, 0x416, 0x436, 0x3A9, 0x3C9, 0x30, 0x3042] {
            let s = Unicode.Scalar(UInt32(value))!
            #expect(VietnameseText.isUppercase(s) == (s.properties.isUppercase || value == 0x110))
            #expect(VietnameseText.isLowercase(s) == s.properties.isLowercase)
            #expect(syllableCases(String(s)).map(\.capitalized) == [VietnameseText.isUppercase(s)])
        }
        // The tokenizer's scan gives each syllable's case: "HĐND" all capitals, "Hà" and "A" only capitalized.
        #expect(syllableCases("HĐND Hà, A hĐND").map { [$0.capitalized, $0.allCaps] } == [[true, true], [true, false], [true, false], [false, false]])
    }

    private func syllableCases(_ text: String) -> [VietnameseText.SyllableCase] {
        var found: [VietnameseText.SyllableCase] = []
        Array(text.utf8).withUnsafeBufferPointer { VietnameseText.scanSyllables(utf8: $0) { _, letterCase in found.append(letterCase) } }
        return found
    }

    @Test func nfdInputBecomesNFC() {
        let nfd = "Tạp chí Cộng sản".decomposedStringWithCanonicalMapping
        #expect(VietnameseText.normalize(nfd).unicodeScalars.elementsEqual("Tạp chí Cộng sản".unicodeScalars))
    }

    @Test func whitespaceIsTidiedAndLinesKept() {
        #expect(VietnameseText.normalize("  a \u{00A0}\tb  \n c ") == "a b\nc")
    }

    @Test func foldingRemovesDiacriticsAndStrokedD() {
        #expect(VietnameseText.fold("Tạp chí Cộng sản") == "tap chi cong san")
        #expect(VietnameseText.fold("ĐỐI NGOẠI") == "doi ngoai")
    }

    @Test func cleanerFindsStructureInASeed() throws {
        let seeds = try ServiceProcessesSeeds.load()
        let article = try ArticleStore.prepare(SubmitRequest(text: seeds[1])).article
        #expect(article.title == "Triển khai công tác tuyên giáo 6 tháng cuối năm 2023")
        #expect(article.lead.hasPrefix("Sáng 27/6, Ban Tuyên giáo Tỉnh ủy Bắc Kạn"))  // "BBK -" prefix removed
        #expect(!article.paragraphs.contains("Xem thêm"))
        #expect(!article.paragraphs.contains { $0.hasPrefix("0:00") })
        let seed4 = try ArticleStore.prepare(SubmitRequest(text: seeds[4])).article
        #expect(seed4.publishedAt == "2022-08-12T16:53:00")
        #expect(seed4.byline.hasPrefix("Kim Thúy - Vũ Hà"))
        let seed3 = try ArticleStore.prepare(SubmitRequest(text: seeds[3])).article
        #expect(seed3.publishedAt == "")  // "Thứ hai, 27/01/2020" is the site's date, not the article's
        #expect(seed3.byline == "TRANG NINH")
    }

    /// Each rule of the cleaner on a page made up for it: furniture in any case and between punctuation, player
    /// lines, a repeated caption, the publication and site date lines, a source prefix and a byline.
    @Test func cleanerRulesOnAMadeUpPage() throws {
        let page = """
            Thứ 7, 31/12/2021
            « Tin liên quan »
            Hội nghị tổng kết công tác năm 2023 của Sở Nội vụ
            12/08/2022 - 7:05 (GMT+7)
            1:02:03 / 4:05:06
            LSO-Hôm nay, đoàn công tác làm việc với Sở Nội vụ.
            Lãnh đạo tỉnh chụp ảnh lưu niệm
            Lãnh đạo tỉnh chụp ảnh lưu niệm
            Đoàn đánh giá cao kết quả của năm.
            XEM THÊM:
            le ky ket hop tac giua hai tinh nam 2023
            TRANG NINH
            """
        let cleaned = try ArticleCleaner().clean(VietnameseText.normalize(page))
        #expect(cleaned.siteDate == "2021-12-31")
        #expect(cleaned.title == "Hội nghị tổng kết công tác năm 2023 của Sở Nội vụ")
        #expect(cleaned.publishedAt == "2022-08-12T07:05:00")
        #expect(cleaned.sourcePrefix == "LSO")
        #expect(cleaned.paragraphs == ["Hôm nay, đoàn công tác làm việc với Sở Nội vụ.", "Đoàn đánh giá cao kết quả của năm."])
        #expect(cleaned.captions == ["Lãnh đạo tỉnh chụp ảnh lưu niệm"])
        #expect(cleaned.byline == "TRANG NINH")
    }
}

enum ServiceProcessesSeeds {
    static func load() throws -> [String] { try ServiceProcesses.seeds() }
}
