import BantinCore
import Foundation

/// Dates found by walking the tokens, in place of the regular expression the first extractor ran through ICU.
/// The scanner reports what the expression's capture groups held (group 0: a quarter, "Q4" or "2024-Q4").
struct PatternScanner {
    let tokens: [TextToken]
    let utf8: [UInt8]
    let words: Words

    /// The bytes between tokens `k - 1` and `k` are `text`'s (a length test, then a memcmp).
    func gapIs(_ k: Int, _ text: StaticString) -> Bool {
        guard k > 0, k < tokens.count else { return false }
        let start = tokens[k - 1].byteEnd, count = tokens[k].byteStart - start
        return count == text.utf8CodeUnitCount
            && utf8.withUnsafeBufferPointer { memcmp($0.baseAddress! + start, text.utf8Start, count) == 0 }
    }

    func isDigits(_ k: Int, count: ClosedRange<Int>) -> Bool {
        guard k < tokens.count else { return false }
        let t = tokens[k]
        return count.contains(t.byteEnd - t.byteStart) && utf8[t.byteStart..<t.byteEnd].allSatisfy { (0x30...0x39).contains($0) }
    }

    func text(_ k: Int) -> String { string(tokens[k].byteStart..<tokens[k].byteEnd) }
    func `is`(_ k: Int, _ words: WordIDs) -> Bool { k < tokens.count && words.contains(tokens[k].id) }

    /// The words dates are made of, by vocabulary number: interned with the lexicon, so that a token's `id`
    /// answers whether it is one of them without hashing its text (a `Set<Word>` lookup on every token made
    /// a twentieth of extraction time).
    struct Words: Sendable {
        let so, dayParts, dayPartFirsts, dayPartSeconds, quy, giai, doan, ngay, timesOfDay: WordIDs
        let hom, nay, nhiem, ky, thang, dauCuoi, nam: WordIDs
        /// By vocabulary number: a token a date can start with, besides digits (asked of every token).
        let isDateStart: [Bool]

        init(_ vocabulary: inout Vocabulary) {
            func words(_ list: String...) -> WordIDs { WordIDs(list.map { vocabulary.intern(Word($0)) }) }
            so = words("số")
            dayParts = words("Sáng", "sáng", "Chiều", "chiều", "Tối", "tối", "Trưa", "trưa", "Đêm", "đêm", "Ngày", "ngày")
            // Two-word times of day: "Rạng sáng", "Chiều tối", "Sáng sớm".
            dayPartFirsts = words("Rạng", "rạng", "Sáng", "sáng", "Chiều", "chiều", "Tối", "tối", "Đêm", "đêm")
            dayPartSeconds = words("sáng", "sớm", "tối", "muộn", "khuya", "nay", "qua")
            quy = words("quý", "Quý"); giai = words("giai", "Giai"); doan = words("đoạn"); ngay = words("ngày")
            timesOfDay = words("Sáng", "sáng", "Chiều", "chiều", "Tối", "tối", "Trưa", "trưa", "Đêm", "đêm")
            hom = words("Hôm", "hôm"); nay = words("nay"); nhiem = words("nhiệm"); ky = words("kỳ")
            thang = words("tháng"); dauCuoi = words("đầu", "cuối"); nam = words("năm")
            var isDateStart = [Bool](repeating: false, count: vocabulary.count)
            for id in [dayParts, hom, nhiem, thang, nam, dayPartFirsts, quy, giai].flatMap(\.ids) { isDateStart[Int(id)] = true }
            self.isDateStart = isDateStart
        }
    }

    func string(_ range: Range<Int>) -> String { String(decoding: utf8[range], as: UTF8.self) }

    // MARK: dates

    /// Groups as in the first extractor's expression: 1–3 day/month[/year] (with an optional "Sáng", "Ngày",
    /// "Hôm nay" … before it), 4–5 "nhiệm kỳ A - B", 6–7 "N tháng đầu/cuối năm Y", 8–9 "tháng M/Y" or "tháng M
    /// năm Y", 10 "năm Y".
    func dates() -> [PatternMatch] {
        var found: [PatternMatch] = []
        var i = 0
        while i < tokens.count {
            if let (match, next) = date(at: i) {
                found.append(match)
                i = next
            } else {
                i += 1
            }
        }
        return found
    }

