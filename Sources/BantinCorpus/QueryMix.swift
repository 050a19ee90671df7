import BantinCore

/// A fixed mix of searches over a generated corpus, for benchmarks: the same seed gives the same
/// queries, and every query is taken from an article of the corpus, so it finds something.
public struct QueryMix: Sendable {
    public enum Kind: String, Sendable, CaseIterable, Encodable {
        /// One syllable: "tỉnh".
        case word
        /// Two adjacent syllables, in quotes: "\"ban chấp\"".
        case phrase
        /// Two syllables from one article, anywhere in it: "hội nghị" without quotes is the same kind.
        case and
        /// A two-syllable phrase typed without diacritics: "\"thong tin\"".
        case folded
    }

    public struct Query: Sendable, Encodable {
        public var kind: Kind
        public var query: String
    }

    /// `count` queries in equal shares of the four kinds, drawn from the first `articles` articles.
    public static func make(count: Int, articles: Int, corpus: CorpusGenerator, seed: UInt64) -> [Query] {
        var random = SplitMix64(seed: seed)
        var queries: [Query] = []
        while queries.count < count {
            let kind = Kind.allCases[queries.count % Kind.allCases.count]
            let words = VietnameseText.tokens(corpus.article(random.below(max(1, articles))).text)
                .map { String($0.text) }.filter { $0.count >= 2 && !$0.contains(where: \.isNumber) }
            guard words.count >= 2 else { continue }
            let i = random.below(words.count - 1)
            let query: String = switch kind {
            case .word: words[i]
            case .phrase: "\"\(words[i]) \(words[i + 1])\""
            case .and: "\(words[i]) \(words[random.below(words.count)])"
            case .folded: "\"\(VietnameseText.fold(words[i])) \(VietnameseText.fold(words[i + 1]))\""
            }
            queries.append(Query(kind: kind, query: query))
        }
        return queries
    }
}
