import BantinCore
import Foundation

/// Rule- and lexicon-based extraction of persons, offices, organizations, places, documents, dates, events,
/// named things and abbreviations from Vietnamese news text. Spans are UTF-8 byte offsets into the text as given.
///
/// Names are found from their shape as much as from the lexicons, so that names never seen before are found:
/// the word that heads them ("huyện", "Công ty", "Bệnh viện"), the cue before them ("ông", "Thủ tướng", "tiền
/// đạo"), Vietnamese capitalization (every syllable of a person's or place's name, the first of each word of an
/// organization's), and what the article said earlier (a full name, then its given name alone).
public struct Extractor: Sendable {
    public static let version = "rules-2"
    let lexicon: Lexicon

    public init(lexicon: Lexicon = .shared) { self.lexicon = lexicon }

    public func extract(text: String, province requestedProvince: String = "", publishedAt: String = "") -> Extraction {
        var pass = Pass(extractor: self, text: text)
        pass.articleProvince = requestedProvince.isEmpty ? pass.dominantProvince() : requestedProvince
        pass.run(publishedAt: publishedAt)
        var extraction = pass.builder.finish()
        extraction.extractorVersion = Self.version
        return extraction
    }

    /// The syllables of `utf8` (the article's bytes, valid UTF-8), each looked up in the vocabulary once.
    func tokenize(_ utf8: [UInt8]) -> [TextToken] {
        var tokens: [TextToken] = []
        tokens.reserveCapacity(utf8.count / 4)
        utf8.withUnsafeBufferPointer { bytes in
            var previousEnd = 0
            VietnameseText.scanSyllables(utf8: bytes) { range, letterCase in
                let gap = UnsafeBufferPointer(rebasing: bytes[previousEnd..<range.lowerBound])
                // Same phrase: separated by one space, a spaced hyphen ("miền Trung - Tây Nguyên") or a bare
                // hyphen ("Kim Sang-sik", "V-League"); not by a line break or punctuation.
                let joined = previousEnd > 0 && (gap.count == 1 && (gap[0] == 0x20 || gap[0] == 0x2D)
                    || (gap.count <= 3 && gap.first == 0x20 && gap.allSatisfy { $0 == 0x20 || $0 == 0x2D }))
                previousEnd = range.upperBound
                tokens.append(TextToken(id: lexicon.id(of: UnsafeBufferPointer(rebasing: bytes[range])), byteStart: range.lowerBound,
                                        byteEnd: range.upperBound, joinedToPrevious: joined, isCapitalized: letterCase.capitalized,
                                        isAllCaps: letterCase.allCaps))
            }
        }
        return tokens
    }
}

/// One article's extraction: the tokens, which of them are already part of something, and the recognizers.
struct Pass {
    let extractor: Extractor
    var lexicon: Lexicon { extractor.lexicon }
    let tokens: [TextToken]
    var builder: ExtractionBuilder
    /// Tokens inside a date, a document's kind and code, or a name already found.
    var taken: [Bool]
    var articleProvince = ""
    /// Tokens naming a document ("Đại hội" in "Nghị quyết Đại hội …"): not events of the article.
    var insideDocumentName: [Bool]
    /// Abbreviations the article defined, with their expansion.
    var definedHere: [Word: String] = [:]

    /// What separates each token from the previous one ("" before the first), decoded once: the rules ask often.
    let gaps: [String]

    init(extractor: Extractor, text: String) {
        self.extractor = extractor
        builder = ExtractionBuilder(text: text)
        let utf8 = builder.utf8
        tokens = extractor.tokenize(utf8)
        var previousEnd = 0
        gaps = tokens.map { token in
            defer { previousEnd = token.byteEnd }
            // Most gaps are one space: that String is made once, not decoded per token.
            if token.byteStart == previousEnd + 1, utf8[previousEnd] == 0x20 { return " " }
            return String(decoding: utf8[previousEnd..<token.byteStart], as: UTF8.self)
        }
        taken = [Bool](repeating: false, count: tokens.count)
        insideDocumentName = taken
    }

    // MARK: small helpers

    func span(_ from: Int, _ count: Int) -> Span {
        Span(start: UInt32(tokens[from].byteStart), end: UInt32(tokens[from + count - 1].byteEnd))
    }

    /// Token `k` as a String: the vocabulary's own for a known word, else decoded from the text. Tokens carry no
    /// String: rules compare bytes (`isWord`) and vocabulary numbers, and make Strings only for what they keep.
    func word(_ k: Int) -> String {
        let id = Int(tokens[k].id)
        return id >= 0 ? lexicon.vocabulary.words[id] : builder.surface(span(k, 1))
    }

    /// Tokens `from..<from + count` as one String, single spaces between them.
    func text(_ from: Int, _ count: Int) -> String {
        if count == 1 { return word(from) }  // the common case, with nothing to build
        var text = ""
        for k in from..<(from + count) {
            if k > from { text.append(" ") }
            text.append(word(k))
        }
        return text
    }

    /// The province mentioned most often: the article's, when the submitter did not say.
    func dominantProvince() -> String {
        var counts: [String: Int] = [:]
        var i = 0
        while i < tokens.count {
            if let place = lexicon.locations.longest(tokens, at: i), let p = lexicon.locationProvinces[place.phrase] {
                counts[p.name, default: 0] += 1
                i += place.length
            } else {
                i += 1
            }
        }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? ""
    }

    /// Token `k` exists and is spelled `w` (NFC bytes compared, no String made).
    func isWord(_ k: Int, _ w: String) -> Bool {
        guard k >= 0, k < tokens.count else { return false }
        let t = tokens[k]
        return t.byteEnd - t.byteStart == w.utf8.count && hasPrefix(k, w)
    }

