import BantinCore
import Foundation

/// Turns the text of a news page (as copied or scraped, one block per line) into an article's
/// structure: title, lead, paragraphs, photo captions, byline, publication time, with page
/// furniture removed. Learned from `seeds/` but written as general rules of Vietnamese news sites.
public struct ArticleCleaner: Sendable {
    public struct Cleaned: Sendable, Equatable {
        public var title = ""
        public var lead = ""
        public var paragraphs: [String] = []
        public var captions: [String] = []
        public var byline = ""
        /// "BBK", "LSO": the agency or paper code some sites put before the first sentence.
        public var sourcePrefix = ""
        /// ISO 8601 ("2022-08-12T16:53:00"), from a "Ngày 12/08/2022 16:53" header, if any.
        public var publishedAt = ""
        /// ISO date of a site header such as "Thứ hai, 27/01/2020": the day the page was shown,
        /// not when the article appeared or the event happened.
        public var siteDate = ""
    }

    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case empty
        case noTitle
        case notText(String)

        public var description: String {
            switch self {
            case .empty: "the article has no text"
            case .noTitle: "no title found: the first lines should be a headline of at most 300 bytes without a final full stop"
            case .notText(let why): "not an article: \(why)"
            }
        }
    }

    public init() {}

    public func clean(_ normalizedText: String) throws(Rejection) -> Cleaned {
        var out = Cleaned()
        let blocks = Self.blocks(of: normalizedText)
        guard !blocks.isEmpty else { throw .empty }
        let (letters, visible) = VietnameseText.countLetters(normalizedText)
        guard letters * 2 >= visible else {
            throw .notText("fewer than half of its characters are letters")
        }

        var remaining: [String] = []
        var seen = Set<BlockBytes>()
        for block in blocks {
            if Self.isFurniture(block) { continue }
            // The publication line sits just before or just after the headline.
            if out.publishedAt.isEmpty, remaining.count <= 1, let published = Self.publicationHeader(block) {
                out.publishedAt = published
                continue
            }
            if out.siteDate.isEmpty, remaining.isEmpty, let site = Self.siteDateHeader(block) {
                out.siteDate = site
                continue
            }
            // A caption repeated (image alt text and caption) counts once.
            guard seen.insert(BlockBytes(block)).inserted else { continue }
            remaining.append(block)
        }

        guard let titleIndex = remaining.firstIndex(where: Self.looksLikeTitle) else { throw .noTitle }
        out.title = remaining[titleIndex]
        remaining.remove(at: titleIndex)

        if let last = remaining.last, Self.looksLikeByline(last) {
            out.byline = last
            remaining.removeLast()
        }
        for block in remaining {
            if Self.looksLikeCaption(block) {
                out.captions.append(block)
            } else {
                out.paragraphs.append(block)
            }
        }
        if var first = out.paragraphs.first, let (prefix, rest) = Self.splitSourcePrefix(first) {
            out.sourcePrefix = prefix
            first = rest
            out.paragraphs[0] = first
        }
        out.lead = out.paragraphs.first ?? ""
        return out
    }

    // MARK: rules

    /// Lines grouped into blocks: a line that does not end a sentence and is followed by one
    /// starting in lower case continues it (captions wrapped over several lines). The text is
    /// normalized, so lines are already trimmed.
    static func blocks(of text: String) -> [String] {
        var text = text
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable(blocks(utf8:))!
    }

    /// Scalars that end a line for good: the next line starts a new block even in lower case.
    private static let blockEnds: [UInt32] = ".!?:;…\"”".unicodeScalars.map(\.value)

    /// `blocks` of valid UTF-8, line by line on the bytes: splitting a String by Characters (grapheme breaking
    /// every character) was a fifth of an article's ingest.
    private static func blocks(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var blocks: [String] = []
        var current: [UInt8] = []
        var currentLast: UInt32 = 0  // the last scalar of `current`
        func flush() {
            if !current.isEmpty { blocks.append(String(decoding: current, as: UTF8.self)) }
            current.removeAll(keepingCapacity: true)
        }
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            defer { start = end + 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if line.isEmpty {
                flush()
                continue
            }
            var lastStart = line.count - 1
            while lastStart > 0, line[lastStart] & 0xC0 == 0x80 { lastStart -= 1 }
            let first = VietnameseText.decodeScalar(line, at: 0).value
            if !current.isEmpty, Unicode.Scalar(first)?.properties.isLowercase == true, !blockEnds.contains(currentLast) {
                current.append(0x20)
            } else {
                flush()
            }
            current.append(contentsOf: line)
            currentLast = VietnameseText.decodeScalar(line, at: lastStart).value
        }
        flush()
        return blocks
    }

    static let furniture: Set<String> = [
        "xem thêm", "các tin khác", "tin liên quan", "tin cùng chuyên mục", "bài liên quan", "chia sẻ",
        "chia sẻ bài viết", "in bài", "in bài viết", "bình luận", "gửi bình luận", "facebook", "twitter",
        "zalo", "email", "share", "tweet", "lượt xem", "đọc thêm", "tin mới", "tin khác", "quay lại",
        "về đầu trang", "trở về", "theo dõi", "nghe đọc bài", "nghe bài viết",
    ]

    /// Media-player lines ("0:00 / 0:00"), share buttons, "Xem thêm", and slug lines (the URL
    /// words without diacritics, "le ky ket hop tac ...").
    static func isFurniture(_ block: String) -> Bool {
        if block.utf8.count <= 48 {  // longer than any furniture phrase or player line
            if furniture.contains(trimmingPunctuation(VietnameseText.lowercased(block))) { return true }
            if block.utf8.first.map(isDigit) == true, firstMatch(mediaPlayerLine, in: block) != nil { return true }
        }
        // Slug line: only ASCII lower case, digits, spaces and hyphens, at least five words.
        let slugBytes = block.utf8.allSatisfy { (0x61...0x7A).contains($0) || isDigit($0) || $0 == 0x20 || $0 == 0x2D }
        if slugBytes, block.utf8.count(where: { $0 == 0x20 }) >= 4 { return true }
        return false
    }

    /// "Ngày 12/08/2022 16:53", "12/08/2022 16:53", "Cập nhật: 12/08/2022 16:53" → ISO 8601.
    static let mediaPlayerLine = regex(#"^\d{1,2}:\d{2}(:\d{2})?( / \d{1,2}:\d{2}(:\d{2})?)?$"#)
    static let publicationPattern = regex(#"^(?:(?:Ngày|Cập nhật|Đăng ngày|Thời gian)[: ]*)?(\d{1,2})/(\d{1,2})/(\d{4})(?:[ ,-]+(\d{1,2}):(\d{2}))?(?: ?(?:GMT|\(GMT)[^ ]*)?$"#)

    static func publicationHeader(_ block: String) -> String? {
        // Both patterns need a "d/" : most lines are ruled out without the regular expression.
        guard block.utf8.count <= 64, hasDigitSlash(block), let m = firstMatch(publicationPattern, in: block) else { return nil }
        guard let day = Int(m[1]), let month = Int(m[2]), let year = Int(m[3]), (1...31).contains(day), (1...12).contains(month) else { return nil }
        let date = isoDate(year, month, day)
        if let hour = Int(m[4]), let minute = Int(m[5]) { return date + "T" + twoDigits(hour) + ":" + twoDigits(minute) + ":00" }
        return date
    }

    /// "Thứ hai, 27/01/2020", "Chủ nhật, 5/3/2023": the site's date line.
    static let siteDatePattern = regex(#"^(?:Thứ (?:hai|ba|tư|năm|sáu|bảy|2|3|4|5|6|7)|Chủ nhật|Chủ Nhật),? +(\d{1,2})/(\d{1,2})/(\d{4})$"#)

    static func siteDateHeader(_ block: String) -> String? {
        guard block.utf8.count <= 48, hasDigitSlash(block), let m = firstMatch(siteDatePattern, in: block),
              let d = Int(m[1]), let mo = Int(m[2]), let y = Int(m[3]) else { return nil }
        return isoDate(y, mo, d)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    private static func hasDigitSlash(_ block: String) -> Bool {
        var previous: UInt8 = 0
        for byte in block.utf8 {
            if byte == UInt8(ascii: "/"), isDigit(previous) { return true }
            previous = byte
        }
        return false
    }

    /// "2022-08-12"; the year as written when it has more than four digits, as `%04d` would.
    private static func isoDate(_ year: Int, _ month: Int, _ day: Int) -> String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + twoDigits(month) + "-" + twoDigits(day)
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0" + String(n) : String(n) }

    /// `text` without the punctuation and white space (Unicode categories P and Zs, tabs) at its ends.
    static func trimmingPunctuation(_ text: String) -> String {
        func trimmed(_ s: Unicode.Scalar) -> Bool {
            switch s.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                 .finalPunctuation, .otherPunctuation, .spaceSeparator: true
            default: s == "\t"
            }
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !trimmed($0) }), let last = scalars.lastIndex(where: { !trimmed($0) }) else { return "" }
        return String(scalars[first...last])
    }

    static func looksLikeTitle(_ block: String) -> Bool {
        guard block.utf8.count <= 300, block.split(separator: " ").count >= 3, let last = block.last else { return false }
        guard let first = block.unicodeScalars.first, first.properties.isUppercase || first.properties.numericType != nil else { return false }
        return !".…:;,".contains(last)
    }

    /// A short closing line of names: "TRANG NINH", "Kim Thúy - Vũ Hà (Trung tâm TT&VH ...)".
    static func looksLikeByline(_ block: String) -> Bool {
        guard block.utf8.count <= 160, let last = block.last, last != "." || block.hasSuffix(")") else { return false }
        let head = block.split(separator: "(").first.map(String.init) ?? block
        let words = head.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "," || $0 == "–" })
        guard !words.isEmpty, words.count <= 12 else { return false }
        return words.allSatisfy { w in w.first.map { $0.isUppercase } ?? false }
    }

    /// Photo captions: short, describing who is pictured doing what.
    static let captionEndings = ["phát biểu tại buổi làm việc", "phát biểu tại hội nghị", "phát biểu chỉ đạo", "phát biểu",
                                 "chủ trì buổi làm việc", "chủ trì hội nghị", "tại buổi làm việc", "tại buổi lễ",
                                 "chụp ảnh lưu niệm", "tặng quà", "trao quà", "ký kết"].map { Array($0.utf8) }

    /// Photo captions: short, describing who is pictured doing what. Compared as UTF-8 bytes: the text is NFC.
    static func looksLikeCaption(_ block: String) -> Bool {
        guard block.utf8.count <= 400 else { return false }
        let lower = VietnameseText.lowercasedUTF8(block)
        if captionOpenings.contains(where: lower.starts(with:)) { return true }
        if lower.ends(with: photoCredit) || lower.containsBytes(photoCreditColon) || lower.containsBytes(photoColonSpace) { return true }
        var trimmed = lower[...]
        while let last = trimmed.last, last == UInt8(ascii: ".") || last == UInt8(ascii: " ") { trimmed.removeLast() }
        while let first = trimmed.first, first == UInt8(ascii: ".") || first == UInt8(ascii: " ") { trimmed.removeFirst() }
        // A single sentence (no full stop inside) that ends like a caption.
        guard !trimmed.contains(UInt8(ascii: ".")) else { return false }
        let sentence = Array(trimmed)
        if captionEndings.contains(where: sentence.ends) { return true }
        return block.utf8.count <= 300 && lower.containsBytes(speaking) && !lower.containsBytes(commaComrade)
    }

    private static let captionOpenings = ["ảnh:", "toàn cảnh", "quang cảnh"].map { Array($0.utf8) }
    private static let photoCredit = Array("(ảnh".utf8), photoCreditColon = Array("(ảnh:".utf8), photoColonSpace = Array("ảnh: ".utf8)
    private static let speaking = Array("phát biểu".utf8), commaComrade = Array(", đồng chí".utf8)

    /// "BBK -  Sáng 27/6, ..." → ("BBK", "Sáng 27/6, ..."); "LSO-Hôm nay ..." likewise.
    static let sourcePrefixPattern = regex(#"^([A-ZĐ]{2,6}(?:\.[A-Z]{2,4})?) *[-–—] *(?=\S)"#)

    static func splitSourcePrefix(_ paragraph: String) -> (String, String)? {
        guard let m = firstMatch(sourcePrefixPattern, in: String(paragraph.prefix(16))) else { return nil }
        let rest = String(paragraph.dropFirst(m[0].count))
        return (m[1], rest)
    }
}

/// A pattern written in this file; compiled once. (NSRegularExpression is immutable and safe to share.)
func regex(_ pattern: String) -> NSRegularExpression {
    do { return try NSRegularExpression(pattern: pattern) } catch { fatalError("bad pattern \(pattern): \(error)") }
}

/// Capture groups of the first match of `regex` ("" for a group that did not take part).
func firstMatch(_ regex: NSRegularExpression, in text: String) -> [String]? {
    guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
    return (0..<match.numberOfRanges).map { i in
        Range(match.range(at: i), in: text).map { String(text[$0]) } ?? ""
    }
}

/// A block's UTF-8 as a set member: NFC text compares by bytes, and hashing them in one call is far cheaper
/// than `[UInt8]`'s byte-by-byte hash or String's normalizing one.
struct BlockBytes: Hashable {
    let bytes: [UInt8]

    init(_ block: String) { bytes = Array(block.utf8) }

    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix) }

    func containsBytes(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        while i <= count - needle.count {
            if self[i] == first, self[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
