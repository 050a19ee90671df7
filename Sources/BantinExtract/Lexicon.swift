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
    /// By organization phrase number: how it may stand (`organizations.tsv`).
    let organizationHeadKinds: [OrganizationKind]
    let locations: PhraseSet
    /// By place phrase number: the province it names, if it names one.
    let locationProvinces: [Province?]
    /// Words starting a place name; by phrase number, whether the word belongs to the name ("huyện", not "sân")
    /// and whether it is an administrative unit an organization's name may end in ("tỉnh", "huyện Y").
    let locationHeads: PhraseSet
    let locationHeadIsIncluded: [Bool]
    let locationHeadIsAdminUnit: [Bool]
    /// Heads that are the unaccented spelling of an accented one ("quan" for "quận"): for text typed without
    /// diacritics, and not to be read as the unit in accented text ("Cơ quan Thường trực" is no district).
    let locationHeadIsFolded: [Bool]
    let personCues: PhraseSet
    /// By syllable number: whether an event head, place head or person cue starts with it, the only rules a
    /// lower-case word can start (`Pass.run` skips the others at once).
    let startsLowercaseRule: [Bool]
    let eventHeads: PhraseSet
    /// By event phrase number: its kind.
    let eventHeadKinds: [String]
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

    /// "tỉnh", "thành phố X", "huyện Y" inside an organization's name: the unit words it may end in.
    static let adminUnitWords = ["tỉnh", "thành phố", "huyện", "quận", "xã", "phường", "thị xã", "thị trấn", "TP",
                                 "tinh", "thanh pho", "huyen", "quan", "xa", "phuong", "thi xa", "thi tran"]

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
        var foldedLocationHeads: Set<Word> = []
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
            for (variant, phrase) in Self.withFolded([cols[0]]).enumerated() {
                heads.append(phrase)
                if cols[1] == "included" { includedLocationHeads.insert(Word(phrase)) }
                if variant > 0 { foldedLocationHeads.insert(Word(phrase)) }
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
        // What a matched phrase stands for, by phrase number, found once here for the phrase's words spaced: a
        // rule no longer joins the matched tokens into a String and hashes it.
        func byPhrase<Value>(_ set: PhraseSet, _ value: (Word) -> Value) -> [Value] {
            (0..<set.phraseCount).map { p in value(Word(set.words(ofPhrase: p).map { vocabulary.words[Int($0)] }.joined(separator: " "))) }
        }
        self.organizationHeads = organizationHeads
        self.organizationHeadKinds = byPhrase(organizationHeads) { organizationKinds[$0] ?? .head }
        self.locations = locations
        self.locationProvinces = byPhrase(locations) { provinces[$0] }
        self.locationHeads = locationHeads
        self.locationHeadIsIncluded = byPhrase(locationHeads) { includedLocationHeads.contains($0) }
        self.locationHeadIsAdminUnit = byPhrase(locationHeads) { Self.adminUnitWords.containsUTF8($0.text) }
        self.locationHeadIsFolded = byPhrase(locationHeads) { foldedLocationHeads.contains($0) }
        self.personCues = personCues
        self.eventHeads = eventHeads
        self.eventHeadKinds = byPhrase(eventHeads) { eventKinds[$0] ?? "event" }
        self.startsLowercaseRule = (0..<vocabulary.count).map {
            eventHeads.startsPhrase($0) || locationHeads.startsPhrase($0) || personCues.startsPhrase($0)
        }
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
    /// One slot: the key's hash (0: empty), where its bytes are in `keys`, and its number; a probe reads one
    /// slot, not four parallel arrays.
    private struct Slot {
        var hash: UInt64 = 0
        var start: Int32 = 0
        var length: Int32 = 0
        var value: Int32 = -1
    }

    /// Every key's bytes, one after another.
    private var keys: [UInt8] = []
    private var slots: [Slot] = []
    private var mask = 0

    init() {}

    init(_ words: [Word: Int32]) {
        var capacity = 16
        while capacity < words.count * 2 { capacity *= 2 }
        mask = capacity - 1
        slots = [Slot](repeating: Slot(), count: capacity)
        for (word, value) in words {
            let start = keys.count
            keys.append(contentsOf: word.text.utf8)
            let hash = keys[start...].withUnsafeBufferPointer { Self.hash($0) }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot].hash != 0 { slot = (slot + 1) & mask }
            slots[slot] = Slot(hash: hash, start: Int32(start), length: Int32(keys.count - start), value: value)
        }
    }

    func id(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard mask > 0 else { return -1 }
        let hash = Self.hash(bytes)
        return slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                var slot = Int(truncatingIfNeeded: hash) & mask
                while slots[slot].hash != 0 {
                    let candidate = slots[slot]
                    if candidate.hash == hash, Int(candidate.length) == bytes.count,
                       bytes.count == 0 || memcmp(keys.baseAddress! + Int(candidate.start), bytes.baseAddress!, bytes.count) == 0 {
                        return candidate.value
                    }
                    slot = (slot + 1) & mask
                }
                return -1
            }
        }
    }

    /// A multiply-and-xor hash over the bytes eight at a time (a syllable is one or two steps of it), never 0
    /// (0 marks an empty slot). Keys come from our own data files, so a hash an adversary could collide costs
    /// nothing here: a collision only adds a probe.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress.map(UnsafeRawPointer.init) else { return h | 1 }
        func mix(_ word: UInt64) {
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
        }
        var i = 0
        while bytes.count - i > 8 {
            mix(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        // The last 1 to 8 bytes, read without going past the end: two overlapping 4-byte reads cover 4 to 8
        // bytes, the first, middle and last byte cover 1 to 3.
        let n = bytes.count - i
        if n >= 4 {
            mix(UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                | UInt64(base.loadUnaligned(fromByteOffset: i + n - 4, as: UInt32.self)) << 32)
        } else if n > 0 {
            mix(UInt64(bytes[i]) | UInt64(bytes[i + n / 2]) << 8 | UInt64(bytes[i + n - 1]) << 16)
        }
        return h | 1
    }
}

