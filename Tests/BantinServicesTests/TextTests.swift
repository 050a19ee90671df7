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
}

enum ServiceProcessesSeeds {
    static func load() throws -> [String] { try ServiceProcesses.seeds() }
}
