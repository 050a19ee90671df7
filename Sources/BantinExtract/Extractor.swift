import BantinCore
import Foundation
import NIOConcurrencyHelpers

/// Rule- and lexicon-based extraction of persons, offices, organizations, places, documents,
/// dates and the article's main event from Vietnamese news text. Spans are UTF-8 byte offsets
/// into the text as given.
public struct Extractor: Sendable {
    public static let version = "rules-1"
    let lexicon: Lexicon

    public init(lexicon: Lexicon = .shared) { self.lexicon = lexicon }

    static let honorifics: Set<String> = ["đồng chí", "Đồng chí", "ông", "Ông", "bà", "Bà", "anh", "chị", "GS", "PGS", "TS", "ThS", "CN", "KS", "BS", "NGƯT", "NSND", "NSƯT"]
    /// Lower-case syllables that end a name instead of continuing it.
    static let stopWords: Set<String> = [
        "đã", "sẽ", "đang", "và", "của", "có", "là", "với", "tại", "trong", "được", "cho", "về", "các", "những",
        "này", "đó", "khi", "để", "thì", "mà", "do", "từ", "theo", "như", "làm", "việc", "phát", "biểu", "tham",
        "dự", "tổ", "chức", "tiếp", "nhằm", "cùng", "đến", "ra", "vào", "lên", "sau", "trước", "năm", "ngày",
        "tháng", "nhiệm", "kỳ", "chủ", "trì", "đề", "nghị", "nhấn", "mạnh", "ghi", "nhận", "đánh", "giá", "cao",
    ]

    public func extract(text: String, province requestedProvince: String = "", publishedAt: String = "") -> Extraction {
        let tokens = tokenize(text)
        var builder = ExtractionBuilder(text: text)
        var consumed = [Bool](repeating: false, count: tokens.count)
        let articleProvince = requestedProvince.isEmpty ? dominantProvince(tokens) : requestedProvince

        func span(_ from: Int, _ count: Int) -> Span {
            Span(start: UInt32(tokens[from].byteStart), end: UInt32(tokens[from + count - 1].byteEnd))
        }

        // Pass 1: places, offices and organizations (lexicon-anchored).
        var i = 0
        while i < tokens.count {
            if let n = lexicon.titles.match(tokens, at: i) {
                builder.mention(.position, span(i, n), name: builder.surface(span(i, n)))
                for k in i..<(i + n) { consumed[k] = true }
                i += n
                continue
            }
            if let n = organizationLength(tokens, at: i) {
                var name = builder.surface(span(i, n))
                var province = ""
                if let p = tokens[i..<(i + n)].lazy.compactMap({ self.lexicon.province(named: $0.text) }).first { province = p.name }
                for k in 0..<n where k + 1 < n {
                    if let m = lexicon.locations.match(tokens, at: i + k), let p = lexicon.province(named: joined(tokens, i + k, m)) {
                        province = p.name
                    }
                }
                // "Ban Tuyên giáo Tỉnh ủy", "UBND tỉnh": a provincial body of the article's province.
                if province.isEmpty, isProvincial(name) { province = articleProvince }
                if name.hasSuffix(" tỉnh"), !province.isEmpty { name += " " + province }
                builder.mention(.organization, span(i, n), name: name, province: province)
                for k in i..<(i + n) { consumed[k] = true }
                i += n
                continue
            }
            if let n = lexicon.locations.match(tokens, at: i), tokens[i].isCapitalized || tokens[i].text == "miền" {
                let name = joined(tokens, i, n)
                let province = lexicon.province(named: name)
                builder.mention(.location, span(i, n), name: province?.name ?? name, province: province?.current ?? "",
                                level: province?.level ?? lexicon.places[name] ?? "")
                for k in i..<(i + n) { consumed[k] = true }
                i += n
                continue
            }
            i += 1
        }

        // Pass 2: persons (surname + given names), abbreviations.
        i = 0
        while i < tokens.count {
            guard !consumed[i] else { i += 1; continue }
            let t = tokens[i]
            if t.isCapitalized, !t.isAllCaps, lexicon.surnames.contains(t.text), i + 1 < tokens.count {
                var n = 1
                while i + n < tokens.count, n < 4, !consumed[i + n], tokens[i + n].joinedToPrevious,
                      tokens[i + n].isCapitalized, !tokens[i + n].isAllCaps {
                    n += 1
                }
                if n >= 2 {
                    builder.mention(.person, span(i, n), name: joined(tokens, i, n))
                    for k in i..<(i + n) { consumed[k] = true }
                    i += n
                    continue
                }
            }
            if t.isAllCaps, t.text.count >= 2, !Self.honorifics.contains(t.text) {
                let expansion = lexicon.abbreviations[t.text] ?? definedAbbreviation(tokens, at: i, text: builder.utf8)
                if let expansion {
                    builder.mention(.abbreviation, span(i, 1), name: t.text, expansion: expansion)
                    consumed[i] = true
                }
            }
            i += 1
        }

        documents(text, into: &builder)
        dates(text, publishedAt: publishedAt, into: &builder)
        builder.linkRoles()
        builder.mainEvent(title: text.split(separator: "\n").first.map(String.init) ?? "", province: articleProvince)
        var extraction = builder.finish()
        extraction.extractorVersion = Self.version
        return extraction
    }