    /// Token `k`'s bytes start with `prefix`'s.
    func hasPrefix(_ k: Int, _ prefix: String) -> Bool {
        let t = tokens[k], n = prefix.utf8.count
        guard t.byteEnd - t.byteStart >= n else { return false }
        var prefix = prefix
        return prefix.withUTF8 { p in
            builder.utf8.withUnsafeBufferPointer { n == 0 || memcmp($0.baseAddress! + t.byteStart, p.baseAddress!, n) == 0 }
        }
    }

    func surface(_ from: Int, _ count: Int) -> String { builder.surface(span(from, count)) }

    /// Token `k` exists and continues the phrase of token `k - 1`.
    func joined(_ k: Int) -> Bool { k > 0 && k < tokens.count && tokens[k].joinedToPrevious }

    func capitalized(_ k: Int) -> Bool { k < tokens.count && tokens[k].isCapitalized }

    func gap(_ k: Int) -> String { k > 0 && k < tokens.count ? gaps[k] : "" }

    func isText(_ k: Int, _ words: [String]) -> Bool { words.contains { isWord(k, $0) } }

    func isFree(_ from: Int, _ count: Int) -> Bool { (from..<(from + count)).allSatisfy { $0 < tokens.count && !taken[$0] } }

    mutating func take(_ from: Int, _ count: Int) { for k in from..<min(tokens.count, from + count) { taken[k] = true } }

    /// A run of capitalized syllables starting at `k` (numbers and roman numerals allowed after the first), at
    /// most `limit` long; 0 if token `k` is not capitalized.
    func capitalizedRun(_ k: Int, limit: Int = 5) -> Int {
        guard capitalized(k), !taken[k] else { return 0 }
        var n = 1
        while n < limit, joined(k + n), !taken[k + n], capitalized(k + n) || isNumber(k + n) { n += 1 }
        return n
    }

    func isNumber(_ k: Int) -> Bool {
        guard k < tokens.count else { return false }
        return (0x30...0x39).contains(builder.utf8[tokens[k].byteStart])
    }

    static let romanNumerals = "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX XXI".split(separator: " ").map(String.init)

    // MARK: the pass

    mutating func run(publishedAt: String) {
        dates(PatternScanner(tokens: tokens, utf8: builder.utf8, words: lexicon.dateWords), publishedAt: publishedAt)
        documents()
        var i = 0
        while i < tokens.count {
            guard !taken[i], startsRule(i) else { i += 1; continue }
            if let n = event(at: i) ?? position(at: i) ?? organization(at: i).map({ recordOrganization(at: i, length: $0) })
                ?? location(at: i).map({ recordLocation(at: i, $0) }) ?? person(at: i) ?? misc(at: i) {
                i += n
                continue
            }
            abbreviation(at: i)
            i += 1
        }
        shortNames()
        byline()
        builder.linkRoles()
        builder.mainEvent(title: String(decoding: builder.utf8.prefix { $0 != 0x0A }, as: UTF8.self), province: articleProvince)
        // The event's place is an entity even when the province is only named inside organizations
        // ("Ban Tuyên giáo Tỉnh ủy Bắc Kạn"), so that queries can filter on it, by old or current name.
        if let province = lexicon.province(named: articleProvince) {
            builder.place(name: province.name, current: province.current, level: province.level)
        }
    }

    // MARK: organizations

