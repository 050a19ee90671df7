import BantinCore
import Foundation

/// The data the extractor uses, loaded from `Data/` (each file names its provenance).
public struct Lexicon: Sendable {
    public struct Province: Sendable {
        public var name: String
        public var level: String
        /// The province this one belongs to since the 2025 reorganisation (itself if unchanged).
        public var current: String
    }

    var provinces: [String: Province] = [:]  // by every name and alias
    var places: [String: String] = [:]       // name → kind
    var surnames: Set<String> = []
    var titles: PhraseSet
    var organizationHeads: PhraseSet
    var locations: PhraseSet
    var abbreviations: [String: String] = [:]
    var documentKinds: [String] = []

    public static let shared: Lexicon = {
        do { return try Lexicon() } catch { fatalError("extractor data missing from the bundle: \(error)") }
    }()

    init() throws {
        func lines(_ name: String) throws -> [String] {
            guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Data") else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Data/\(name)"])
            }
            return try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        var locationNames: [String] = []
        for line in try lines("provinces.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            guard cols.count >= 3 else { continue }
            let province = Province(name: cols[0], level: cols[1], current: cols[2])
            let aliases = cols.count > 3 ? cols[3].split(separator: "|").map(String.init) : []
            for name in [cols[0]] + aliases {
                provinces[name] = province
                locationNames.append(name)
            }
        }
        for line in try lines("places.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            guard cols.count >= 2 else { continue }
            places[cols[0]] = cols[1]
            locationNames.append(cols[0])
        }
        surnames = Set(try lines("surnames.txt").flatMap { $0.split(separator: " ").map(String.init) })
        titles = PhraseSet(try lines("titles.txt"))
        organizationHeads = PhraseSet(try lines("organizations.txt"))
        locations = PhraseSet(locationNames)
        for line in try lines("abbreviations.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            if cols.count == 2 { abbreviations[cols[0]] = cols[1] }
        }
        documentKinds = try lines("document-kinds.txt")
    }

    public func province(named name: String) -> Province? { provinces[name] }

    /// Each province once (the units before and after 2025), in name order.
    public var allProvinces: [Province] {
        var seen = Set<String>()
        return provinces.values.filter { seen.insert($0.name).inserted }.sorted { $0.name < $1.name }
    }

    /// Family names, sorted.
    public var familyNames: [String] { surnames.sorted() }
}

/// Phrases matched token by token (exact syllables), longest first.
struct PhraseSet: Sendable {
    private var byFirst: [String: [[String]]] = [:]

    init(_ phrases: [String]) {
        for phrase in phrases {
            let words = VietnameseText.tokens(phrase).map { String($0.text) }
            guard let first = words.first else { continue }
            byFirst[first, default: []].append(words)
        }
        for key in byFirst.keys { byFirst[key]?.sort { $0.count > $1.count } }
    }

    /// Tokens matched at `index` by the longest phrase, if any.
    func match(_ tokens: [TextToken], at index: Int) -> Int? {
        guard let candidates = byFirst[tokens[index].text] else { return nil }
        for words in candidates where index + words.count <= tokens.count {
            var ok = true
            for (k, word) in words.enumerated() {
                let t = tokens[index + k]
                if t.text != word || (k > 0 && !t.joinedToPrevious) { ok = false; break }
            }
            if ok { return words.count }
        }
        return nil
    }
}

/// A syllable with what separates it from the previous one.
struct TextToken {
    var text: String
    var byteStart: Int
    var byteEnd: Int
    /// Only spaces or a spaced hyphen between this token and the previous one (same phrase).
    var joinedToPrevious: Bool
    var isCapitalized: Bool
    var isAllCaps: Bool
}
