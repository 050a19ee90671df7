import Foundation

/// A lexicon key compared and hashed by its UTF-8 bytes.
///
/// `String`'s own `==` and hashing follow canonical equivalence, so every lookup of a non-ASCII syllable
/// ran the Unicode normalizer; that was a fifth of the extractor's time. Text reaching the extractor is NFC
/// (ingest normalizes; `Extractor.extract` composes other input first), and the data files are NFC, so
/// byte equality is the same relation here, at the price of a memcmp.
struct Word: Hashable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }
    init(_ text: Substring) { self.text = String(text) }

    static func == (a: Word, b: Word) -> Bool { sameUTF8(a.text, b.text) }

    func hash(into hasher: inout Hasher) {
        var copy = text
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Byte equality of two NFC strings (see `Word`): what `==` means for the extractor's text, without the
/// Unicode normalizer that `==` runs on non-ASCII strings.
@inline(__always)
func sameUTF8(_ a: String, _ b: String) -> Bool { a.utf8.count == b.utf8.count && hasUTF8Prefix(a, b) }

/// `sameUTF8` for a prefix, by `memcmp` where both strings are contiguous (native strings always are).
@inline(__always)
func hasUTF8Prefix(_ s: String, _ prefix: String) -> Bool {
    let n = prefix.utf8.count
    guard s.utf8.count >= n else { return false }
    let compared = s.utf8.withContiguousStorageIfAvailable { x in
        prefix.utf8.withContiguousStorageIfAvailable { y in n == 0 || memcmp(x.baseAddress!, y.baseAddress!, n) == 0 }
    }
    return (compared ?? nil) ?? s.utf8.starts(with: prefix.utf8)
}

/// `sameUTF8` for a suffix: `hasSuffix` compares Characters, walking the string backwards grapheme by grapheme.
@inline(__always)
func hasUTF8Suffix(_ s: String, _ suffix: String) -> Bool {
    let n = suffix.utf8.count
    return s.utf8.count >= n && s.utf8.suffix(n).elementsEqual(suffix.utf8)
}

/// Whether `part`'s bytes occur in `s`'s: `String.contains` with Foundation loaded goes through `NSString`'s
/// search, which cost a twenty-fifth of extraction time on the short gaps and names the rules ask about.
func containsUTF8(_ s: String, _ part: String) -> Bool {
    let n = part.utf8.count
    guard n > 0 else { return true }
    guard s.utf8.count >= n else { return false }
    var s = s, part = part
    return s.withUTF8 { x in
        part.withUTF8 { y in
            let first = y[0]
            for start in 0...(x.count - n) where x[start] == first && memcmp(x.baseAddress! + start, y.baseAddress!, n) == 0 { return true }
            return false
        }
    }
}

extension Sequence where Element == String {
    /// `contains` by `sameUTF8` (a scan: meant for short lists).
    func containsUTF8(_ s: String) -> Bool { contains { sameUTF8($0, s) } }
}

/// `s` with every space made a hyphen, for ids ("nghị định" → "nghị-định").
func hyphenated(_ s: String) -> String {
    String(decoding: s.utf8.map { $0 == UInt8(ascii: " ") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
}

/// `n` in decimal with zeros in front up to `width` digits, as `%0Nd` prints a non-negative number.
func zeroPadded(_ n: Int, _ width: Int) -> String {
    let digits = String(n)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