    /// The length of the organization name at `i`: a complete name ("Bộ Chính trị", "Tỉnh ủy", "ASEAN") or a
    /// head ("Bộ", "Công ty", "Ban Tuyên giáo") with the name after it, and the place it belongs to ("UBND
    /// tỉnh", "Công an huyện Hoằng Hóa", "Tòa án nhân dân tỉnh Bình Dương"). `lowercaseHead` accepts "ban"
    /// written small after an office ("Trưởng ban Tuyên giáo Tỉnh ủy").
    func organization(at i: Int, lowercaseHead: Bool = false) -> Int? {
        guard i < tokens.count, !taken[i], capitalized(i) || lowercaseHead else { return nil }
        let headMatch = lexicon.organizationHeads.longest(tokens, at: i)
        var head = headMatch?.length ?? 0
        if head == 0, lowercaseHead, isText(i, ["ban", "bộ", "sở"]), capitalized(i + 1), joined(i + 1) { head = 1 }
        guard head > 0 else { return nil }
        var kind = headMatch.map { lexicon.organizationHeadKinds[$0.phrase] } ?? .head
        if head == 1, lowercaseHead, !capitalized(i) { kind = .head }
        // "các Ban xây dựng Đảng", "các ban Đảng": a kind of body, not one body.
        if kind != .complete || isWord(i, "Đảng"), isText(i - 1, ["các", "những", "ban", "Ban", "cơ quan"]) { return nil }
        // A head with a capitalized word after its first ("Ban Tuyên giáo", "Hội Nông dân") is a name already.
        if kind == .head, head > 1, (1..<head).contains(where: { capitalized(i + $0) }) { kind = .complete }
        var n = head
        var named = kind == .complete  // whether the name so far can stand alone
        var hasParent = false  // a Party committee or other complete body is part of the name
        var lowerRun = 0
        var capitalRun = 0  // capitalized syllables just before
        while i + n < tokens.count, !taken[i + n] {
            let k = i + n
            let t = tokens[k]
            let sep = gap(k)
            if sep == ", " || sep == "," {
                // "Bộ Văn hóa, Thể thao và Du lịch", "Báo và Phát thanh, Truyền hình Cao Bằng": a comma inside a
                // name is followed by a capitalized word and, within the list, by "và" and another one.
                guard !hasParent, n > head || sameUTF8(text(i, head), "Báo"), capitalized(k), let more = commaList(k, after: text(i, n)), more > 0 else { break }
                n += more
                lowerRun = 0
                continue
            }
            if sep == "&", t.isAllCaps, tokens[k - 1].isAllCaps {
                n += 1  // "TT&VH"
                continue
            }
            guard t.joinedToPrevious, sep == " " else { break }
            if t.isCapitalized {
                if lexicon.titles.match(tokens, at: k) != nil { break }
                if n > head, lexicon.isSurname(t), capitalized(k + 1), joined(k + 1), lexicon.locations.match(tokens, at: k) == nil,
                   lexicon.organizationHeads.match(tokens, at: k) == nil { break }
                if let more = lexicon.organizationHeads.longest(tokens, at: k) {
                    // A second organization after a complete one is its parent ("Ban Thường vụ Tỉnh ủy"), or, after a
                    // head still unnamed, its name ("Văn phòng UBND tỉnh").
                    if lexicon.organizationHeadKinds[more.phrase] == .complete { hasParent = true }
                    n += more.length
                } else if let place = lexicon.locations.match(tokens, at: k) {
                    n += place
                    capitalRun += place
                    named = true
                    lowerRun = 0
                    continue
                } else {
                    n += 1
                    if !t.isAllCaps { capitalRun += 1 }  // "Ngân hàng TMCP Kỹ thương": an acronym is a word apart
                    named = true
                    lowerRun = 0
                    continue
                }
                named = true
                lowerRun = 0
                capitalRun = 0
                continue
            }
            if let admin = adminUnit(at: k) {
                // A one-word head needs a name of its own before its place: "Ban tỉnh Điện Biên" is not one.
                if n == head, head == 1, kind == .head { break }
                // "UBND tỉnh", "Công an huyện Hoằng Hóa", "Trung tâm … thành phố Yên Bái".
                n += admin
                named = true
                break
            }
            if isWord(k, "và"), n > head || kind == .head, capitalized(k + 1), joined(k + 1),
               lexicon.organizationHeads.match(tokens, at: k + 1) == nil, !lexicon.isSurname(tokens[k + 1]) {
                n += 1
                lowerRun = 1
                continue
            }
            if lexicon.isStopWord(t) || isNumber(k) { break }
            // Lower-case syllables continue a name after a capitalized one for one word ("Tuyên giáo", "Dệt may"),
            // or longer when they run into another capitalized part ("Cảnh sát giao thông Công an tỉnh").
            // "Câu lạc bộ Thép Xanh Nam Định cũng": after several capitalized syllables the name is over.
            if lowerRun == 0, tokens[k - 1].isCapitalized && capitalRun <= 1 || (n == head && head > 1),
               n > head || !named, !(n == head && head == 1 && kind == .head) {
                if let more = lowercaseBridge(k), more > 1 {
                    n += more
                    lowerRun = 0
                } else {
                    n += 1
                    lowerRun = 1
                }
                capitalRun = 0
                continue
            }
            break
        }
        // "Ban Thường vụ" names an organization only with its parent.
        if kind == .needsParent, n == head { return nil }
        // A bare head ("Sở", "Bộ", "Tạp chí", "Bệnh viện") is a word, not a name.
        if n == head, kind == .head { return nil }
        if !named, n == head + 1, !capitalized(i + head), !isWord(i + head, "tỉnh") { return nil }
        // Trailing "và" left by a failed list.
        while n > head, isText(i + n - 1, ["và", "của"]) { n -= 1 }
        return n
    }

    /// "tỉnh", "thành phố X", "huyện Y" inside an organization's name: the words it takes.
    func adminUnit(at k: Int) -> Int? {
        guard let unit = lexicon.locationHeads.longest(tokens, at: k), lexicon.locationHeadIsIncluded[unit.phrase],
              lexicon.locationHeadIsAdminUnit[unit.phrase] else { return nil }
        let head = unit.length
        let name = capitalizedRun(k + head, limit: 4)
        if unaccentedHead(unit.phrase, beforeAccented: k + head, name) { return nil }
        return head + (joined(k + head) ? name : 0)
    }

    /// A head spelled without diacritics ("quan", "xa") followed by a name with them: accented text, where the word
    /// is another one ("Cơ quan Thường trực", "xa Hà Nội"), not the unit ("quận", "xã").
    func unaccentedHead(_ phrase: Int, beforeAccented k: Int, _ count: Int) -> Bool {
        lexicon.locationHeadIsFolded[phrase] && count > 0 && text(k, count).utf8.contains { $0 >= 0x80 }
    }

    /// Lower-case syllables at `k` that lead to a capitalized part of the same name within three syllables, or
    /// to the unit it belongs to within six ("Ban chỉ đạo công tác thông tin đối ngoại tỉnh").
    func lowercaseBridge(_ k: Int) -> Int? {
        var m = 0
        while m < 6, joined(k + m), !capitalized(k + m), !lexicon.isStopWord(tokens[k + m]), !isNumber(k + m) {
            if let unit = adminUnit(at: k + m) {
                // Only to the bare unit ("… đối ngoại tỉnh"): a named one after lower-case words is a new phrase.
                return unit == 1 || sameUTF8(text(k + m, 2), "thành phố") && unit == 2 ? m : nil
            }
            m += 1
        }
        if m > 3 { return nil }
        return m > 0 && capitalized(k + m) && joined(k + m) && lexicon.titles.match(tokens, at: k + m) == nil ? m : nil
    }

    /// ", Thể thao và Du lịch": the tokens from the comma's right side through the capitalized word after "và";
    /// ", Truyền hình Cao Bằng" after "Phát thanh" (the press and broadcasting houses merged in 2025).
    func commaList(_ k: Int, after name: String) -> Int? {
        if hasUTF8Suffix(name, "Phát thanh"), sameUTF8(text(k, min(2, tokens.count - k)), "Truyền hình") {
            var m = 2
            if let place = lexicon.locations.match(tokens, at: k + m), joined(k + m) { m += place }
            return m
        }
        var m = 0
        while m < 8, k + m < tokens.count {
            let t = tokens[k + m]
            if m > 0, !t.joinedToPrevious { return nil }
            if isWord(k + m, "và"), capitalized(k + m + 1) {
                // One lower-case syllable may finish the last word ("và Du lịch").
                var end = m + 2
                if joined(k + end), !capitalized(k + end), !lexicon.isStopWord(tokens[k + end]), k + end + 1 < tokens.count,
                   !capitalized(k + end + 1) { end += 1 }
                return end
            }
            if !t.isCapitalized, m == 0 { return nil }
            m += 1
        }
        return nil
    }

