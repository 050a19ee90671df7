import Foundation

/// Vietnamese text handling shared by ingest (normalization), extract (offsets) and query
/// (folding): one implementation of each rule.
public enum VietnameseText {
    // MARK: normalization

    /// NFC, one tone-mark placement, tidy whitespace. Line breaks are kept (they separate
    /// paragraphs); runs of spaces, tabs and no-break spaces become one space; lines are trimmed.
    public static func normalize(_ text: String) -> String {
        // Nearly all text is surely NFC already (`Letters.isSurelyNFC`): the pass checks as it goes, and only
        // when it meets a scalar outside those scripts does the text go through Foundation's normalizer first.
        var text = text
        text.makeContiguousUTF8()
        if let normalized = text.utf8.withContiguousStorageIfAvailable({ normalize(utf8: $0, checkingNFC: true) }) ?? nil {
            return normalized
        }
        var composed = text.precomposedStringWithCanonicalMapping
        composed.makeContiguousUTF8()
        return composed.utf8.withContiguousStorageIfAvailable { normalize(utf8: $0, checkingNFC: false) }!!
    }

    /// `normalize` of valid UTF-8, NFC unless `checkingNFC`; then nil if it may not be.
    private static func normalize(utf8 bytes: UnsafeBufferPointer<UInt8>, checkingNFC: Bool) -> String? {
        var normalizer = Normalizer(bytes)
        guard normalizer.run(checkingNFC: checkingNFC) else { return nil }
        return String(decoding: normalizer.out, as: UTF8.self)
    }

    /// One pass of `normalize`. Words (runs of letters) are copied as they are, unless they hold a non-ASCII
    /// letter and `placeTone` moves their mark; spacing is rewritten around them. A struct with methods
    /// rather than a function with a local one: captured variables are checked for exclusive access on
    /// every use.
    private struct Normalizer {
        let bytes: UnsafeBufferPointer<UInt8>
        let kinds = Letters.kindBelow3000
        let vowels = Letters.vowelBelow1F00
        var out: [UInt8] = []
        var word: [Unicode.Scalar] = []
        var wordStart = -1  // where the current word starts in `bytes`, or −1
        var wordIsASCII = true
        var wordHasCR = false  // a carriage return inside a word is dropped and the word goes on
        var pendingSpace = false
        var lineHasText = false

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
            out.reserveCapacity(bytes.count)
        }

