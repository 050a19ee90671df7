import ArgumentParser
import BantinCore
import BantinCorpus
import Foundation

struct Corpus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Write generated Vietnamese articles (deterministic for a seed) with the entities each one contains.",
        discussion: """
            With --out DIR: one UTF-8 file per article (DIR/000001.txt ...) and DIR/expected.jsonl, one line per article \
            {"file", "title", "province", "publishedAt", "expected": [{"type", "text"}]}. Without --out: JSON lines on \
            stdout, each with the article's "text" as well.

            With --query-mix FILE: also --queries searches drawn from those articles (single words, two-word \
            phrases, two-word AND, phrases without diacritics, in equal shares) as Search requests, one JSON per \
            line, for `bantin load --requests FILE`.
            """)

    @Option(help: "Number of articles.")
    var articles = 1000
    @Option(help: "Seed: the same seed always writes the same corpus.")
    var seed: UInt64 = 1
    @Option(help: "Folder to write article files into (created if missing).")
    var out: String?
    @Option(help: "Write a search mix over these articles to this file (JSON lines of Search requests).")
    var queryMix: String?
    @Option(help: "Searches in the --query-mix file.")
    var queries = 1000

    func run() async throws {
        let generator = CorpusGenerator(seed: seed)
        if let queryMix {
            let lines = QueryMix.make(count: queries, articles: articles, corpus: generator, seed: seed)
                .map { "{\"query\": \(JSONMessageCodec.quoted($0.query)), \"limit\": 10}\n" }.joined()
            try lines.write(toFile: queryMix, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(queries) searches to \(queryMix)\n".utf8))
            if out == nil { return }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var manifest = Data()
            for index in 0..<articles {
                let article = generator.article(index)
                let name = String(format: "%06d.txt", index + 1)
                try Data(article.text.utf8).write(to: URL(fileURLWithPath: "\(out)/\(name)"))
                manifest.append(try encoder.encode(ManifestLine(file: name, article: article)))
                manifest.append(0x0A)
                if (index + 1) % 1000 == 0 || index + 1 == articles {
                    FileHandle.standardError.write(Data("\r\(progressBar(index + 1, articles))".utf8))
                }
            }
            try manifest.write(to: URL(fileURLWithPath: "\(out)/expected.jsonl"))
            FileHandle.standardError.write(Data("\nwrote \(articles) articles and expected.jsonl to \(out)\n".utf8))
        } else {
            for index in 0..<articles {
                var line = try encoder.encode(generator.article(index))
                line.append(0x0A)
                FileHandle.standardOutput.write(line)
            }
        }
    }

    struct ManifestLine: Encodable {
        var file: String
        var title: String
        var province: String
        var publishedAt: String
        var expected: [CorpusGenerator.Expected]
        init(file: String, article: CorpusGenerator.Article) {
            self.file = file
            title = article.title
            province = article.province
            publishedAt = article.publishedAt
            expected = article.expected
        }
    }
}