    mutating func recordOrganization(at i: Int, length n: Int) -> Int {
        // A known acronym given after the full name ("Liên đoàn Bóng đá Việt Nam (VFF)") also stands for it.
        let acronymOf = n == 1 && tokens[i].isAllCaps && i > 0 && hasUTF8Suffix(gap(i), "(") && (i + 1 >= tokens.count || hasUTF8Prefix(gap(i + 1), ")"))
            ? builder.organizationEnding(at: UInt32(tokens[i - 1].byteEnd)) : nil
        var province = ""
        var nestedPlaces: [(Int, Int)] = []
        var k = i + 1
        while k < i + n {
            if let admin = adminUnit(at: k), admin > 1 {
                nestedPlaces.append((k, admin))
                k += admin
            } else if let m = lexicon.locations.match(tokens, at: k), k + m <= i + n, capitalized(k) {
                nestedPlaces.append((k, m))
                k += m
            } else {
                k += 1
            }
        }
        for (start, length) in nestedPlaces {
            let head = lexicon.locationHeads.longest(tokens, at: start)
            let nameStart = head.map { lexicon.locationHeadIsIncluded[$0.phrase] } == true ? start + head!.length : start
            if let p = lexicon.province(named: text(nameStart, start + length - nameStart)) { province = p.name }
        }
        let raw = surface(i, n)
        if province.isEmpty, hasUTF8Suffix(raw, " tỉnh") || hasUTF8Suffix(raw, "Tỉnh ủy") || hasUTF8Suffix(raw, "Tỉnh uỷ") || sameUTF8(raw, "Tỉnh ủy")
            || hasUTF8Suffix(raw, "Đảng bộ tỉnh") || hasUTF8Suffix(raw, "HĐND") || hasUTF8Suffix(raw, "UBND") {
            province = articleProvince
        }
        var name = raw
        if hasUTF8Suffix(name, " tỉnh"), !province.isEmpty { name += " " + province }
        builder.mention(.organization, span(i, n), name: name, province: province)
        for (start, length) in nestedPlaces { _ = recordLocation(at: start, PlaceMatch(length: length)) }
        if let acronymOf {
            builder.mention(.abbreviation, span(i, 1), name: word(i), expansion: acronymOf)
        } else {
            for k in i..<(i + n) where tokens[k].isAllCaps { abbreviation(at: k) }
        }
        take(i, n)
        return n
    }

    // MARK: places

    /// A place: an administrative unit or a place head with its name ("huyện Hoằng Hóa", "quốc lộ 1A",
    /// "Khu công nghiệp Phố Nối A"), a name from the gazetteer ("Cao Bằng", "Nhật Bản", "châu Âu"), or an
    /// unknown capitalized name after "tại" or "ở".
    /// A place found at a token: `length` tokens of name, after `cue` tokens that are not part of it ("sân").
    struct PlaceMatch {
        var cue = 0
        var length: Int
    }

    func location(at i: Int) -> PlaceMatch? {
        guard !taken[i] else { return nil }
        if let headMatch = lexicon.locationHeads.longest(tokens, at: i), case let head = headMatch.length, joined(i + head), !taken[i + head] {
            let included = lexicon.locationHeadIsIncluded[headMatch.phrase]
            var name = max(lexicon.locations.match(tokens, at: i + head) ?? 0, capitalizedRun(i + head, limit: 4))
            // Roads and units numbered: "quốc lộ 1A", "Quận 1", "phường 5".
            if name == 0, isNumber(i + head), ["quốc lộ", "Quốc lộ", "tỉnh lộ", "Quận", "quận", "phường", "Phường"].containsUTF8(text(i, head)) { name = 1 }
            if name > 0, !unaccentedHead(headMatch.phrase, beforeAccented: i + head, name) {
                if lexicon.organizationHeads.match(tokens, at: i + head) != nil, lexicon.locations.match(tokens, at: i + head) == nil { return nil }
                return included ? PlaceMatch(length: head + name) : PlaceMatch(cue: head, length: name)
            }
        }
        guard capitalized(i) || startsRegion(i) else { return nil }
        if let n = lexicon.locations.match(tokens, at: i) {
            // "Hồ Chí Minh" alone is the person; the city is written with "Thành phố" or "TP".
            if sameUTF8(text(i, n), "Hồ Chí Minh") { return nil }
            return PlaceMatch(length: n)
        }
        if isText(i - 1, ["tại", "ở"]), !isText(i - 2, ["có", "đặt"]), lexicon.organizationHeads.match(tokens, at: i) == nil,
           lexicon.eventHeads.match(tokens, at: i) == nil, lexicon.titles.match(tokens, at: i) == nil, !lexicon.isSurname(tokens[i]) {
            let n = foreignRun(i, limit: 4)
            if n > 0, !capitalized(i + n) || !joined(i + n) { return PlaceMatch(length: n) }
        }
        return nil
    }

    /// Whether any recognizer of the main pass can start at token `i`: a capitalized or upper-case token, or a
    /// lower-case one that starts an event, a place head, a person cue or a region's name. Most words are none
    /// of these, and are passed over without asking each recognizer.
    func startsRule(_ i: Int) -> Bool {
        let t = tokens[i]
        if t.isCapitalized || t.isAllCaps { return true }
        let id = Int(t.id)
        return id >= 0 && id < lexicon.startsLowercaseRule.count && lexicon.startsLowercaseRule[id] || startsRegion(i)
    }

