import BantinCore
import BantinExtract
import Foundation

/// Deterministic generator of Vietnamese official-press articles for tests and benchmarks.
///
/// Each article reads like the seeds: a title naming the event, a publication line, a source prefix, a lead that
/// names the delegation head with a title chain, body paragraphs that cite documents and give figures, and a closing
/// paragraph. Every person, organization, province, document and date placed in the text is also returned in
/// `expected`, so an extractor can be scored and a search benchmark knows what it should find. The same `seed`
/// always gives the same articles, byte for byte.
public struct CorpusGenerator: Sendable {
    public struct Expected: Sendable, Codable, Hashable {
        public var type: String
        public var text: String
    }

    public struct Article: Sendable, Codable {
        public var index: Int
        public var title: String
        public var text: String
        public var province: String
        public var publishedAt: String
        public var expected: [Expected]
    }

    public let seed: UInt64
    private let provinces: [Lexicon.Province]
    private let familyNames: [String]
    /// A fixed pool per seed, so that many articles cite the same document and the same officials recur.
    private let documents: [(text: String, code: String)]

    public init(seed: UInt64) {
        self.seed = seed
        let lexicon = Lexicon.shared
        provinces = lexicon.allProvinces
        familyNames = lexicon.familyNames
        var random = SplitMix64(seed: seed ^ 0xD0C5)
        documents = (0..<400).map { _ in Self.document(&random) }
    }

    /// The `index`-th article (0-based); independent of the others, so a corpus can be generated in parallel or resumed.
    public func article(_ index: Int) -> Article {
        var random = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
        var expected: [Expected] = []
        let province = random.pick(provinces)
        let unit = province.level == "city" ? "thành phố" : "tỉnh"
        let committee = province.level == "city" ? "Thành ủy" : "Tỉnh ủy"
        expected.append(.init(type: "LOCATION", text: province.name))

        let year = 2019 + random.below(7)
        let month = 1 + random.below(12)
        let day = 1 + random.below(28)
        let eventDay = max(1, day - random.below(3))
        let published = String(format: "%02d/%02d/%d %02d:%02d", day, month, year, 7 + random.below(12), random.below(60))
        expected.append(.init(type: "DATE", text: "\(eventDay)/\(month)"))

        let visitor = person(&random)
        let (visitorTitles, visitorOrganization) = random.pick(Self.centralOffices)
        let host = person(&random)
        let hostTitles = random.pick(Self.provincialOffices).map {
            $0.replacingOccurrences(of: "{committee}", with: committee).replacingOccurrences(of: "{unit}", with: unit)
        }
        let hostOrganizationName = "\(committee) \(province.name)"
        let event = random.pick(Self.events)
        let topic = random.pick(Self.topics)
        let document = random.pick(documents)
        let secondDocument = random.pick(documents)
        for p in [visitor, host] { expected.append(.init(type: "PERSON", text: p)) }
        for t in visitorTitles + hostTitles { expected.append(.init(type: "POSITION", text: t)) }
        expected.append(.init(type: "ORGANIZATION", text: visitorOrganization))
        expected.append(.init(type: "ORGANIZATION", text: hostOrganizationName))
        expected.append(.init(type: "DOCUMENT", text: document.code))
        if secondDocument.code != document.code { expected.append(.init(type: "DOCUMENT", text: secondDocument.code)) }

        let title = "\(visitorOrganization) \(event.title) \(topic.short) tại \(unit) \(province.name)"
        var lines = [title, "Ngày \(published)"]
        let part = random.pick(["Sáng", "Chiều", "Ngày"])
        lines.append("\(Self.prefix(province.name)) - \(part) \(eventDay)/\(month), Đoàn công tác của \(visitorOrganization) do đồng chí \(visitor), "
            + visitorTitles.joined(separator: ", ")
            + " làm Trưởng đoàn đã \(event.verb) với Ban Thường vụ \(hostOrganizationName) về \(topic.long).")
        lines.append("Tiếp và làm việc với Đoàn có đồng chí \(host), " + hostTitles.joined(separator: ", ")
            + "; lãnh đạo các ban, sở, ngành của \(unit).")
        lines.append("Theo báo cáo, thời gian qua \(committee) \(province.name) đã quán triệt và triển khai \(document.text), "
            + "ban hành \(2 + random.below(20)) văn bản chỉ đạo, tổ chức \(10 + random.below(300)) hội nghị với hơn \(1 + random.below(90)).\(100 + random.below(900)) lượt cán bộ, đảng viên tham gia.")
        for _ in 0..<(3 + random.below(5)) { lines.append(paragraph(&random, unit: unit, province: province.name)) }
        lines.append("Phát biểu tại buổi làm việc, đồng chí \(visitor) ghi nhận những kết quả mà \(unit) đạt được, đề nghị thời gian tới tiếp tục thực hiện nghiêm \(secondDocument.text); "
            + random.pick(Self.closings) + ".")
        lines.append("Đồng chí \(host) tiếp thu ý kiến chỉ đạo và khẳng định \(unit) sẽ " + random.pick(Self.commitments) + ".")
        return Article(index: index, title: title, text: lines.joined(separator: "\n") + "\n", province: province.name,
                       publishedAt: published, expected: expected)
    }

