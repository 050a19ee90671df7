import BantinCore

/// The stretch of an article's body that shows why it matched, with the matched words marked.
public enum Snippets {
    public static let length = 240

    /// About `length` bytes of `body` around the first place where most of the query's words occur together,
    /// cut at word boundaries; highlights are UTF-8 byte ranges into the returned snippet. A phrase (several
    /// folded syllables) is highlighted only where its syllables stand together, in order.
    public static func make(body: String, phrases: [[String]]) -> (snippet: String, highlights: [Highlight]) {
        let folded = VietnameseText.tokens(body).map { VietnameseText.fold(String($0.text)) }
        var matches: [Int: String] = [:]
        for phrase in phrases where !phrase.isEmpty {
            for start in folded.indices where start + phrase.count <= folded.count && folded[start] == phrase[0] {
                if phrase.indices.allSatisfy({ folded[start + $0] == phrase[$0] }) {
                    for k in start..<(start + phrase.count) { matches[k] = folded[k] }
                }
            }
        }
        return make(body: body, matches: matches)
    }

    /// The same, given which syllables matched (token index → folded syllable), as the index knows from
    /// its postings: the body is then only cut into tokens, not folded.
    public static func make(body: String, matches: [Int: String]) -> (snippet: String, highlights: [Highlight]) {
        let utf8 = Array(body.utf8)
        let tokens = VietnameseText.tokenRanges(body)
        guard !tokens.isEmpty else { return ("", []) }
        let hits = matches.keys.filter { $0 < tokens.count }.sorted()
        // The window (by bytes) holding the most distinct matched words; the first such window wins.
        var bestStart = 0, bestScore = -1
        for first in hits {
            let end = tokens[first].lowerBound + length
            let inside = Set(hits.filter { $0 >= first && tokens[$0].upperBound <= end }.map { matches[$0]! })
            if inside.count > bestScore {
                bestScore = inside.count
                bestStart = first
            }
        }
        // Start a few words before the first match, at a word boundary.
        var startToken = hits.isEmpty ? 0 : bestStart
        while startToken > 0, tokens[bestStart].lowerBound - tokens[startToken - 1].lowerBound < length / 4 { startToken -= 1 }
        let start = tokens[startToken].lowerBound
        var endToken = startToken
        while endToken + 1 < tokens.count, tokens[endToken + 1].upperBound - start <= length { endToken += 1 }
        let end = tokens[endToken].upperBound
        let prefix = startToken > 0 ? "… " : ""
        let suffix = endToken + 1 < tokens.count ? " …" : ""
        let snippet = prefix + String(decoding: utf8[start..<end], as: UTF8.self) + suffix
        let offset = prefix.utf8.count - start
        let highlights = hits.filter { $0 >= startToken && $0 <= endToken }.map { k in
            Highlight(span: Span(start: UInt32(tokens[k].lowerBound + offset), end: UInt32(tokens[k].upperBound + offset)))
        }
        return (snippet, highlights)
    }
}