    // MARK: pieces

    func tokenize(_ text: String) -> [TextToken] {
        let utf8 = Array(text.utf8)
        var previousEnd = 0
        return VietnameseText.tokens(text).map { token in
            let gap = utf8[previousEnd..<token.byteStart]
            let joined = previousEnd > 0 && !gap.isEmpty && gap.allSatisfy { $0 == 0x20 || $0 == 0x2D }
                && gap.count <= 3 && gap.first == 0x20
                || (previousEnd > 0 && gap.elementsEqual([0x20]))
            previousEnd = token.byteEnd
            let s = String(token.text)
            let first = s.unicodeScalars.first!
            return TextToken(text: s, byteStart: token.byteStart, byteEnd: token.byteEnd, joinedToPrevious: joined,
                             isCapitalized: first.properties.isUppercase,
                             isAllCaps: s.count >= 2 && s.unicodeScalars.allSatisfy { !$0.properties.isLowercase })
        }
    }

    func joined(_ tokens: [TextToken], _ from: Int, _ count: Int) -> String {
        tokens[from..<(from + count)].map(\.text).joined(separator: " ")
    }

    /// An organization: a head ("Ban Tuyên giáo", "Tạp chí", "UBND") and its name, capitalized
    /// syllables each followed by at most one lower-case one ("Cộng sản"), plus "tỉnh X".
    func organizationLength(_ tokens: [TextToken], at i: Int) -> Int? {
        guard tokens[i].isCapitalized, let head = lexicon.organizationHeads.match(tokens, at: i) else { return nil }
        var n = head
        var lowerRun = 0
        while i + n < tokens.count, tokens[i + n].joinedToPrevious {
            let t = tokens[i + n]
            if let more = lexicon.organizationHeads.match(tokens, at: i + n), t.isCapitalized {
                n += more
                lowerRun = 0
            } else if t.isCapitalized {
                if lexicon.titles.match(tokens, at: i + n) != nil { break }
                if lexicon.surnames.contains(t.text), i + n + 1 < tokens.count, tokens[i + n + 1].isCapitalized,
                   lexicon.locations.match(tokens, at: i + n) == nil { break }
                n += 1
                lowerRun = 0
            } else if t.text == "tỉnh" || t.text == "thành" || t.text == "huyện" {
                n += t.text == "thành" && i + n + 1 < tokens.count && tokens[i + n + 1].text == "phố" ? 2 : 1
                lowerRun = 0
            } else if t.text == "và", i + n + 1 < tokens.count, tokens[i + n + 1].isCapitalized, n > head,
                      lexicon.organizationHeads.match(tokens, at: i + n + 1) == nil, !lexicon.surnames.contains(tokens[i + n + 1].text) {
                n += 1
                lowerRun = 1
            } else if lowerRun == 0, n > head || head == 1, !Self.stopWords.contains(t.text), tokens[i + n - 1].isCapitalized,
                      t.text.unicodeScalars.first!.properties.isLowercase {
                n += 1
                lowerRun = 1
            } else {
                break
            }
        }
        // A bare one-syllable head ("Sở", "Bộ", "Báo") is a word, not a name.
        if n == 1, head == 1, !tokens[i].isAllCaps, !["Quốc hội", "Chính phủ"].contains(tokens[i].text) { return nil }
        return n
    }

    func isProvincial(_ name: String) -> Bool {
        name.hasSuffix("Tỉnh ủy") || name.hasSuffix(" tỉnh") || name == "Tỉnh ủy" || name.hasSuffix("Đảng bộ tỉnh")
    }

    /// The province mentioned most often: the article's, when the submitter did not say.
    func dominantProvince(_ tokens: [TextToken]) -> String {
        var counts: [String: Int] = [:]
        var i = 0
        while i < tokens.count {
            if let n = lexicon.locations.match(tokens, at: i), let p = lexicon.province(named: joined(tokens, i, n)) {
                counts[p.name, default: 0] += 1
                i += n
            } else {
                i += 1
            }
        }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? ""
    }

    /// "thông tin đối ngoại (TTĐN)": the lower-case phrase before the parenthesis whose initials
    /// spell the abbreviation.
    func definedAbbreviation(_ tokens: [TextToken], at i: Int, text utf8: [UInt8]) -> String? {
        let abbreviation = Array(tokens[i].text)
        guard tokens[i].byteStart > 0, utf8[tokens[i].byteStart - 1] == 0x28, i >= abbreviation.count else { return nil }
        let words = tokens[(i - abbreviation.count)..<i]
        let initials = words.map { VietnameseText.fold(String($0.text.prefix(1))).uppercased() }
        let wanted = abbreviation.map { VietnameseText.fold(String($0)).uppercased() }
        guard initials == wanted else { return nil }
        return words.map(\.text).joined(separator: " ")
    }