    // MARK: - Pieces

    private func person(_ random: inout SplitMix64) -> String {
        let family = random.chance(0.35) ? "Nguyễn" : random.chance(0.2) ? random.pick(["Trần", "Lê", "Phạm", "Hoàng"]) : random.pick(familyNames)
        let middle = random.pick(Self.middleNames)
        let given = random.pick(Self.givenNames)
        return random.chance(0.3) ? "\(family) \(middle) \(random.pick(Self.middleNames)) \(given)" : "\(family) \(middle) \(given)"
    }

    private func paragraph(_ random: inout SplitMix64, unit: String, province: String) -> String {
        (0..<(2 + random.below(3))).map { _ in
            let subject = random.pick(Self.subjects).replacingOccurrences(of: "{unit}", with: unit)
            let figure = "\(1 + random.below(99)),\(random.below(10))%"
            return "\(subject) \(random.pick(Self.actions)) \(random.pick(Self.objects)), \(random.pick(Self.results).replacingOccurrences(of: "{n}", with: figure))."
        }.joined(separator: " ")
    }

    private static func prefix(_ province: String) -> String {
        let initials = province.split(separator: " ").compactMap(\.first).map { String($0).uppercased() }.joined()
        return initials.count >= 2 ? initials : "TTXVN"
    }

    private static func document(_ random: inout SplitMix64) -> (text: String, code: String) {
        let number = 1 + random.below(400)
        let year = 2016 + random.below(10)
        switch random.below(6) {
        case 0:
            let code = "\(number)-NQ/TW"
            return ("Nghị quyết số \(code) của Bộ Chính trị", code)
        case 1:
            let code = "\(number)-CT/TW"
            return ("Chỉ thị số \(code) của Ban Bí thư", code)
        case 2:
            let code = "\(number)-KL/TW"
            return ("Kết luận số \(code) của Bộ Chính trị khóa \(random.pick(["XII", "XIII"]))", code)
        case 3:
            let code = "\(number)/\(year)/NĐ-CP"
            return ("Nghị định số \(code) của Chính phủ", code)
        case 4:
            let code = "\(1000 + number * 7)/QĐ-TTg"
            return ("Quyết định số \(code) của Thủ tướng Chính phủ", code)
        default:
            let code = "\(number)/\(year)/TT-\(random.pick(["BTC", "BGDĐT", "BNV", "BTTTT"]))"
            return ("Thông tư số \(code)", code)
        }
    }

    // MARK: - Vocabulary (written by the Bantin team)

