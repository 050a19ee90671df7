import BantinCore
import Foundation

/// The data the extractor uses, loaded from `Data/` (each file names its provenance).
///
/// A class, loaded once and shared: as a struct of twenty tables, every copy (an `Extractor` in each `Pass`,
/// the `lexicon` a rule reads) retained and released each table.
public final class Lexicon: Sendable {
    public struct Province: Sendable {
        public var name: String
        public var level: String
        /// The province this one belongs to since the 2025 reorganisation (itself if unchanged).
        public var current: String
    }

    let provinces: [Word: Province]  // by every name and alias
    let places: [Word: String]       // name → kind
    let surnames: Set<Word>
    /// Every syllable below, numbered; a text token is looked up here once (`TextToken.id`).
    let vocabulary: Vocabulary
    /// What the date scanner looks for (`PatternScanner.Words`).
    let dateWords: PatternScanner.Words
    let titles: PhraseSet
    let organizationHeads: PhraseSet
    /// By phrase: how an organization phrase may stand (`organizations.tsv`).
    let organizationKinds: [Word: OrganizationKind]
    let locations: PhraseSet
    /// Words starting a place name; `includedHeads` marks those that belong to it ("huyện", not "sân").
    let locationHeads: PhraseSet
    let includedLocationHeads: Set<Word>
    let personCues: PhraseSet
    let eventHeads: PhraseSet
    let eventKinds: [Word: String]
    let abbreviations: [Word: String]
    let documentKindPhrases: PhraseSet
    /// By syllable number: a family name; a lower-case word that ends a name; an honorific or degree.
    let isSurname: [Bool]
    let isStopWord: [Bool]
    let isHonorific: [Bool]

    enum OrganizationKind: String, Sendable {
        case complete, head, needsParent = "needs-parent"
    }

    static let honorifics = ["đồng chí", "Đồng chí", "ông", "Ông", "bà", "Bà", "anh", "chị", "GS", "PGS", "TS", "ThS", "CN", "KS", "BS", "NGƯT", "NSND", "NSƯT"]
    /// Lower-case syllables that end a name instead of continuing it.
    static let stopWords = [
        "đã", "sẽ", "đang", "và", "của", "có", "là", "với", "tại", "trong", "được", "cho", "về", "các", "những",
        "này", "đó", "khi", "để", "thì", "mà", "do", "từ", "theo", "như", "làm", "việc", "phát", "biểu", "tham",
        "dự", "tổ", "chức", "tiếp", "nhằm", "cùng", "đến", "ra", "vào", "lên", "sau", "trước", "năm", "ngày",
        "tháng", "nhiệm", "kỳ", "chủ", "trì", "đề", "nghị", "nhấn", "mạnh", "ghi", "nhận", "đánh", "giá", "cao",
    ]

    public static let shared: Lexicon = {
        do { return try Lexicon() } catch { fatalError("extractor data missing from the bundle: \(error)") }
    }()

