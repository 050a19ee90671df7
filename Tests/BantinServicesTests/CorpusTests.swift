import BantinCorpus
import Testing

@Suite struct CorpusTests {
    @Test func theSameSeedGivesTheSameArticlesAndOtherSeedsDoNot() {
        let a = CorpusGenerator(seed: 42), b = CorpusGenerator(seed: 42), c = CorpusGenerator(seed: 43)
        for index in [0, 1, 999] {
            #expect(a.article(index).text == b.article(index).text)
            #expect(a.article(index).text != c.article(index).text)
        }
        #expect(a.article(0).text != a.article(1).text)
    }

    @Test func everyExpectedEntityIsInTheText() {
        let generator = CorpusGenerator(seed: 1)
        for index in 0..<200 {
            let article = generator.article(index)
            #expect(article.text.hasPrefix(article.title + "\n"))
            for entity in article.expected {
                #expect(article.text.contains(entity.text), "\(entity.type) \(entity.text) missing from article \(index)")
            }
            #expect(Set(article.expected.map(\.type)).isSuperset(of: ["PERSON", "POSITION", "ORGANIZATION", "LOCATION", "DOCUMENT", "DATE"]))
        }
    }

    @Test func documentsRecurAcrossArticles() {
        let generator = CorpusGenerator(seed: 1)
        let codes = (0..<2000).flatMap { generator.article($0).expected.filter { $0.type == "DOCUMENT" }.map(\.text) }
        // 400 documents in the pool: citations overlap, as "which provinces reported on document X" needs.
        #expect(Set(codes).count < codes.count / 2)
    }
}