    /// A lower-case word that starts a region's name: "miền Trung", "châu Âu".
    func startsRegion(_ i: Int) -> Bool {
        let first = builder.utf8[tokens[i].byteStart]  // most words start otherwise: no comparison needed
        return (first == UInt8(ascii: "m") || first == UInt8(ascii: "c"))
            && (hasPrefix(i, "miền") || hasPrefix(i, "châu"))
    }

    /// Records the place found by `location(at:)` and returns the tokens consumed, its cue included.
    mutating func recordLocation(at i: Int, _ match: PlaceMatch) -> Int {
        let start = i + match.cue, n = match.length
        let name = text(start, n)
        let head = lexicon.locationHeads.longest(tokens, at: start).flatMap { lexicon.locationHeadIsIncluded[$0.phrase] ? $0.length : nil } ?? 0
        let bare = head > 0 && head < n ? text(start + head, n - head) : name
        let province = lexicon.province(named: bare) ?? lexicon.province(named: name)
        builder.mention(.location, span(start, n), name: province?.name ?? name, province: province?.current ?? "",
                        level: province?.level ?? lexicon.places[Word(bare)] ?? (head > 0 ? text(start, head).lowercased() : ""))
        take(i, start - i + n)
        return start - i + n
    }

    // MARK: offices

    /// An office: a title, with the organization or country written after it ("Phó Chủ tịch UBND tỉnh",
    /// "Thủ tướng Nhật Bản"), then possibly the person holding it ("Thủ tướng Phạm Minh Chính").
    mutating func position(at i: Int) -> Int? {
        // A title word at the start of a name ("Chủ tịch Hồ Chí Minh" is fine; "Trưởng" inside a sentence is not
        // capitalized) must be capitalized.
        guard tokens[i].isCapitalized else { return nil }
        let lengths = lexicon.titles.matches(tokens, at: i)
        guard !lengths.isEmpty else { return nil }
        // Prefer the shortest title that the organization after it extends past the longest one: "Ủy viên" +
        // "Ban Thường vụ Tỉnh ủy" rather than the title "Ủy viên Ban Thường vụ" + "Tỉnh ủy".
        var title = lengths[0]
        var organization: Int?
        for t in lengths.reversed() {
            if joined(i + t), let o = self.organization(at: i + t, lowercaseHead: true), t + o >= lengths[0] {
                title = t
                organization = o
                break
            }
        }
        let titleText = text(i, title)
        if organization == nil, joined(i + title) { organization = self.organization(at: i + title, lowercaseHead: true) }
        var place: Int?
        if organization == nil, joined(i + title), let n = lexicon.locations.match(tokens, at: i + title),
           ["country", "territory"].contains(lexicon.places[Word(text(i + title, n))] ?? "") {
            place = n  // "Thủ tướng Nhật Bản", "Ngoại trưởng Mỹ"
        }
        // "Trưởng" needs what it heads; "Trưởng đoàn" is a part in a visit, not an office.
        if ["Trưởng", "Phó Trưởng", "Trưởng ban", "Phó Trưởng ban"].containsUTF8(titleText), organization == nil { return nil }
        let length = title + (organization ?? place ?? 0)
        let positionSpan = span(i, length)
        var organizationID = ""
        if let o = organization {
            _ = recordOrganization(at: i + title, length: o)
            organizationID = builder.lastEntityID
        } else if let p = place {
            _ = recordLocation(at: i + title, PlaceMatch(length: p))
        }
        builder.position(positionSpan, title: surface(i, length), organizationID: organizationID)
        take(i, length)
        var consumed = length
        // The holder written right after the office, with no comma: "Thủ tướng Phạm Minh Chính".
        if joined(i + length), let name = personName(at: i + length, cued: true) {
            recordPerson(at: i + length, length: name)
            consumed += name
        }
        return consumed
    }

    // MARK: persons

    /// A person's name at `i`: a family name and given names ("Nguyễn Thị Thu Hương"), or after a cue ("ông",
    /// "đồng chí", "tiền đạo", "PGS,TS") any capitalized run, foreign names included ("Kim Sang-sik", "Luiz
    /// Inácio Lula da Silva").
    mutating func person(at i: Int) -> Int? {
        // A cue starting here ("Ông", "Nghệ sĩ Nhân dân", "Tiền đạo"): the name is after it.
        if let cue = lexicon.personCues.match(tokens, at: i), joined(i + cue), capitalized(i + cue),
           let n = personName(at: i + cue, cued: true) {
            recordPerson(at: i + cue, length: n, honorific: text(i, cue))
            take(i, cue)
            return cue + n
        }
        guard capitalized(i), !tokens[i].isAllCaps else { return nil }
        let cue = cueText(i)
        guard let n = personName(at: i, cued: !cue.isEmpty) else { return nil }
        recordPerson(at: i, length: n, honorific: cue)
        return n
    }

    /// A person's mention; the name as written when hyphens join its syllables ("Kim Sang-sik"), else its
    /// syllables with single spaces.
    mutating func recordPerson(at i: Int, length n: Int, honorific: String = "") {
        let written = surface(i, n)
        builder.mention(.person, span(i, n), name: containsUTF8(written, "-") ? written : text(i, n), honorific: honorific)
        take(i, n)
    }