    init() throws {
        // Built in locals of the fields' names, then stored: a class's `let`s are set once.
        var provinces: [Word: Province] = [:]
        var places: [Word: String] = [:]
        var surnames: Set<Word> = []
        var titles = PhraseSet()
        var organizationHeads = PhraseSet()
        var organizationKinds: [Word: OrganizationKind] = [:]
        var locations = PhraseSet()
        var locationHeads = PhraseSet()
        var includedLocationHeads: Set<Word> = []
        var personCues = PhraseSet()
        var eventHeads = PhraseSet()
        var eventKinds: [Word: String] = [:]
        var abbreviations: [Word: String] = [:]
        var documentKindPhrases = PhraseSet()
        var vocabulary = Vocabulary()
        dateWords = PatternScanner.Words(&vocabulary)
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
            for name in Self.withFolded([cols[0]] + aliases) {
                provinces[Word(name)] = province
                locationNames.append(name)
            }
        }
        for line in try lines("places.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            guard cols.count >= 2 else { continue }
            for name in Self.withFolded([cols[0]]) {
                places[Word(name)] = cols[1]
                locationNames.append(name)
            }
        }
        surnames = Set(Self.withFolded(try lines("surnames.txt").flatMap { $0.split(separator: " ").map(String.init) }).map(Word.init))
        titles = PhraseSet(Self.withFolded(try lines("titles.txt")), &vocabulary)
        var organizationPhrases: [String] = []
        for line in try lines("organizations.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            guard cols.count == 2, let kind = OrganizationKind(rawValue: cols[1]) else { continue }
            for phrase in Self.withFolded([cols[0]]) {
                organizationPhrases.append(phrase)
                organizationKinds[Word(phrase)] = kind
            }
        }
        organizationHeads = PhraseSet(organizationPhrases, &vocabulary)
        locations = PhraseSet(locationNames, &vocabulary)
        var heads: [String] = []
        for line in try lines("location-heads.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            guard cols.count == 2 else { continue }
            for phrase in Self.withFolded([cols[0]]) {
                heads.append(phrase)
                if cols[1] == "included" { includedLocationHeads.insert(Word(phrase)) }
            }
        }
        locationHeads = PhraseSet(heads, &vocabulary)
        personCues = PhraseSet(Self.withFolded(try lines("person-cues.txt")), &vocabulary)
        var events: [String] = []
        for line in try lines("event-heads.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            guard cols.count == 2 else { continue }
            for phrase in Self.withFolded([cols[0]]) {
                events.append(phrase)
                eventKinds[Word(phrase)] = cols[1]
            }
        }
        eventHeads = PhraseSet(events, &vocabulary)
        for line in try lines("abbreviations.tsv") {
            let cols = line.split(separator: "\t").map(String.init)
            if cols.count == 2 { abbreviations[Word(cols[0])] = cols[1] }
        }
        documentKindPhrases = PhraseSet(try lines("document-kinds.txt"), &vocabulary)
        let surnameIDs = surnames.map { vocabulary.intern($0) }
        let honorificIDs = Self.honorifics.map { vocabulary.intern(Word($0)) }
        let stopWordIDs = Self.stopWords.map { vocabulary.intern(Word($0)) }
        func flags(_ ids: [Int32]) -> [Bool] {
            var flags = [Bool](repeating: false, count: vocabulary.count)
            for id in ids { flags[Int(id)] = true }
            return flags
        }
        vocabulary.seal()
        self.vocabulary = vocabulary
        self.isSurname = flags(surnameIDs)
        self.isHonorific = flags(honorificIDs)
        self.isStopWord = flags(stopWordIDs)
        self.provinces = provinces
        self.places = places
        self.surnames = surnames
        self.titles = titles
        self.organizationHeads = organizationHeads
        self.organizationKinds = organizationKinds
        self.locations = locations
        self.locationHeads = locationHeads
        self.includedLocationHeads = includedLocationHeads
        self.personCues = personCues
        self.eventHeads = eventHeads
        self.eventKinds = eventKinds
        self.abbreviations = abbreviations
        self.documentKindPhrases = documentKindPhrases
    }

    /// Each phrase and, when it differs, the phrase without diacritics ("Nguyễn" and "Nguyen", "tỉnh" and
    /// "tinh"), so that text typed without them is read the same way.
    static func withFolded(_ phrases: [String]) -> [String] {
        phrases.flatMap { phrase -> [String] in
            let folded = VietnameseText.fold(phrase)
            return folded == phrase ? [phrase] : [phrase, folded]
        }
    }

    /// The number of a syllable, -1 when the lexicon does not know it.
    func id(of word: Word) -> Int32 { vocabulary.id(word) }
    func id(of bytes: UnsafeBufferPointer<UInt8>) -> Int32 { vocabulary.id(bytes) }

    func isSurname(_ token: TextToken) -> Bool { token.id >= 0 && isSurname[Int(token.id)] }
    func isStopWord(_ token: TextToken) -> Bool { token.id >= 0 && isStopWord[Int(token.id)] }
    func isHonorific(_ token: TextToken) -> Bool { token.id >= 0 && isHonorific[Int(token.id)] }

    public func province(named name: String) -> Province? { provinces[Word(name)] }

    /// Each province once (the units before and after 2025), in name order.
    public var allProvinces: [Province] {
        var seen = Set<String>()
        return provinces.values.filter { seen.insert($0.name).inserted }.sorted { $0.name < $1.name }
    }

    /// Family names, sorted.
    public var familyNames: [String] { surnames.map(\.text).sorted() }
}

/// Syllables numbered in the order first seen.
struct Vocabulary: Sendable {
    private var ids: [Word: Int32] = [:]
    /// The words by number: a token of a known word shares its String instead of decoding its bytes again.
    private(set) var words: [String] = []
    /// The same words for lookups by bytes, built by `seal()` once the lexicon is loaded.
    private var table = ByteTable()

    var count: Int { ids.count }

    mutating func intern(_ word: Word) -> Int32 {
        if let id = ids[word] { return id }
        let id = Int32(ids.count)
        ids[word] = id
        words.append(word.text)
        return id
    }

    /// Builds the lookup table; words interned later are found only through `id(_: Word)`.
    mutating func seal() { table = ByteTable(ids) }

    func id(_ word: Word) -> Int32 { ids[word] ?? -1 }