/// Phrases matched token by token (exact syllables), longest first, grouped by the first syllable's number.
///
/// Flat arrays, not an array of arrays of phrases: every token of an article is looked up in several sets,
/// and nested arrays cost a retain and release per level on each lookup.
struct PhraseSet: Sendable {
    /// By first syllable's number: where its phrases are in `phraseStarts`/`phraseLengths` (start, end).
    private var groupStarts: [Int32] = []
    private var groupEnds: [Int32] = []
    /// Each phrase: where its syllable numbers start in `words`, and how many there are.
    private var phraseStarts: [Int32] = []
    private var phraseLengths: [Int32] = []
    private var words: [Int32] = []

    init() {}

    init(_ phrases: [String], _ vocabulary: inout Vocabulary) {
        var byFirst: [Int32: [[Int32]]] = [:]
        for phrase in phrases {
            let ids = VietnameseText.tokens(phrase).map { vocabulary.intern(Word($0.text)) }
            guard let first = ids.first else { continue }
            byFirst[first, default: []].append(ids)
        }
        let groups = Int(byFirst.keys.max() ?? -1) + 1
        groupStarts = [Int32](repeating: 0, count: groups)
        groupEnds = [Int32](repeating: 0, count: groups)
        for (first, list) in byFirst.sorted(by: { $0.key < $1.key }) {
            groupStarts[Int(first)] = Int32(phraseStarts.count)
            for ids in list.sorted(by: { $0.count > $1.count }) {  // longest first
                phraseStarts.append(Int32(words.count))
                phraseLengths.append(Int32(ids.count))
                words += ids
            }
            groupEnds[Int(first)] = Int32(phraseStarts.count)
        }
    }

    /// Whether some phrase starts with token `index`'s word: the test most lookups end at, made inline at each
    /// call site instead of through a call.
    @inline(__always)
    private func mayMatch(_ tokens: [TextToken], at index: Int) -> Bool {
        index < tokens.count && startsPhrase(Int(tokens[index].id))
    }

    /// Whether some phrase starts with the word numbered `id`.
    @inline(__always)
    func startsPhrase(_ id: Int) -> Bool { id >= 0 && id < groupStarts.count && groupStarts[id] < groupEnds[id] }

    /// Tokens matched at `index` by the longest phrase, if any.
    @inline(__always)
    func match(_ tokens: [TextToken], at index: Int) -> Int? {
        mayMatch(tokens, at: index) ? longestMatch(tokens, at: index)?.length : nil
    }

    /// The longest phrase matched at `index`: its length and its number, which indexes the tables a lexicon
    /// keeps beside the set (`Lexicon.organizationHeadKinds` …).
    @inline(__always)
    func longest(_ tokens: [TextToken], at index: Int) -> (length: Int, phrase: Int)? {
        mayMatch(tokens, at: index) ? longestMatch(tokens, at: index) : nil
    }

    private func longestMatch(_ tokens: [TextToken], at index: Int) -> (length: Int, phrase: Int)? {
        var found: (length: Int, phrase: Int)?
        visitMatches(tokens, at: index) { length, phrase in
            found = (length, phrase)
            return false
        }
        return found
    }

    var phraseCount: Int { phraseStarts.count }

    /// The syllable numbers of phrase `p`.
    func words(ofPhrase p: Int) -> ArraySlice<Int32> {
        words[Int(phraseStarts[p])..<Int(phraseStarts[p] + phraseLengths[p])]
    }

    /// The lengths of every phrase matched at `index`, longest first.
    func matches(_ tokens: [TextToken], at index: Int) -> [Int] {
        var found: [Int] = []
        visitMatches(tokens, at: index) { length, _ in
            if found.last != length { found.append(length) }
            return true
        }
        return found
    }

    /// Whether a phrase of `length` tokens is matched at `index` (`matches(…).contains(length)` without the array).
    func matches(_ tokens: [TextToken], at index: Int, length: Int) -> Bool {
        var found = false
        visitMatches(tokens, at: index) { matched, _ in
            found = matched == length
            return matched > length  // longest first: shorter ones may follow
        }
        return found
    }

    /// Calls `visit` with the length and number of each phrase matched at `index`, longest first, while it returns
    /// true.
    @inline(__always)
    private func visitMatches(_ tokens: [TextToken], at index: Int, _ visit: (_ length: Int, _ phrase: Int) -> Bool) {
        guard index < tokens.count else { return }
        let id = Int(tokens[index].id)
        guard id >= 0, id < groupStarts.count else { return }
        for phrase in Int(groupStarts[id])..<Int(groupEnds[id]) {
            let start = Int(phraseStarts[phrase]), count = Int(phraseLengths[phrase])
            guard index + count <= tokens.count else { continue }
            var k = 1
            while k < count, tokens[index + k].joinedToPrevious, tokens[index + k].id == words[start + k] { k += 1 }
            if k == count, !visit(count, phrase) { return }
        }
    }
}

/// A syllable of the text: where it is, its number in the vocabulary and its letter case, but no String of its
/// own (`Pass.word(_:)` makes one when a rule keeps it), so that the tokens array is plain data.
struct TextToken {
    /// The syllable's number in the lexicon's vocabulary, -1 if unknown.
    var id: Int32 = -1
    var byteStart: Int
    var byteEnd: Int
    /// Only spaces or a spaced hyphen between this token and the previous one (same phrase).
    var joinedToPrevious: Bool
    var isCapitalized: Bool
    var isAllCaps: Bool
}
