import Foundation

/// Vietnamese text handling shared by ingest (normalization), extract (offsets) and query
/// (folding): one implementation of each rule.
public enum VietnameseText {
    // MARK: normalization

    /// NFC, one tone-mark placement, tidy whitespace. Line breaks are kept (they separate
    /// paragraphs); runs of spaces, tabs and no-break spaces become one space; lines are trimmed.
    public static func normalize(_ text: String) -> String {
        var lines: [String] = []
        for line in text.precomposedStringWithCanonicalMapping.split(separator: "\n", omittingEmptySubsequences: false) {
            var out = ""
            var pendingSpace = false
            var word = ""
            func flushWord() {
                if !word.isEmpty {
                    if pendingSpace, !out.isEmpty { out.append(" ") }
                    out += canonicalTonePlacement(word)
                    word = ""
                    pendingSpace = false
                }
            }
            for scalar in line.unicodeScalars {
                if scalar == "\r" { continue }
                if scalar.properties.isWhitespace || scalar == "\u{200B}" || scalar == "\u{FEFF}" {
                    flushWord()
                    pendingSpace = true
                } else if scalar.properties.isAlphabetic {
                    word.unicodeScalars.append(scalar)
                } else {
                    flushWord()
                    if pendingSpace, !out.isEmpty { out.append(" ") }
                    pendingSpace = false
                    out.unicodeScalars.append(scalar)
                }
            }
            flushWord()
            lines.append(out)
        }
        return lines.joined(separator: "\n")
    }

    static let toneMarks: Set<Unicode.Scalar> = ["\u{300}", "\u{301}", "\u{303}", "\u{309}", "\u{323}"]
    static let vowelModifiers: Set<Unicode.Scalar> = ["\u{302}", "\u{306}", "\u{31B}"]  // â ê ô, ă, ơ ư
    static let vowels: Set<Unicode.Scalar> = ["a", "e", "i", "o", "u", "y", "A", "E", "I", "O", "U", "Y"]

    /// Puts a syllable's tone mark where the traditional ("old style") rule puts it, so "hoà" and
    /// "hòa", "thuỷ" and "thủy", "khoẻ" and "khỏe" become one form. The rule: on the vowel carrying a
    /// modifier (ơ in "ươ"); else on the last vowel when a consonant closes the syllable; else on
    /// the middle of three vowels or the first of two. "qu" and "gi" onsets are consonants.
    /// Words that are not a single Vietnamese syllable with one tone mark come back unchanged.
    public static func canonicalTonePlacement(_ word: String) -> String {
        let scalars = Array(word.decomposedStringWithCanonicalMapping.unicodeScalars)
        guard scalars.count <= 16 else { return word }
        // Letters with their combining marks.
        var letters: [(base: Unicode.Scalar, marks: [Unicode.Scalar])] = []
        var tone: Unicode.Scalar?
        for s in scalars {
            if toneMarks.contains(s) {
                guard tone == nil, !letters.isEmpty else { return word }
                tone = s
            } else if s.properties.generalCategory == .nonspacingMark {
                guard !letters.isEmpty else { return word }
                letters[letters.count - 1].marks.append(s)
            } else {
                guard s.isASCII, s.properties.isAlphabetic || s == "đ" || s == "Đ" else { return word }
                letters.append((s, []))
            }
        }
        guard let tone else { return word }
        var vowelIndexes = letters.indices.filter { vowels.contains(letters[$0].base) }
        guard let first = vowelIndexes.first, let last = vowelIndexes.last,
              last - first + 1 == vowelIndexes.count else { return word }  // vowels must be contiguous
        let onset = letters[..<first].map { Character($0.base).lowercased() }.joined()
        if vowelIndexes.count > 1 {
            let lead = Character(letters[first].base).lowercased()
            if (onset == "q" && lead == "u") || (onset == "g" && lead == "i") { vowelIndexes.removeFirst() }
        }
        let closed = last < letters.count - 1
        let target: Int
        if let modified = vowelIndexes.last(where: { !letters[$0].marks.filter(vowelModifiers.contains).isEmpty }) {
            target = modified
        } else if closed || vowelIndexes.count == 1 {
            target = vowelIndexes.last!
        } else if vowelIndexes.count == 3 {
            target = vowelIndexes[1]
        } else {
            target = vowelIndexes[0]
        }
        var out = String.UnicodeScalarView()
        for (i, letter) in letters.enumerated() {
            out.append(letter.base)
            out.append(contentsOf: letter.marks)
            if i == target { out.append(tone) }
        }
        return String(out).precomposedStringWithCanonicalMapping
    }

    // MARK: folding

    /// Lower case without diacritics, đ → d: the key under which "Tạp chí Cộng sản", "tap chi cong
    /// san" and "TẠP CHÍ CỘNG SẢN" meet.
    public static func fold(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars {
            if s.properties.generalCategory == .nonspacingMark { continue }
            out.append(s == "đ" ? "d" : s)
        }
        return String(out)
    }

    // MARK: tokens

    /// A run of letters and digits (one syllable, a number, a code part) with its UTF-8 byte range.
    public struct Token: Sendable, Hashable {
        public var text: Substring
        public var byteStart: Int
        public var byteEnd: Int
    }

    /// The syllables of `text` in order, with UTF-8 byte offsets into it.
    public static func tokens(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var start: String.Index?
        var startByte = 0
        var byte = 0
        var index = text.unicodeScalars.startIndex
        for scalar in text.unicodeScalars {
            let isWordPart = scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                || scalar.properties.generalCategory == .nonspacingMark
            if isWordPart {
                if start == nil {
                    start = index
                    startByte = byte
                }
            } else if let s = start {
                tokens.append(Token(text: Substring(text.unicodeScalars[s..<index]), byteStart: startByte, byteEnd: byte))
                start = nil
            }
            byte += scalar.utf8.count
            index = text.unicodeScalars.index(after: index)
        }
        if let s = start {
            tokens.append(Token(text: Substring(text.unicodeScalars[s...]), byteStart: startByte, byteEnd: byte))
        }
        return tokens
    }
}