    func documents(_ text: String, into builder: inout ExtractionBuilder) {
        let kinds = lexicon.documentKinds.joined(separator: "|")
        let pattern = "(\(kinds))(?: số)? (\\d+(?:[-/][\\p{Lu}Đ0-9]+(?:[-/][\\p{Lu}Đ0-9]+)*)?)(?: (?:của|ngày) [^,.;()]{0,60}?)?(?: \\((khóa|khoá) ([IVXLC]+)\\))?"
        for m in matches(pattern, in: text) {
            guard let kind = m.groups[1], let code = m.groups[2], code.contains("/") || code.contains("-") || m.groups[4] != nil else { continue }
            var document = DocumentRef()
            document.kind = kind
            document.code = code
            document.number = String(code.prefix { $0.isNumber })
            document.term = m.groups[4] ?? ""
            document.id = "doc:" + VietnameseText.fold(kind + " " + code).replacingOccurrences(of: " ", with: "-")
            let span = Span(start: UInt32(m.byteRange.lowerBound), end: UInt32(m.byteRange.upperBound))
            document.span = span
            builder.document(document, span: span)
        }
    }

    func dates(_ text: String, publishedAt: String, into builder: inout ExtractionBuilder) {
        let publishedYear = Int(publishedAt.prefix(4))
        let pattern = #"(?:(?:[Ss]áng|[Cc]hiều|[Tt]ối|[Nn]gày|[Hh]ôm nay) \(?)?(\d{1,2})/(\d{1,2})(?:/(\d{4}))?|nhiệm kỳ (\d{4}) ?[-–] ?(\d{4})|(\d+) tháng (?:đầu|cuối) năm (\d{4})|tháng (\d{1,2})(?:/| năm )(\d{4})|năm (\d{4})"#
        for m in matches(pattern, in: text) {
            var value = ""
            var inferred = false
            if let d = m.groups[1].flatMap(Int.init), let mo = m.groups[2].flatMap(Int.init) {
                guard (1...31).contains(d), (1...12).contains(mo) else { continue }
                if let y = m.groups[3].flatMap(Int.init) {
                    value = String(format: "%04d-%02d-%02d", y, mo, d)
                } else if let y = publishedYear {
                    value = String(format: "%04d-%02d-%02d", y, mo, d)
                    inferred = true
                } else {
                    value = String(format: "--%02d-%02d", mo, d)
                }
            } else if let a = m.groups[4], let b = m.groups[5] {
                value = "\(a)/\(b)"
            } else if let months = m.groups[6], let y = m.groups[7] {
                value = m.text.contains("đầu") ? "\(y)-H1" : "\(y)-H2"
                _ = months
            } else if let mo = m.groups[8].flatMap(Int.init), let y = m.groups[9] {
                value = String(format: "%@-%02d", y, mo)
            } else if let y = m.groups[10] {
                value = y
            }
            var date = DateRef()
            date.span = Span(start: UInt32(m.byteRange.lowerBound), end: UInt32(m.byteRange.upperBound))
            date.value = value
            date.yearInferred = inferred
            builder.date(date)
        }
    }
}

struct RegexMatch {
    var text: String
    var byteRange: Range<Int>
    var groups: [String?]
}

/// Compiled patterns by source: the extractor's patterns are few and fixed, and compiling one costs more than
/// running it over an article. (NSRegularExpression is immutable and safe to share.)
private let compiledPatterns = NIOLockedValueBox<[String: NSRegularExpression]>([:])

/// Matches of `pattern` with UTF-8 byte ranges (NSRegularExpression speaks UTF-16).
func matches(_ pattern: String, in text: String) -> [RegexMatch] {
    let cached = compiledPatterns.withLockedValue { $0[pattern] }
    guard let regex = cached ?? (try? NSRegularExpression(pattern: pattern)) else { return [] }
    if cached == nil { compiledPatterns.withLockedValue { $0[pattern] = regex } }
    let utf16 = text.utf16
    func byteOffset(_ u16: Int) -> Int {
        let index = utf16.index(utf16.startIndex, offsetBy: u16)
        return text.utf8.distance(from: text.utf8.startIndex, to: index)
    }
    return regex.matches(in: text, range: NSRange(location: 0, length: utf16.count)).map { m in
        let groups: [String?] = (0..<m.numberOfRanges).map { i in
            Range(m.range(at: i), in: text).map { String(text[$0]) }
        }
        let r = m.range
        return RegexMatch(text: groups[0] ?? "", byteRange: byteOffset(r.location)..<byteOffset(r.location + r.length), groups: groups)
    }
}