    func personName(at i: Int, cued: Bool) -> Int? {
        guard i < tokens.count, !taken[i], capitalized(i), !tokens[i].isAllCaps,
              lexicon.titles.match(tokens, at: i) == nil, lexicon.organizationHeads.match(tokens, at: i) == nil,
              lexicon.locationHeads.match(tokens, at: i) == nil || cued else { return nil }
        if lexicon.isSurname(tokens[i]) {
            var n = 1
            while n < 5, joined(i + n), !taken[i + n], capitalized(i + n), !tokens[i + n].isAllCaps, gap(i + n) == " ",
                  lexicon.organizationHeads.match(tokens, at: i + n) == nil || n == 1 { n += 1 }
            // "Kim Sang-sik": a hyphenated given name.
            while n >= 2, gap(i + n) == "-", joined(i + n), !taken[i + n] { n += 1 }
            if n >= 2 { return n }
            if cued { return 1 }
            return nil
        }
        guard cued else { return nil }
        if lexicon.locations.match(tokens, at: i) != nil { return nil }
        let n = foreignRun(i, limit: 6)
        // One capitalized word the lexicons know ("các đồng chí Thường trực …") is not a name.
        if n == 1, tokens[i].id >= 0 { return nil }
        return n > 0 ? n : nil
    }

    /// Capitalized syllables joined by spaces or hyphens, with the small particles of foreign names between
    /// them ("da", "de", "van", "bin").
    func foreignRun(_ i: Int, limit: Int) -> Int {
        guard capitalized(i), !taken[i] else { return 0 }
        var n = 1
        while n < limit, joined(i + n), !taken[i + n] {
            if capitalized(i + n), !tokens[i + n].isAllCaps || word(i + n).count <= 1 { n += 1; continue }
            if gap(i + n) == "-", !capitalized(i + n) { n += 1; continue }  // "Sang-sik"
            if isText(i + n, Self.nameParticles), capitalized(i + n + 1), joined(i + n + 1) { n += 2; continue }
            break
        }
        return n
    }

    static let nameParticles = ["da", "de", "do", "dos", "van", "von", "der", "bin", "binti", "al", "el", "la", "le", "di", "du"]

    /// The honorific, degree or occupation right before `i` ("ông", "PGS,TS", "tiền đạo").
    func cueText(_ i: Int) -> String {
        for back in 1...3 where i - back >= 0 {
            let start = i - back
            if lexicon.personCues.matches(tokens, at: start, length: back), gap(i) == " " {
                return text(start, back)
            }
        }
        // Degrees written together: "PGS,TS", "PGS.TS".
        if i >= 2, gap(i) == " ", isText(i - 1, ["TS", "ThS", "GS", "BS"]), [",", ".", ", "].contains(gap(i - 1)),
           isText(i - 2, ["PGS", "GS", "TS", "ThS", "BS", "NGƯT", "NSND"]) {
            return surface(i - 2, 2)
        }
        return ""
    }

    /// A given name used alone after the full name ("Đạt" after "Võ Thành Đạt") is the same person, unless two
    /// persons of the article share it.
    mutating func shortNames() {
        var byGiven: [Word: String] = [:]  // "" when ambiguous
        for (id, name) in builder.persons() {
            guard let given = name.split(separator: " ").dropFirst().last, given.count > 1 else { continue }
            byGiven[Word(given)] = byGiven[Word(given)] == nil ? id : ""
        }
        guard !byGiven.isEmpty else { return }
        for k in tokens.indices where !taken[k] && capitalized(k) && !tokens[k].isAllCaps {
            guard let id = byGiven[Word(word(k))], !id.isEmpty, !capitalized(k + 1) || !joined(k + 1), !(joined(k) && capitalized(k - 1)) else { continue }
            // Not the first word of a sentence, where any word is capitalized.
            let before = gap(k)
            if k == 0 || containsUTF8(before, ".") || containsUTF8(before, "\n") || containsUTF8(before, ":") { continue }
            builder.mention(.person, span(k, 1), id: id)
            taken[k] = true
        }
    }

    /// The author line at the end: "TRANG NINH", "Kim Thúy - Vũ Hà".
    mutating func byline() {
        guard let last = tokens.indices.last else { return }
        var start = last
        while start > 0, !containsUTF8(gap(start), "\n") { start -= 1 }
        let count = last - start + 1
        guard count >= 2, count <= 7, (start...last).allSatisfy({ !taken[$0] }) else { return }
        let line = (start...last).map { tokens[$0] }
        if line.allSatisfy(\.isAllCaps), count <= 3 {
            builder.mention(.person, span(start, count), name: surface(start, count))
            take(start, count)
            return
        }
        // Names separated by " - ": each must be two or three capitalized syllables.
        var names: [(Int, Int)] = []
        var k = start
        while k <= last {
            var n = 1
            while k + n <= last, gap(k + n) == " " { n += 1 }
            guard (2...3).contains(n), (k..<(k + n)).allSatisfy({ capitalized($0) && !tokens[$0].isAllCaps }) else { return }
            names.append((k, n))
            k += n
        }
        guard names.count >= 1, names.count <= 3, lexicon.isSurname(tokens[start]) || names.count > 1 else { return }
        for (s, n) in names {
            builder.mention(.person, span(s, n), name: text(s, n))
            take(s, n)
        }
    }

    // MARK: events and other named things

    /// An event named by its head ("buổi làm việc", "Hội nghị", "lễ ký kết") and, after a capitalized head, by its
    /// name ("Lễ hội Hoa Ban", "Hội nghị thượng đỉnh G20", "ASEAN Cup 2024").
    mutating func event(at i: Int) -> Int? {
        guard !insideDocumentName[i], let headMatch = lexicon.eventHeads.longest(tokens, at: i) else { return nil }
        let head = headMatch.length
        if isText(i - 1, ["các", "những", "nhiều", "mỗi", "từng"]) { return nil }
        let kind = lexicon.eventHeadKinds[headMatch.phrase]
        var n = head
        if capitalized(i) {
            // The event's own name, unless what follows is an organization ("Hội nghị Ban Chấp hành …").
            if organization(at: i + n) == nil {
                var m = 0
                while m < 4, joined(i + n + m), !taken[i + n + m],
                      capitalized(i + n + m) && organization(at: i + n + m) == nil && lexicon.titles.match(tokens, at: i + n + m) == nil
                        || isText(i + n + m, Self.romanNumerals) || (kind == "tournament" && isNumber(i + n + m)) { m += 1 }
                n += m
            }
        }
        builder.mention(.event, span(i, n), name: surface(i, n), eventKind: kind)
        take(i, n)
        return n
    }

