import BantinCore

/// A stored article's body (its paragraphs, then its captions, one per line) written in the index's own spelling
/// codes instead of UTF-8. Bodies were the largest part of a snapshot, a little more than the text itself; coded,
/// they take about 2.6 times less (`bantin build-index --articles 30000`: snapshot 222.5 MB before, 158.6 MB after).
///
/// Every token of the body is already looked up in the builder's vocabulary of spellings as written ("Người",
/// "người" and "NGƯỜI" are three), so writing its code costs an append. A Vietnamese syllable takes 4–8 bytes of
/// UTF-8 and a space; its code takes one byte among the first 64 spellings met (the commonest words come first)
/// and two up to 8,192, with the following space folded into the code's low bit. The text between tokens that is
/// not a single space is written as it is, so decoding gives back the body byte for byte.
///
/// Format (LEB128 varints): paragraph count, caption count, the text before the first token (length, bytes), then
/// per token `code << 1 | 1` when one space follows it, else `code << 1` and the text that follows it (length,
/// bytes).
enum StoredBody {
    struct Corrupt: Error {}

    /// Writes the coding of one body while its tokens are met in order (see `SegmentBuilder.tokenize`).
    struct Encoder {
        private(set) var bytes: [UInt8] = []
        /// The last token's code, written once the text after it is known; −1 before the first token.
        private var pending = -1
        private var end = 0
        private var lines = 0
        private var lineBreaks = 0

        mutating func start(paragraphs: Int, captions: Int) {
            bytes.removeAll(keepingCapacity: true)
            LEB128.append(paragraphs, to: &bytes)
            LEB128.append(captions, to: &bytes)
            pending = -1
            end = 0
            lines = paragraphs + captions
            lineBreaks = 0
        }

        /// Whether the finished body splits back into its paragraphs and captions: not when one of them holds a line
        /// break of its own (the article is then stored as it is).
        var splitsBack: Bool { lineBreaks == max(lines - 1, 0) }

        /// The token at `range` of `text` has spelling `code`.
        mutating func token(_ code: Int32, at range: Range<Int>, of text: UnsafeBufferPointer<UInt8>) {
            gap(text, upTo: range.lowerBound)
            pending = Int(code)
            end = range.upperBound
        }

        mutating func finish(_ text: UnsafeBufferPointer<UInt8>) { gap(text, upTo: text.count) }

        private mutating func gap(_ text: UnsafeBufferPointer<UInt8>, upTo next: Int) {
            if pending >= 0, next - end == 1, text[end] == 0x20 {
                LEB128.append(pending << 1 | 1, to: &bytes)
                return
            }
            if pending >= 0 { LEB128.append(pending << 1, to: &bytes) }
            LEB128.append(next - end, to: &bytes)
            let gap = UnsafeBufferPointer(rebasing: text[end..<next])
            for byte in gap where byte == 10 { lineBreaks += 1 }
            bytes.append(contentsOf: gap)
        }
    }

    /// Sets `article`'s paragraphs and captions from `coded`, whose codes name `spellings`.
    static func decode(_ coded: UnsafeRawBufferPointer, spellings: ChunkedArray<String>, into article: inout Article) throws(Corrupt) {
        let (text, paragraphs, captions) = try body(coded, spellings: spellings)
        let lines = text.split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        article.paragraphs = paragraphs + captions == 0 ? [] : Array(lines[..<paragraphs])
        article.captions = paragraphs + captions == 0 ? [] : Array(lines[paragraphs...])
    }

    /// The body (`SearchIndex.body(of:)`: paragraphs, then captions, one per line) `coded` holds, with how many
    /// paragraphs and captions it has: all a snippet needs, without splitting it into lines and joining them again.
    static func body(_ coded: UnsafeRawBufferPointer, spellings: ChunkedArray<String>) throws(Corrupt) -> (text: [UInt8], paragraphs: Int, captions: Int) {
        let bytes = coded.assumingMemoryBound(to: UInt8.self)
        var offset = 0
        func varint() throws(Corrupt) -> Int {
            guard let value = LEB128.read(bytes, &offset), let int = Int(exactly: value) else { throw Corrupt() }
            return int
        }
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 4)
        func literal() throws(Corrupt) {
            let length = try varint()
            guard length <= bytes.count - offset else { throw Corrupt() }
            text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + length)]))
            offset += length
        }
        let paragraphs = try varint(), captions = try varint()
        try literal()
        while offset < bytes.count {
            let value = try varint()
            guard value >> 1 < spellings.count else { throw Corrupt() }
            let spelling = spellings[value >> 1]
            if spelling.utf8.withContiguousStorageIfAvailable({ text.append(contentsOf: $0) }) == nil { text.append(contentsOf: spelling.utf8) }
            if value & 1 == 1 { text.append(0x20) } else { try literal() }
        }
        var lineBreaks = 0
        for byte in text where byte == 10 { lineBreaks += 1 }
        guard lineBreaks == max(paragraphs + captions - 1, 0), paragraphs + captions > 0 || text.isEmpty else { throw Corrupt() }
        return (text, paragraphs, captions)
    }
}
