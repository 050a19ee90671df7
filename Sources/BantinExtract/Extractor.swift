import BantinCore
import Foundation

/// Rule- and lexicon-based extraction of persons, offices, organizations, places, documents,
/// dates and the article's main event from Vietnamese news text. Spans are UTF-8 byte offsets
/// into the text as given.
public struct Extractor: Sendable {
    public static let version = "rules-1"
    let lexicon: Lexicon

    public init(lexicon: Lexicon = .shared) { self.lexicon = lexicon }

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
                                level: province?.level ?? lexicon.places[Word(name)] ?? "")
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
            if t.isCapitalized, !t.isAllCaps, lexicon.isSurname(t), i + 1 < tokens.count {
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
            if t.isAllCaps, t.text.count >= 2, !lexicon.isHonorific(t) {
                let expansion = lexicon.abbreviations[t.word] ?? definedAbbreviation(tokens, at: i, text: builder.utf8)
                if let expansion {
                    builder.mention(.abbreviation, span(i, 1), name: t.text, expansion: expansion)
                    consumed[i] = true
                }
            }
            i += 1
        }

        let scanner = PatternScanner(tokens: tokens, utf8: builder.utf8, documentKinds: lexicon.documentKindPhrases)
        documents(scanner, into: &builder)
        dates(scanner, publishedAt: publishedAt, into: &builder)
        builder.linkRoles()
        builder.mainEvent(title: String(text.prefix { $0 != "\n" }), province: articleProvince)
        // The event's place is an entity even when the province is only named inside organizations
        // ("Ban Tuyên giáo Tỉnh ủy Bắc Kạn"), so that queries can filter on it, by old or current name.
        if let province = lexicon.province(named: articleProvince) {
            builder.place(name: province.name, current: province.current, level: province.level)
        }
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
            let scalars = s.unicodeScalars
            return TextToken(text: s, id: lexicon.id(of: Word(s)), byteStart: token.byteStart, byteEnd: token.byteEnd, joinedToPrevious: joined,
                             isCapitalized: VietnameseText.isUppercase(scalars.first!),
                             isAllCaps: scalars.count >= 2 && !scalars.contains(where: VietnameseText.isLowercase))
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
                if lexicon.isSurname(t), i + n + 1 < tokens.count, tokens[i + n + 1].isCapitalized,
                   lexicon.locations.match(tokens, at: i + n) == nil { break }
                n += 1
                lowerRun = 0
            } else if t.text == "tỉnh" || t.text == "thành" || t.text == "huyện" {
                n += t.text == "thành" && i + n + 1 < tokens.count && tokens[i + n + 1].text == "phố" ? 2 : 1
                lowerRun = 0
            } else if t.text == "và", i + n + 1 < tokens.count, tokens[i + n + 1].isCapitalized, n > head,
                      lexicon.organizationHeads.match(tokens, at: i + n + 1) == nil, !lexicon.isSurname(tokens[i + n + 1]) {
                n += 1
                lowerRun = 1
            } else if lowerRun == 0, n > head || head == 1, !lexicon.isStopWord(t), tokens[i + n - 1].isCapitalized,
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

    func documents(_ scanner: PatternScanner, into builder: inout ExtractionBuilder) {
        for m in scanner.documents() {
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

    func dates(_ scanner: PatternScanner, publishedAt: String, into builder: inout ExtractionBuilder) {
        let publishedYear = Int(publishedAt.prefix(4))
        for m in scanner.dates() {
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