    private func date(at i: Int) -> (PatternMatch, Int)? {
        let first = utf8[tokens[i].byteStart]
        let id = Int(tokens[i].id)
        guard (0x30...0x39).contains(first) || id >= 0 && id < words.isDateStart.count && words.isDateStart[id] else { return nil }
        var groups = PatternMatch.noGroups  // shared until a group is set: most candidates are not dates
        func done(_ first: Int, _ last: Int) -> (PatternMatch, Int) {
            var end = tokens[last].byteEnd
            // "Hôm nay (31/10)": the parenthesis opened inside the date closes it.
            if utf8[tokens[first].byteStart..<end].contains(UInt8(ascii: "(")), end < utf8.count, utf8[end] == UInt8(ascii: ")") { end += 1 }
            let range = tokens[first].byteStart..<end
            return (PatternMatch(text: string(range), byteRange: range, groups: groups), last + 1)
        }
        // Day/month[/year], with the time-of-day or "ngày" word before it.
        var start = i
        var d = i
        if `is`(i, words.dayPartFirsts), `is`(i + 1, words.dayPartSeconds), gapIs(i + 1, " "), isDigits(i + 2, count: 1...2) || `is`(i + 2, words.ngay) {
            d = i + 2
            if `is`(d, words.ngay), gapIs(d, " ") { d += 1 }
        } else if `is`(i, words.dayParts) {
            d = i + 1
            if `is`(i, words.timesOfDay), `is`(d, words.ngay), gapIs(d, " ") { d += 1 }
        } else if `is`(i, words.hom), `is`(i + 1, words.nay), gapIs(i + 1, " ") {
            d = i + 2
        }
        if d > i, !(gapIs(d, " ") || gapIs(d, " (")) { d = i }
        if d == i { start = i }
        if isDigits(d, count: 1...2), gapIs(d + 1, "/"), isDigits(d + 1, count: 1...2) {
            groups[1] = text(d)
            groups[2] = text(d + 1)
            if gapIs(d + 2, "/"), isDigits(d + 2, count: 4...4) {
                groups[3] = text(d + 2)
                return done(start, d + 2)
            }
            return done(start, d + 1)
        }
        if `is`(i, words.nhiem), `is`(i + 1, words.ky), gapIs(i + 1, " "), gapIs(i + 2, " "), isDigits(i + 2, count: 4...4),
           [" - ", "-", " -", "- ", " – ", "–", " –", "– "].contains(where: { gapIs(i + 3, $0) }), isDigits(i + 3, count: 4...4) {
            groups[4] = text(i + 2)
            groups[5] = text(i + 3)
            return done(i, i + 3)
        }
        if isDigits(i, count: 1...2), `is`(i + 1, words.thang), `is`(i + 2, words.dauCuoi), `is`(i + 3, words.nam), (1...3).allSatisfy({ gapIs(i + $0, " ") }) {
            groups[6] = text(i)
            if isDigits(i + 4, count: 4...4), gapIs(i + 4, " ") {
                groups[7] = text(i + 4)
                return done(i, i + 4)
            }
            return done(i, i + 3)  // "6 tháng đầu năm": the year is the article's
        }
        if `is`(i, words.quy), gapIs(i + 1, " "), i + 1 < tokens.count, ["I", "II", "III", "IV"].contains(text(i + 1)) {
            groups[0] = "Q" + String(["I", "II", "III", "IV"].firstIndex(of: text(i + 1))! + 1)
            if `is`(i + 2, words.nam), gapIs(i + 2, " "), gapIs(i + 3, " "), isDigits(i + 3, count: 4...4) {
                groups[0] = text(i + 3) + "-" + groups[0]!
                return done(i, i + 3)
            }
            return done(i, i + 1)
        }
        if `is`(i, words.giai), `is`(i + 1, words.doan), gapIs(i + 1, " "), gapIs(i + 2, " "), isDigits(i + 2, count: 4...4),
           [" - ", "-", " -", "- ", " – ", "–"].contains(where: { gapIs(i + 3, $0) }), isDigits(i + 3, count: 4...4) {
            groups[4] = text(i + 2)
            groups[5] = text(i + 3)
            return done(i, i + 3)
        }
        if `is`(i, words.thang), gapIs(i + 1, " "), isDigits(i + 1, count: 1...2) {
            if gapIs(i + 2, "/"), isDigits(i + 2, count: 4...4) {
                groups[8] = text(i + 1)
                groups[9] = text(i + 2)
                return done(i, i + 2)
            }
            if `is`(i + 2, words.nam), gapIs(i + 2, " "), gapIs(i + 3, " "), isDigits(i + 3, count: 4...4) {
                groups[8] = text(i + 1)
                groups[9] = text(i + 3)
                return done(i, i + 3)
            }
        }
        if `is`(i, words.nam), gapIs(i + 1, " "), isDigits(i + 1, count: 4...4) {
            groups[10] = text(i + 1)
            return done(i, i + 1)
        }
        return nil
    }
}

/// A document reference or date found in the text, with the capture groups described on its scanner.
struct PatternMatch {
    var text: String
    var byteRange: Range<Int>
    var groups: [String?]

    static let noGroups = [String?](repeating: nil, count: 11)
}

/// A few vocabulary numbers, checked by a scan: the lists are short, and a scan of them costs less than a hash.
struct WordIDs: Sendable {
    let ids: [Int32]
    init(_ ids: [Int32]) { self.ids = Array(Set(ids)).sorted() }
    func contains(_ id: Int32) -> Bool { id >= 0 && ids.contains(id) }
}