    /// Awards ("Giải Búa liềm vàng"), national programmes and products named in quotes after "nền tảng",
    /// "ứng dụng", "phần mềm".
    mutating func misc(at i: Int) -> Int? {
        guard capitalized(i) else { return nil }  // all three start with a capital: "Giải", "Chương", a quoted name
        let isAward = isWord(i, "Giải")
        let awardEnd = isAward ? parenthesizedAward(after: i) : nil
        if isAward, capitalized(i + 1) || (joined(i + 1) && awardEnd != nil) {
            var n = 1
            if let awardEnd {
                n = awardEnd - i
            } else {
                while n < 7, joined(i + n), !taken[i + n], !lexicon.isStopWord(tokens[i + n]) || n == 1 { n += 1 }
            }
            builder.mention(.misc, span(i, n), name: surface(i, n))
            take(i, n)
            return n
        }
        if isWord(i, "Chương"), sameUTF8(text(i, min(6, tokens.count - i)), "Chương trình mục tiêu quốc gia") {
            var n = 6
            while n < 12, joined(i + n), !isText(i + n, ["và", "của", "tại", "trong", "đã", "được"]) { n += 1 }
            builder.mention(.misc, span(i, n), name: surface(i, n))
            take(i, n)
            return n
        }
        // "nền tảng số "Sổ tay đảng viên điện tử"": a quoted name after a product word.
        if i >= 1, isText(i - 1, ["số", "tảng", "dụng", "mềm", "thi", "trào", "động", "phẩm"]),
           ["\"", " \"", " “", "“"].containsUTF8(gap(i)) {
            var n = 1
            while n < 12, i + n < tokens.count, !containsUTF8(gap(i + n), "\""), !containsUTF8(gap(i + n), "”"), !containsUTF8(gap(i + n), "\n") { n += 1 }
            builder.mention(.misc, span(i, n), name: surface(i, n))
            take(i, n)
            return n
        }
        return nil
    }

    /// "Giải báo chí toàn quốc về xây dựng Đảng (Giải Búa liềm vàng)": a long award name followed by its short
    /// name in parentheses ends where the parenthesis opens; the index of that token.
    func parenthesizedAward(after i: Int) -> Int? {
        var k = i + 1
        while k < tokens.count, k - i < 14 {
            if containsUTF8(gap(k), "("), isWord(k, "Giải") { return k }
            if !tokens[k].joinedToPrevious { return nil }
            k += 1
        }
        return nil
    }

    /// An upper-case abbreviation with an expansion known from the lexicon or given in the text
    /// ("thông tin đối ngoại (TTĐN)"), and an organization's acronym written after its name ("(VFF)").
    mutating func abbreviation(at i: Int) {
        let t = tokens[i]
        guard t.isAllCaps, !lexicon.isHonorific(t) else { return }
        let text = word(i)
        guard text.count >= 2 else { return }
        if let expansion = lexicon.abbreviations[Word(text)] ?? definedHere[Word(text)] ?? definedAbbreviation(at: i) {
            definedHere[Word(text)] = expansion  // used again later in the article without the parenthesis
            builder.mention(.abbreviation, span(i, 1), name: text, expansion: expansion)
            taken[i] = true
            return
        }
        // "Liên đoàn Bóng đá Việt Nam (VFF)": the acronym of the organization just named.
        if !taken[i], hasUTF8Suffix(gap(i), "("), i + 1 >= tokens.count || hasUTF8Prefix(gap(i + 1), ")"),
           let previous = builder.organizationEnding(at: UInt32(tokens[i - 1].byteEnd)) {
            builder.mention(.organization, span(i, 1), name: text)
            builder.mention(.abbreviation, span(i, 1), name: text, expansion: previous)
            taken[i] = true
        }
    }

    /// "thông tin đối ngoại (TTĐN)": the lower-case phrase before the parenthesis whose initials spell the
    /// abbreviation.
    func definedAbbreviation(at i: Int) -> String? {
        let abbreviation = Array(word(i))
        guard tokens[i].byteStart > 0, builder.utf8[tokens[i].byteStart - 1] == 0x28, i >= abbreviation.count else { return nil }
        let words = ((i - abbreviation.count)..<i).map(word)
        let initials = words.map { VietnameseText.fold(String($0.prefix(1))).uppercased() }
        let wanted = abbreviation.map { VietnameseText.fold(String($0)).uppercased() }
        guard initials == wanted else { return nil }
        return words.joined(separator: " ")
    }

    // MARK: documents and dates