    static let middleNames = ["Văn", "Thị", "Đức", "Minh", "Thanh", "Quốc", "Hồng", "Ngọc", "Xuân", "Hữu", "Công", "Thu", "Kim", "Bá", "Đình", "Mạnh", "Trọng", "Việt", "Hoài", "Phương"]
    static let givenNames = ["An", "Bình", "Chiến", "Dũng", "Đức", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hòa", "Hùng", "Hương", "Huy",
                             "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phong", "Phương", "Quang", "Quân",
                             "Sơn", "Tâm", "Thành", "Thảo", "Thắng", "Thủy", "Trung", "Tuấn", "Tùng", "Vân", "Việt", "Xuân", "Yến",
                             "Cường", "Đông", "Hiền", "Kiên", "Lợi", "Nhung", "Oanh", "Thịnh", "Toàn", "Vinh"]
    static let centralOffices: [([String], String)] = [
        (["Phó Trưởng Ban Tuyên giáo và Dân vận Trung ương"], "Ban Tuyên giáo và Dân vận Trung ương"),
        (["Ủy viên Ban Chấp hành Trung ương Đảng", "Trưởng Ban Tổ chức Trung ương"], "Ban Tổ chức Trung ương"),
        (["Ủy viên Ban Chấp hành Trung ương Đảng", "Trưởng Ban Nội chính Trung ương"], "Ban Nội chính Trung ương"),
        (["Phó Trưởng Ban Kinh tế Trung ương"], "Ban Kinh tế Trung ương"),
        (["Thứ trưởng Bộ Nông nghiệp và Môi trường"], "Bộ Nông nghiệp và Môi trường"),
        (["Thứ trưởng Bộ Giáo dục và Đào tạo"], "Bộ Giáo dục và Đào tạo"),
        (["Ủy viên Ban Chấp hành Trung ương Đảng", "Bộ trưởng Bộ Tài chính"], "Bộ Tài chính"),
        (["Phó Chủ nhiệm Ủy ban Kiểm tra Trung ương"], "Ủy ban Kiểm tra Trung ương"),
        (["Tổng biên tập Tạp chí Cộng sản"], "Tạp chí Cộng sản"),
        (["Phó Chủ tịch Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam"], "Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam"),
    ]
    static let provincialOffices: [[String]] = [
        ["Bí thư {committee}"],
        ["Phó Bí thư Thường trực {committee}"],
        ["Phó Bí thư {committee}", "Chủ tịch UBND {unit}"],
        ["Ủy viên Ban Thường vụ {committee}", "Trưởng Ban Tuyên giáo và Dân vận {committee}"],
        ["Ủy viên Ban Thường vụ {committee}", "Trưởng Ban Tổ chức {committee}"],
        ["Ủy viên Ban Thường vụ {committee}", "Phó Chủ tịch Thường trực UBND {unit}"],
        ["Chủ tịch HĐND {unit}"],
    ]
    static let events: [(title: String, verb: String)] = [
        ("làm việc về", "có buổi làm việc"), ("khảo sát", "khảo sát và làm việc"), ("kiểm tra", "kiểm tra và làm việc"),
        ("giám sát", "giám sát và làm việc"), ("tọa đàm về", "tọa đàm"), ("ký kết chương trình phối hợp về", "ký kết chương trình phối hợp"),
    ]
    static let topics: [(short: String, long: String)] = [
        ("công tác tuyên giáo", "kết quả công tác tuyên giáo và dân vận"),
        ("thông tin đối ngoại", "công tác thông tin đối ngoại và bảo vệ nền tảng tư tưởng của Đảng"),
        ("chuyển đổi số", "tiến độ chuyển đổi số trong các cơ quan đảng, chính quyền"),
        ("xây dựng nông thôn mới", "chương trình mục tiêu quốc gia xây dựng nông thôn mới"),
        ("giảm nghèo bền vững", "thực hiện chương trình giảm nghèo bền vững"),
        ("phòng, chống tham nhũng", "công tác phòng, chống tham nhũng, tiêu cực"),
        ("công tác cán bộ", "công tác tổ chức cán bộ và sắp xếp bộ máy"),
        ("phát triển du lịch", "định hướng phát triển du lịch gắn với bảo tồn di sản"),
        ("giáo dục và đào tạo", "đổi mới căn bản, toàn diện giáo dục và đào tạo"),
        ("bảo vệ môi trường", "quản lý tài nguyên và bảo vệ môi trường"),
        ("kinh tế biên mậu", "phát triển kinh tế cửa khẩu và thương mại biên giới"),
        ("an sinh xã hội", "bảo đảm an sinh xã hội và chăm lo đời sống nhân dân"),
    ]
    static let subjects = [
        "Các cấp ủy, chính quyền {unit}", "Ngành giáo dục {unit}", "Ủy ban Mặt trận Tổ quốc {unit}", "Các sở, ngành",
        "Hội Nông dân các cấp", "Đoàn Thanh niên", "Hội Liên hiệp Phụ nữ", "Lực lượng công an", "Ngành y tế",
        "Các doanh nghiệp trên địa bàn", "Nhiều địa phương", "Báo, đài của {unit}", "Các xã vùng cao", "Ban Chỉ đạo",
    ]
    static let actions = [
        "đã tập trung triển khai", "chủ động phối hợp thực hiện", "đẩy mạnh tuyên truyền về", "tổ chức kiểm tra, giám sát",
        "huy động nguồn lực cho", "rà soát, bổ sung quy hoạch", "nâng cao chất lượng", "đổi mới phương thức",
        "ưu tiên đầu tư cho", "tăng cường ứng dụng công nghệ trong",
    ]
    static let objects = [
        "hạ tầng giao thông nông thôn", "các mô hình sinh kế cho đồng bào dân tộc thiểu số", "công tác cải cách hành chính",
        "phong trào thi đua yêu nước", "việc học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
        "dịch vụ công trực tuyến", "sản xuất nông nghiệp hàng hóa", "các sản phẩm OCOP", "trường học đạt chuẩn quốc gia",
        "bảo hiểm y tế toàn dân", "xóa nhà tạm, nhà dột nát", "quốc phòng toàn dân", "an ninh trật tự khu vực biên giới",
        "công tác phòng, chống thiên tai", "văn hóa các dân tộc", "kinh tế tập thể, hợp tác xã",
    ]
    static let results = [
        "tỷ lệ hoàn thành đạt {n}", "tăng {n} so với cùng kỳ", "góp phần giảm tỷ lệ hộ nghèo còn {n}",
        "tốc độ tăng trưởng ước đạt {n}", "được nhân dân đồng tình ủng hộ", "tạo chuyển biến rõ nét",
        "vượt {n} kế hoạch đề ra", "nhiều chỉ tiêu đạt và vượt kế hoạch",
    ]
    static let closings = [
        "chú trọng nắm bắt tình hình tư tưởng của cán bộ, đảng viên và nhân dân",
        "tăng cường phối hợp giữa các cơ quan trong hệ thống chính trị",
        "đẩy mạnh chuyển đổi số, nâng cao hiệu quả quản lý nhà nước",
        "quan tâm bồi dưỡng, nâng cao trình độ đội ngũ cán bộ làm công tác tham mưu",
    ]
    static let commitments = [
        "tiếp tục lãnh đạo, chỉ đạo quyết liệt để hoàn thành các mục tiêu của nhiệm kỳ",
        "sớm cụ thể hóa các kiến nghị của Đoàn thành chương trình hành động",
        "phát huy kết quả đạt được, khắc phục hạn chế đã được chỉ ra",
    ]
}