        /// False when `checkingNFC` and the text holds a scalar for which it may not be NFC.
        mutating func run(checkingNFC: Bool) -> Bool {
            var i = 0
            while i < bytes.count {
                // ASCII letters, most of the bytes, go straight on: no decoding, no table.
                if isASCIILetter(bytes[i]) {
                    if wordStart < 0 {
                        wordStart = i
                        wordIsASCII = true
                        wordHasCR = false
                    }
                    i += 1
                    continue
                }
                let (value, length) = decodeScalar(bytes, at: i)
                if checkingNFC, value >= 0x300, !Letters.isSurelyNFC(value) { return false }
                switch value < 0x3000 ? kinds[Int(value)] : Letters.computedKind(Unicode.Scalar(value)!) {
                case .letter:
                    if wordStart < 0 {
                        wordStart = i
                        wordIsASCII = true
                        wordHasCR = false
                    }
                    if length > 1 { wordIsASCII = false }
                case .space:
                    flushWord(i)
                    pendingSpace = true
                case .lineBreak:
                    flushWord(i)
                    out.append(0x0A)
                    pendingSpace = false
                    lineHasText = false
                case .carriageReturn:
                    if wordStart >= 0 { wordHasCR = true }
                case .other:
                    flushWord(i)
                    if pendingSpace, lineHasText { out.append(0x20) }
                    pendingSpace = false
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + length)]))
                    lineHasText = true
                }
                i += length
            }
            flushWord(bytes.count)
            return true
        }

        mutating func flushWord(_ end: Int) {
            guard wordStart >= 0 else { return }
            if pendingSpace, lineHasText { out.append(0x20) }
            let letters = UnsafeBufferPointer(rebasing: bytes[wordStart..<end])
            if !wordHasCR, wordIsASCII || !mayMoveTone(letters) {
                out.append(contentsOf: letters)  // tone marks are never ASCII
            } else {
                word.removeAll(keepingCapacity: true)
                var i = 0
                while i < letters.count {
                    let (value, length) = decodeScalar(letters, at: i)
                    if value != 0x0D { word.append(Unicode.Scalar(value)!) }
                    i += length
                }
                if Letters.placeTone(&word) || wordHasCR {
                    for scalar in word { appendUTF8(scalar, to: &out) }
                } else {
                    out.append(contentsOf: letters)
                }
            }
            wordStart = -1
            pendingSpace = false
            lineHasText = true
        }

        /// False when `placeTone` would surely leave the word as it is: it needs two vowels or more, one of them
        /// with a tone. Most words fail that, and are copied without being decoded into scalars.
        func mayMoveTone(_ letters: UnsafeBufferPointer<UInt8>) -> Bool {
            var vowelCount = 0, toned = 0, i = 0
            while i < letters.count {
                let (value, length) = decodeScalar(letters, at: i)
                if value < 0x1F00, case let packed = vowels[Int(value)], packed != 0 {
                    vowelCount += 1
                    if packed >> 1 & 7 != 0 { toned += 1 }
                }
                i += length
            }
            return vowelCount >= 2 && toned == 1
        }
    }

    /// A-Z or a-z (one comparison: setting bit 5 lower-cases an ASCII letter).
    @inline(__always)
    static func isASCIILetter(_ byte: UInt8) -> Bool { byte | 0x20 &- 0x61 < 26 }

    @inline(__always)
    static func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        if scalar.value < 0x80 {
            bytes.append(UInt8(scalar.value))
        } else {
            bytes.append(contentsOf: UTF8.encode(scalar)!)
        }
    }

    /// Puts a syllable's tone mark where the traditional ("old style") rule puts it, so "hoà" and
    /// "hòa", "thuỷ" and "thủy", "khoẻ" and "khỏe" become one form. The rule: on the vowel carrying a
    /// modifier (ơ in "ươ"); else on the last vowel when a consonant closes the syllable; else on
    /// the middle of three vowels or the first of two. "qu" and "gi" onsets are consonants.
    /// Words that are not a single Vietnamese syllable with one tone mark come back unchanged.
    public static func canonicalTonePlacement(_ word: String) -> String {
        var scalars = Array(word.precomposedStringWithCanonicalMapping.unicodeScalars)
        guard Letters.placeTone(&scalars) else { return word }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// A letter of any script (fast for Vietnamese).
    public static func isLetter(_ scalar: Unicode.Scalar) -> Bool { Letters.kind(scalar) == .letter }

    /// How many scalars of `text` are letters, and how many are not white space.
    public static func countLetters(_ text: String) -> (letters: Int, visible: Int) {
        var text = text
        return text.withUTF8 { bytes in
            let kinds = Letters.kindBelow3000
            var letters = 0, visible = 0, i = 0
            while i < bytes.count {
                if isASCIILetter(bytes[i]) {  // no decoding, no table
                    letters += 1
                    visible += 1
                    i += 1
                    continue
                }
                let (value, length) = decodeScalar(bytes, at: i)
                switch value < 0x3000 ? kinds[Int(value)] : Letters.computedKind(Unicode.Scalar(value)!) {
                case .letter: letters += 1; visible += 1
                case .other: visible += 1
                case .space, .lineBreak, .carriageReturn: break
                }
                i += length
            }
            return (letters, visible)
        }
    }

    /// An upper-case letter (fast for Vietnamese: a table below U+3000).
    public static func isUppercase(_ scalar: Unicode.Scalar) -> Bool {
        letterCase(of: scalar, in: Letters.caseBelow3000) == Letters.upper
    }

    /// A lower-case letter (fast for Vietnamese: a table below U+3000).
    public static func isLowercase(_ scalar: Unicode.Scalar) -> Bool {
        letterCase(of: scalar, in: Letters.caseBelow3000) == Letters.lower
    }

    /// `Letters.upper`, `Letters.lower` or 0: from `table` (`Letters.caseBelow3000`, passed in so that a loop
    /// reads the global once) below U+3000, from the rules above it.
    @inline(__always)
    static func letterCase(of scalar: Unicode.Scalar, in table: [UInt8]) -> UInt8 {
        scalar.value < 0x3000 ? table[Int(scalar.value)] : computedCase(scalar)
    }

    static func computedCase(_ scalar: Unicode.Scalar) -> UInt8 {
        computedIsUppercase(scalar) ? Letters.upper : computedIsLowercase(scalar) ? Letters.lower : 0
    }

    static func computedIsUppercase(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x41...0x5A: return true
        case 0..<0x80: return false
        default:
            if let vowel = Letters.vowels[scalar.value] { return vowel.toneless.value < 0x61 || "ĂÂÊÔƠƯ".unicodeScalars.contains(vowel.toneless) }
            if scalar.value == 0x110 { return true }
            return scalar.properties.isUppercase
        }
    }

    static func computedIsLowercase(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x61...0x7A: return true
        case 0..<0x80: return false
        default:
            if Letters.vowels[scalar.value] != nil || scalar.value == 0x110 { return !computedIsUppercase(scalar) }
            if scalar.value == 0x111 { return true }
            return scalar.properties.isLowercase
        }
    }

    /// Whitespace, line breaks included.
    public static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch Letters.kind(scalar) {
        case .space, .lineBreak, .carriageReturn: true
        default: false
        }
    }

    // MARK: folding

    /// Lower case without diacritics, đ → d: the key under which "Tạp chí Cộng sản", "tap chi cong
    /// san" and "TẠP CHÍ CỘNG SẢN" meet.
    public static func fold(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        fold(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `fold`, appending the folded UTF-8 to `out`: for callers that build a larger string around it.
    public static func fold(_ text: String, into out: inout [UInt8]) {
        var text = text
        // Over the bytes, ASCII on its own path: ids fold every name, and most of a folded name is ASCII.
        text.withUTF8 { bytes in
            Letters.foldBelow3000.withUnsafeBufferPointer { table in
                var i = 0
                while i < bytes.count {
                    let lead = bytes[i]
                    if lead < 0x80 {
                        out.append(lead &- 0x41 < 26 ? lead + 0x20 : lead)  // A-Z lower-cased, as `computedFold` does
                        i += 1
                        continue
                    }
                    let (value, length) = decodeScalar(bytes, at: i)
                    i += length
                    if value < 0x3000 {
                        let folded = table[Int(value)]
                        if folded == Letters.dropped { continue }
                        if folded != Letters.notTabled {
                            if folded < 0x80 { out.append(UInt8(folded)) } else { appendUTF8(Unicode.Scalar(folded)!, to: &out) }
                            continue
                        }
                    }
                    if let scalar = Unicode.Scalar(value) { computedFold(scalar, into: &out) }
                }
            }
        }
    }

    /// The scalar whose UTF-8 encoding starts at `bytes[i]` (valid UTF-8), and the number of bytes it takes.
    @inline(__always)
    public static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (value: UInt32, length: Int) {
        let lead = bytes[i]
        if lead < 0x80 { return (UInt32(lead), 1) }
        var value: UInt32, length: Int
        if lead >= 0xF0 { length = 4; value = UInt32(lead & 0x07) }
        else if lead >= 0xE0 { length = 3; value = UInt32(lead & 0x0F) }
        else { length = 2; value = UInt32(lead & 0x1F) }
        length = min(length, bytes.count - i)
        for k in 1..<max(1, length) { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
        return (value, length)
    }

    /// `text.lowercased()`, scalar by scalar as the standard library does, from a table below U+3000.
    public static func lowercased(_ text: String) -> String { String(decoding: lowercasedUTF8(text), as: UTF8.self) }

    /// `lowercased` as UTF-8 bytes, for callers that compare bytes: over the bytes, ASCII on its own path.
    public static func lowercasedUTF8(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { bytes in
            let table = Letters.lowerBelow3000
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            while i < bytes.count {
                let byte = bytes[i]
                if byte < 0x80 {
                    out.append(byte &- 0x41 < 26 ? byte | 0x20 : byte)
                    i += 1
                    continue
                }
                let (value, length) = decodeScalar(bytes, at: i)
                if value < 0x3000, table[Int(value)] != Letters.notTabled {
                    appendUTF8(Unicode.Scalar(table[Int(value)])!, to: &out)
                } else {
                    for lower in Unicode.Scalar(value)!.properties.lowercaseMapping.unicodeScalars { appendUTF8(lower, to: &out) }
                }
                i += length
            }
            return out
        }
    }

    /// The rule `fold` applies to one scalar (the table below U+3000 holds its results).
    static func computedFold(_ s: Unicode.Scalar, into out: inout [UInt8]) {
        if s.value < 0x80 {
            out.append(UInt8(s.value >= 0x41 && s.value <= 0x5A ? s.value + 0x20 : s.value))
        } else if let folded = Letters.folded[s.value] {
            if let folded { appendUTF8(folded, to: &out) }  // nil: a combining mark, dropped
        } else {
            // Outside Latin: lower-case only (Cyrillic, Greek ... have no diacritics to drop here).
            for lower in s.properties.lowercaseMapping.unicodeScalars { appendUTF8(lower, to: &out) }
        }
    }

    // MARK: tokens

    /// A run of letters and digits (one syllable, a number, a code part) with its UTF-8 byte range.
    public struct Token: Sendable, Hashable {
        public var text: Substring
        public var byteStart: Int
        public var byteEnd: Int
    }

    /// The syllables of `text` in order, with UTF-8 byte offsets into it.
    ///
    /// Walks the UTF-8 bytes, decoding only non-ASCII sequences: search snippets and the extractor cut
    /// every article into tokens, so this loop is hot.
    public static func tokens(_ text: String) -> [Token] {
        var text = text
        text.makeContiguousUTF8()
        let utf8 = text.utf8
        return tokenRanges(text).map { r in
            let from = utf8.index(utf8.startIndex, offsetBy: r.lowerBound), to = utf8.index(utf8.startIndex, offsetBy: r.upperBound)
            return Token(text: text[from..<to], byteStart: r.lowerBound, byteEnd: r.upperBound)
        }
    }

    /// The UTF-8 byte ranges of the syllables of `text`: `tokens` without making substrings, for callers
    /// that only cut or mark the text.
    public static func tokenRanges(_ text: String) -> [Range<Int>] {
        var text = text
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable { tokenRanges(utf8: $0) } ?? []
    }

    /// `tokenRanges` of valid UTF-8 bytes.
    public static func tokenRanges(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(bytes.count / 4)
        scanSyllables(utf8: bytes) { range, _ in ranges.append(range) }
        return ranges
    }

    /// The case of a syllable's letters, found while scanning it.
    public struct SyllableCase {
        /// Its first letter is upper case.
        public var capitalized: Bool
        /// It has two letters or more and none in lower case ("UBND", "HĐND").
        public var allCaps: Bool
    }

    /// Calls `visit` with the byte range and letter case of each syllable of valid UTF-8 `bytes`, in order: the
    /// tokenizer's one pass, so that the extractor does not decode every syllable a second time for its case.
    public static func scanSyllables(utf8 bytes: UnsafeBufferPointer<UInt8>, _ visit: (Range<Int>, SyllableCase) -> Void) {
        // The tables are read through local buffers: a static `let` read inside the loop costs a `swift_once`
        // call per character.
        Letters.wordPartBelow3000.withUnsafeBufferPointer { wordPart in
            Letters.caseBelow3000.withUnsafeBufferPointer { caseTable in
                var i = 0
                var start = -1
                var capitalized = false, anyLower = false, letters = 0
                while i < bytes.count {
                    let (value, length) = decodeScalar(bytes, at: i)
                    let isWordPart = value < 0x3000 ? wordPart[Int(value)] : Letters.isWordPart(value)
                    if isWordPart {
                        let letterCase = value < 0x3000 ? caseTable[Int(value)] : Unicode.Scalar(value).map(computedCase) ?? 0
                        if start < 0 {
                            start = i
                            capitalized = letterCase == Letters.upper
                            anyLower = false
                            letters = 0
                        }
                        if letterCase == Letters.lower { anyLower = true }
                        letters += 1
                    } else if start >= 0 {
                        visit(start..<i, SyllableCase(capitalized: capitalized, allCaps: letters >= 2 && !anyLower))
                        start = -1
                    }
                    i += length
                }
                if start >= 0 { visit(start..<bytes.count, SyllableCase(capitalized: capitalized, allCaps: letters >= 2 && !anyLower)) }
            }
        }
    }
}

/// Tables over the Latin letters Vietnamese uses, built once with Foundation so that the per-character work of
/// normalizing, folding and tokenizing is a lookup, not a Unicode property query or a string bridge.
enum Letters {
    enum Kind { case letter, space, lineBreak, carriageReturn, other }

    /// The vowels, each with its tone (0 none, 1 grave, 2 acute, 3 tilde, 4 hook, 5 dot) and its toneless form.
    struct Vowel {
        var toneless: Unicode.Scalar
        var tone: Int
        var modified: Bool  // â ê ô ă ơ ư
    }

    static let toneMarks: [Unicode.Scalar] = ["\u{300}", "\u{301}", "\u{303}", "\u{309}", "\u{323}"]

    static let (vowels, withTone): ([UInt32: Vowel], [UInt32: [Unicode.Scalar]]) = {
        var vowels: [UInt32: Vowel] = [:]
        var withTone: [UInt32: [Unicode.Scalar]] = [:]
        for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY".unicodeScalars {
            var forms = [base]
            for mark in toneMarks {
                var view = String.UnicodeScalarView()
                view.append(base)
                view.append(mark)
                forms.append(String(view).precomposedStringWithCanonicalMapping.unicodeScalars.first!)
            }
            let modified = !"aeiouyAEIOUY".unicodeScalars.contains(base)
            for (tone, form) in forms.enumerated() { vowels[form.value] = Vowel(toneless: base, tone: tone, modified: modified) }
            withTone[base.value] = forms
        }
        return (vowels, withTone)
    }()

    /// Scalar → folded scalar (lower case, no diacritics, đ → d) for Latin-1, Latin Extended-A/B, Latin Extended
    /// Additional and combining marks (→ nil, dropped). Scalars not in the table fold by lower-casing only.
    static let folded: [UInt32: Unicode.Scalar?] = {
        var table: [UInt32: Unicode.Scalar?] = [:]
        for range in [0x80...0x24F, 0x1E00...0x1EFF] {
            for value in range {
                guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
                let base = String(scalar).lowercased().decomposedStringWithCanonicalMapping.unicodeScalars
                    .filter { $0.properties.generalCategory != .nonspacingMark }
                if base.count == 1 { table[UInt32(value)] = base.first! }
            }
        }
        table[0x111] = "d"  // đ
        table[0x110] = "d"  // Đ
        for value in 0x300...0x36F { table[UInt32(value)] = .some(nil) }
        return table
    }()

    static func kind(_ s: Unicode.Scalar) -> Kind { s.value < 0x3000 ? kindBelow3000[Int(s.value)] : computedKind(s) }

    /// `computedKind` of every scalar below U+3000: normalizing asks it of every character.
    static let kindBelow3000: [Kind] = (0..<0x3000).map { Unicode.Scalar(UInt32($0)).map(computedKind) ?? .other }

    static func computedKind(_ s: Unicode.Scalar) -> Kind {
        switch s.value {
        case 0x0A: return .lineBreak
        case 0x0D: return .carriageReturn
        case 0x09, 0x0B, 0x0C, 0x20, 0x85, 0xA0, 0x200B, 0xFEFF: return .space
        case 0x30...0x39: return .other
        case 0x41...0x5A, 0x61...0x7A: return .letter
        case 0..<0x80: return .other
        default:
            if vowels[s.value] != nil || s.value == 0x110 || s.value == 0x111 { return .letter }
            if s.properties.isWhitespace { return .space }
            return s.properties.isAlphabetic ? .letter : .other
        }
    }

    static func isWordPart(_ s: Unicode.Scalar) -> Bool { isWordPart(s.value) }

    /// Letters, digits and combining marks: a table below U+3000 (Latin, Vietnamese, punctuation,
    /// Cyrillic, Greek …), Unicode properties above.
    static func isWordPart(_ value: UInt32) -> Bool {
        value < 0x3000 ? wordPartBelow3000[Int(value)] : Unicode.Scalar(value).map(wordPartByProperties) ?? false
    }

    static let dropped: UInt32 = 0xFFFF_FFFF, notTabled: UInt32 = 0xFFFF_FFFE
    /// What `computedFold` makes of each scalar below U+3000 when that is one scalar or none (`dropped`);
    /// `notTabled` where it is several (a lower-case mapping like İ → i̇). The dictionary lookup per scalar
    /// was most of the time of folding, which names and ids do for every mention.
    static let foldBelow3000: [UInt32] = (0..<0x3000).map { value in
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return notTabled }
        var bytes: [UInt8] = []
        VietnameseText.computedFold(scalar, into: &bytes)
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        return scalars.isEmpty ? dropped : scalars.count == 1 ? scalars[0].value : notTabled
    }

    /// Each scalar's lower-case mapping below U+3000 when it is one scalar; `notTabled` otherwise (İ).
    static let lowerBelow3000: [UInt32] = (0..<0x3000).map { value in
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return notTabled }
        let mapping = Array(scalar.properties.lowercaseMapping.unicodeScalars)
        return mapping.count == 1 ? mapping[0].value : notTabled
    }

    static let upper: UInt8 = 1, lower: UInt8 = 2
    /// `upper`, `lower` or 0 for every scalar below U+3000, from the rules of `computedIsUppercase` and
    /// `computedIsLowercase`: every token's case is read, and the rules cost a dictionary lookup each.
    static let caseBelow3000: [UInt8] = (0..<0x3000).map { value in
        Unicode.Scalar(UInt32(value)).map(VietnameseText.computedCase) ?? 0
    }

    static let wordPartBelow3000: [Bool] = (0..<0x3000).map { Unicode.Scalar(UInt32($0)).map(wordPartByProperties) ?? false }

    private static func wordPartByProperties(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0..<0x80: return false
        default:
            if s.value == 0x110 || s.value == 0x111 { return true }
            let p = s.properties
            return p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark
        }
    }

    /// True when text made of such scalars is certainly in NFC already: no combining marks, and only scripts where
    /// precomposed text is NFC (ASCII, Latin, general punctuation). Anything else goes through Foundation's normalizer.
    static func isSurelyNFC(_ value: UInt32) -> Bool {
        switch value {
        case 0..<0x300, 0x1E00...0x1EFF, 0x2000...0x206F, 0x20A0...0x20CF: true
        default: false
        }
    }

    /// Moves the tone mark of one precomposed syllable to its canonical vowel (see `canonicalTonePlacement`).
    /// Returns whether it changed anything; a word that is not one syllable with one tone is left alone.
    @discardableResult
    static func placeTone(_ word: inout [Unicode.Scalar]) -> Bool {
        guard word.count >= 2, word.count <= 12 else { return false }
        // The table read once: every use of a static stored property goes through its once-check.
        let table = vowelBelow1F00
        func vowel(_ value: UInt32) -> Vowel? { Letters.vowel(value, in: table) }
        var first = -1, last = -1, toned = -1, count = 0
        for (i, s) in word.enumerated() {
            if let vowel = vowel(s.value) {
                if first < 0 { first = i } else if last != i - 1 { return false }  // vowels must be contiguous
                last = i
                count += 1
                if vowel.tone != 0 {
                    if toned >= 0 { return false }
                    toned = i
                }
            } else if !(s.value < 0x80 && VietnameseText.isASCIILetter(UInt8(s.value))) && s.value != 0x110 && s.value != 0x111 {  // ASCII letter, đ, Đ
                return false
            }
        }
        guard toned >= 0, count >= 2 else { return false }
        var start = first
        // "qu" and "gi" open with a consonant. Before the first vowel there are only ASCII letters and đ.
        func isASCII(_ s: Unicode.Scalar, _ letter: UInt8) -> Bool { s.value < 0x80 && UInt8(s.value) | 0x20 == letter }
        let lead = vowel(word[first].value)!.toneless
        if first == 1, (isASCII(word[0], UInt8(ascii: "q")) && isASCII(lead, UInt8(ascii: "u"))) || (isASCII(word[0], UInt8(ascii: "g")) && isASCII(lead, UInt8(ascii: "i"))) {
            start += 1
        }
        let closed = last < word.count - 1
        let target: Int
        if let modified = (start...last).last(where: { vowel(word[$0].value)!.modified }) {
            target = modified
        } else if closed || last == start {
            target = last
        } else if last - start == 2 {
            target = start + 1
        } else {
            target = start
        }
        guard target != toned else { return false }
        let tone = vowel(word[toned].value)!.tone
        let from = vowel(word[toned].value)!.toneless, to = vowel(word[target].value)!.toneless
        word[toned] = from
        word[target] = withTone[to.value]![tone]
        return true
    }

    /// The vowel `value` is, if it is one: read from a flat table (normalizing asks it of every letter).
    static func vowel(_ value: UInt32, in table: [UInt32]) -> Vowel? {
        guard value < 0x1F00 else { return nil }
        let packed = table[Int(value)]
        guard packed != 0 else { return nil }
        return Vowel(toneless: Unicode.Scalar(packed >> 8)!, tone: Int(packed >> 1 & 7), modified: packed & 1 == 1)
    }

    /// `vowels` by scalar below U+1F00 (all of them are): toneless form << 8 | tone << 1 | modified, 0 for none.
    static let vowelBelow1F00: [UInt32] = (0..<0x1F00).map { value in
        vowels[UInt32(value)].map { $0.toneless.value << 8 | UInt32($0.tone) << 1 | ($0.modified ? 1 : 0) } ?? 0
    }
}