    /// Document references: kind, number and code ("Chỉ thị số 07-CT/TW"), or kind and name ("Nghị quyết Đại hội
    /// … lần thứ XII", "Nghị quyết Trung ương 4", "Luật Đất đai"), with what follows them in the same breath:
    /// "ngày 5/9/2016", "của Ban Bí thư", "(khóa XII)", ", nhiệm kỳ 2015 - 2020".
    mutating func documents() {
        var i = 0
        while i < tokens.count {
            guard capitalized(i), !taken[i], let kindLength = lexicon.documentKindPhrases.match(tokens, at: i) else { i += 1; continue }
            let kind = text(i, kindLength)
            var j = i + kindLength
            var code = ""
            var name = ""
            if isText(j, ["số"]), joined(j) { j += 1 }
            if gap(j) == " ", isNumber(j) {
                code = word(j)
                var k = j + 1
                while k < tokens.count, gap(k) == "-" || gap(k) == "/", capitalized(k) || isNumber(k) {
                    code += gap(k) + word(k)
                    k += 1
                }
                j = k
            } else if joined(j), capitalized(j), !lexicon.isSurname(tokens[j]) || isWord(j, "Đại") {
                // A document named by its issuing event or subject: "Đại hội đại biểu Đảng bộ tỉnh", "Trung ương 4",
                // "Đất đai". Organizations inside are left for the main pass to record; events inside are not events.
                var k = j
                while joined(k), !taken[k] {
                    if k > j, let o = organization(at: k) { k += o; continue }
                    if isText(k, ["đại"]), isText(k + 1, ["biểu"]), joined(k + 1) { k += 2; continue }  // "Đại hội đại biểu"
                    if capitalized(k) || isNumber(k) || isText(k, Self.romanNumerals)
                        || (k > j && capitalized(k - 1) && !lexicon.isStopWord(tokens[k]) && !isText(k, ["về", "trên", "nhằm", "lần", "nhiệm", "khóa", "khoá", "ngày"])) {
                        k += 1
                        continue
                    }
                    break
                }
                guard k > j else { i += 1; continue }
                name = text(j, k - j)
                for m in j..<k { insideDocumentName[m] = true }
                take(i, kindLength)
                j = k
            } else {
                i += 1
                continue
            }
            if !code.isEmpty { take(i, j - i) }
            // What belongs to the reference.
            while j < tokens.count {
                if isText(j, ["ngày"]), gap(j) == " ", let dateEnd = takenRunEnd(j) { j = dateEnd; continue }
                if isText(j, ["lần"]), isText(j + 1, ["thứ"]), joined(j + 2), isNumber(j + 2) || isText(j + 2, Self.romanNumerals) {
                    take(j, 3); j += 3; continue
                }
                if isText(j, ["của"]), gap(j) == " ", joined(j + 1), let o = organization(at: j + 1) {
                    take(j, 1)
                    j += 1 + o  // recorded by the main pass
                    continue
                }
                if isText(j, ["nhiệm"]), gap(j) == " " || gap(j) == ", ", let dateEnd = takenRunEnd(j) { j = dateEnd; continue }
                if isText(j, ["khóa", "khoá"]), gap(j) == " " || gap(j) == " (", isText(j + 1, Self.romanNumerals) {
                    take(j, 2)
                    j += 2
                    continue
                }
                break
            }
            var end = tokens[j - 1].byteEnd
            // "(khóa XII)": the parenthesis opened inside the reference closes it.
            if end < builder.utf8.count, builder.utf8[end] == UInt8(ascii: ")"),
               builder.utf8[tokens[i].byteStart..<end].contains(UInt8(ascii: "(")) { end += 1 }
            var document = DocumentRef()
            document.kind = kind
            document.code = code
            document.number = String(code.prefix { $0.isNumber })
            if let term = (i..<j).first(where: { isText($0, ["khóa", "khoá"]) }).map({ word($0 + 1) }) { document.term = term }
            let key = code.isEmpty ? kind + " " + name : kind + " " + code
            document.id = "doc:" + hyphenated(VietnameseText.fold(key).lowercased())
            let documentSpan = Span(start: UInt32(tokens[i].byteStart), end: UInt32(end))
            document.span = documentSpan
            builder.document(document, span: documentSpan)
            i = j
        }
    }

    /// The end of the run of taken tokens (a date found earlier) starting at `k`.
    func takenRunEnd(_ k: Int) -> Int? {
        guard k < tokens.count, taken[k] else { return nil }
        var e = k
        while e < tokens.count, taken[e], e == k || tokens[e].joinedToPrevious || ["/", "-", " - "].contains(gap(e)) { e += 1 }
        return e
    }

    mutating func dates(_ scanner: PatternScanner, publishedAt: String) {
        let publishedYear = Int(publishedAt.prefix(4))
        for m in scanner.dates() {
            var value = ""
            var inferred = false
            if let d = m.groups[1].flatMap(Int.init), let mo = m.groups[2].flatMap(Int.init) {
                guard (1...31).contains(d), (1...12).contains(mo) else { continue }
                if let y = m.groups[3].flatMap(Int.init) {
                    value = "\(zeroPadded(y, 4))-\(zeroPadded(mo, 2))-\(zeroPadded(d, 2))"
                } else if let y = publishedYear {
                    value = "\(zeroPadded(y, 4))-\(zeroPadded(mo, 2))-\(zeroPadded(d, 2))"
                    inferred = true
                } else {
                    value = "--\(zeroPadded(mo, 2))-\(zeroPadded(d, 2))"
                }
            } else if let a = m.groups[4], let b = m.groups[5] {
                value = "\(a)/\(b)"
            } else if let months = m.groups[6] {
                let half = containsUTF8(m.text, "đầu") ? "H1" : "H2"
                let year = m.groups[7] ?? publishedYear.map(String.init)
                inferred = m.groups[7] == nil && year != nil
                value = months == "6" ? "\(year ?? "")-\(half)" : "\(year ?? "")-\(containsUTF8(m.text, "đầu") ? "first" : "last")\(months)m"
            } else if let mo = m.groups[8].flatMap(Int.init), let y = m.groups[9] {
                value = "\(y)-\(zeroPadded(mo, 2))"
            } else if let y = m.groups[10] {
                value = y
            } else if let quarter = m.groups[0] {
                value = quarter
            }
            var date = DateRef()
            date.span = Span(start: UInt32(m.byteRange.lowerBound), end: UInt32(m.byteRange.upperBound))
            date.value = value
            date.yearInferred = inferred
            builder.date(date)
            // The date's tokens, from the first that starts inside it (found by bisection: tokens are in text order).
            var low = 0, high = tokens.count
            while low < high {
                let middle = (low + high) / 2
                if tokens[middle].byteStart < m.byteRange.lowerBound { low = middle + 1 } else { high = middle }
            }
            for k in low..<tokens.count {
                guard tokens[k].byteStart < m.byteRange.upperBound else { break }
                if tokens[k].byteEnd <= m.byteRange.upperBound { taken[k] = true }
            }
        }
    }
}