    /// The number of the word spelled by `bytes` (NFC UTF-8), -1 if unknown.
    func id(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 { table.id(bytes) }
}

/// Words by their UTF-8 bytes in one open-addressing table: looked up once per token, where `Dictionary`'s
/// SipHash over a `Word` made a tenth of tokenizing.
struct ByteTable: Sendable {
    /// Every key's bytes, one after another.
    private var keys: [UInt8] = []
    /// Per slot: the key's hash (0: empty), where its bytes start and end in `keys`, and its number.
    private var hashes: [UInt64] = []
    private var starts: [Int32] = []
    private var ends: [Int32] = []
    private var values: [Int32] = []
    private var mask = 0

    init() {}

    init(_ words: [Word: Int32]) {
        var capacity = 16
        while capacity < words.count * 2 { capacity *= 2 }
        mask = capacity - 1
        hashes = [UInt64](repeating: 0, count: capacity)
        starts = [Int32](repeating: 0, count: capacity)
        ends = [Int32](repeating: 0, count: capacity)
        values = [Int32](repeating: -1, count: capacity)
        for (word, value) in words {
            let start = Int32(keys.count)
            keys.append(contentsOf: word.text.utf8)
            let hash = keys[Int(start)...].withUnsafeBufferPointer { Self.hash($0) }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while hashes[slot] != 0 { slot = (slot + 1) & mask }
            hashes[slot] = hash
            starts[slot] = start
            ends[slot] = Int32(keys.count)
            values[slot] = value
        }
    }

    func id(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard mask > 0 else { return -1 }
        let hash = Self.hash(bytes)
        var slot = Int(truncatingIfNeeded: hash) & mask
        return keys.withUnsafeBufferPointer { keys in
            while hashes[slot] != 0 {
                if hashes[slot] == hash, Int(ends[slot] - starts[slot]) == bytes.count,
                   bytes.count == 0 || memcmp(keys.baseAddress! + Int(starts[slot]), bytes.baseAddress!, bytes.count) == 0 {
                    return values[slot]
                }
                slot = (slot + 1) & mask
            }
            return -1
        }
    }

    /// FNV-1a, never 0 (0 marks an empty slot). Keys come from our own data files, so a hash that an adversary
    /// could collide costs nothing here.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h | 1
    }
}

/// Phrases matched token by token (exact syllables), longest first, indexed by the first syllable's number.
struct PhraseSet: Sendable {
    private var byFirst: [[[Int32]]] = []

    init() {}

    init(_ phrases: [String], _ vocabulary: inout Vocabulary) {
        for phrase in phrases {
            let words = VietnameseText.tokens(phrase).map { vocabulary.intern(Word($0.text)) }
            guard let first = words.first else { continue }
            if byFirst.count <= Int(first) { byFirst += [[[Int32]]](repeating: [], count: Int(first) + 1 - byFirst.count) }
            byFirst[Int(first)].append(words)
        }
        for i in byFirst.indices { byFirst[i].sort { $0.count > $1.count } }
    }

    /// Tokens matched at `index` by the longest phrase, if any.
    func match(_ tokens: [TextToken], at index: Int) -> Int? {
        guard index < tokens.count else { return nil }
        let id = Int(tokens[index].id)
        guard id >= 0, id < byFirst.count else { return nil }
        for words in byFirst[id] where Self.phrase(words, isAt: index, in: tokens) { return words.count }  // longest first
        return nil
    }

    /// The lengths of every phrase matched at `index`, longest first.
    func matches(_ tokens: [TextToken], at index: Int) -> [Int] {
        guard index < tokens.count else { return [] }
        let id = Int(tokens[index].id)
        guard id >= 0, id < byFirst.count else { return [] }
        var found: [Int] = []
        for words in byFirst[id] where Self.phrase(words, isAt: index, in: tokens) {
            if found.last != words.count { found.append(words.count) }
        }
        return found
    }

    /// Reads the tokens' fields in place: copying a `TextToken` out of the array retains its text.
    private static func phrase(_ words: [Int32], isAt index: Int, in tokens: [TextToken]) -> Bool {
        guard index + words.count <= tokens.count else { return false }
        for k in 1..<words.count where !tokens[index + k].joinedToPrevious || tokens[index + k].id != words[k] { return false }
        return true
    }
}

struct TextToken {
    var text: String
    /// The syllable's number in the lexicon's vocabulary, -1 if unknown.
    var id: Int32 = -1
    var word: Word { Word(text) }
    var byteStart: Int
    var byteEnd: Int
    /// Only spaces or a spaced hyphen between this token and the previous one (same phrase).
    var joinedToPrevious: Bool
    var isCapitalized: Bool
    var isAllCaps: Bool
}
