import ArgumentParser
import BantinCore
import BantinExtract
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score the extractor against annotated articles: precision, recall and F1 per type.",
        discussion: """
            GOLD_DIR holds NAME.gold files (the article with mentions marked [[PER:…]], format in docs/GOLD.md) \
            and, for person–office pairs, NAME.roles.tsv beside them. A mention counts when type and exact \
            UTF-8 span agree. Several folders are scored together. Exit 1 when a file is malformed.
            """)

    @Argument(help: "Folders of .gold files.")
    var goldDirectories: [String]
    @Flag(help: "List every missed and spurious mention and pair.")
    var errors = false
    @Option(help: "Only list errors of this type (PERSON, ROLE, …); implies --errors.")
    var type: String?

    func run() throws {
        var evaluation = Evaluation()
        let extractor = Extractor()
        var files: [String] = []
        for directory in goldDirectories {
            let found = try collectFiles([directory]).filter { $0.hasSuffix(".gold") }
            guard !found.isEmpty else { throw ValidationError("\(directory): no .gold files there") }
            files += found
        }
        for file in files {
            let gold = try Self.load(file)
            evaluation.add(gold, extractor.extract(text: gold.text), name: (file as NSString).lastPathComponent)
        }
        print("\(evaluation.documents) documents")
        print(evaluation.table())
        if errors || type != nil {
            for miss in evaluation.misses where type.map({ miss.type == $0.uppercased() }) ?? true {
                let at = miss.byteStart >= 0 ? "@\(miss.byteStart)" : ""
                print("\(miss.kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(miss.type.padding(toLength: 13, withPad: " ", startingAt: 0)) \(miss.document)\(at)  \(miss.text.replacingOccurrences(of: "\t", with: " | "))")
            }
        }
    }

    static func load(_ file: String) throws -> GoldDocument {
        do {
            return try GoldDocument(contentsOfFile: file)
        } catch let error as GoldDocument.FormatError {
            throw ValidationError("\(file): \(error)")
        }
    }
}
