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

    static func == (a: Word, b: Word) -> Bool {
        a.text.utf8.count == b.text.utf8.count && a.text.utf8.elementsEqual(b.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var copy = text
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
