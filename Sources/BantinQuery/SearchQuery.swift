import BantinCore

/// A search query parsed from the syntax in docs/QUERY.md: words and quoted phrases (all required), `OR`
/// between alternatives, `-` to exclude, `title:` to look in headlines only, and filters written as
/// `field:value`.
public struct SearchQuery: Equatable, Sendable {
    /// A word or phrase to find: its folded syllables (for matching), and the same syllables lower-cased with
    /// their diacritics (so that exact-diacritic matches can rank first).
    public struct Atom: Equatable, Sendable {
        public var terms: [String]
        public var exact: [String]
        public var titleOnly = false
        /// Quoted: the syllables must be adjacent, in order.
        public var isPhrase = false

        /// The BM25 term frequency of this atom found `count` times in a document, `inTitle` of them in its title
        /// (which count three times); nil when the atom is title-only and not in the title.
        func frequency(_ count: Int, inTitle: Int) -> Double? {
            if titleOnly { return inTitle == 0 ? nil : Double(inTitle * 3) }
            return Double(count + inTitle * 2)
        }
    }

    public enum Sort: String, Sendable { case relevance, date }

    /// Every clause must match; a clause matches when any of its atoms does.
    public var clauses: [[Atom]] = []
    public var excluded: [Atom] = []
    public var provinces: [String] = []
    public var dateFrom = ""
    public var dateTo = ""
    public var entityIDs: [String] = []
    public var entityTypes: [EntityType] = []
    public var sort = Sort.relevance

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    static let fields = ["title", "province", "from", "to", "entity", "doc", "type", "sort"]

    public init(parsing text: String) throws(ParseError) {
        var pendingOr = false
        for piece in try Self.pieces(text) {
            if piece.text == "OR", !piece.quoted, !piece.negated {
                guard !clauses.isEmpty, !pendingOr else { throw ParseError(description: "OR needs a word or phrase on both sides") }
                pendingOr = true
                continue
            }
            var body = piece.text
            var negated = piece.negated
            if !piece.quoted, !negated, body.hasPrefix("-"), body.count > 1 {
                negated = true
                body.removeFirst()
            }
            var field = ""
            var quoted = piece.quoted
            if !piece.quoted, let colon = body.firstIndex(of: ":"), Self.fields.contains(String(body[..<colon]).lowercased()) {
                field = String(body[..<colon]).lowercased()
                body = String(body[body.index(after: colon)...])
                if body.hasPrefix("\""), body.hasSuffix("\""), body.count >= 2 {
                    body = String(body.dropFirst().dropLast())
                    quoted = true
                }
                guard !body.isEmpty else { throw ParseError(description: "\(field): needs a value, e.g. \(field):\(Self.example(field))") }
            }
            switch field {
            case "", "title":
                let atom = Self.atom(body, titleOnly: field == "title", phrase: quoted)
                guard !atom.terms.isEmpty else { continue }
                if negated {
                    excluded.append(atom)
                } else if pendingOr {
                    clauses[clauses.count - 1].append(atom)
                } else if quoted || field == "title" {
                    clauses.append([atom])
                } else {
                    // Unquoted words: each syllable is required on its own.
                    for k in atom.terms.indices {
                        var single = atom
                        single.terms = [atom.terms[k]]
                        single.exact = [atom.exact[k]]
                        clauses.append([single])
                    }
                    continue
                }
                pendingOr = false
            case "province": provinces.append(VietnameseText.fold(body))
            case "from": dateFrom = try Self.date(body, field)
            case "to": dateTo = try Self.date(body, field)
            case "entity", "doc": entityIDs.append(body)
            case "type":
                guard let type = EntityType(name: body.uppercased()) else {
                    throw ParseError(description: "type:\(body) is not an entity type; use person, organization, location, document, position, date, event, misc or abbreviation")
                }
                entityTypes.append(type)
            case "sort":
                guard let sort = Sort(rawValue: body.lowercased()) else { throw ParseError(description: "sort:\(body): use sort:relevance or sort:date") }
                self.sort = sort
            default: break
            }
        }
        if pendingOr { throw ParseError(description: "OR needs a word or phrase on both sides") }
    }

    /// True when nothing is asked but filters: every article passing them matches.
    public var isFilterOnly: Bool { clauses.isEmpty }

    static func example(_ field: String) -> String {
        switch field {
        case "from", "to": "2023-06-27"
        case "province": "\"Bắc Kạn\""
        case "entity": "per:nong-thanh-tung"
        case "doc": "doc:chi-thi-07-ct/tw"
        case "type": "person"
        case "sort": "date"
        default: "word"
        }
    }

    static func date(_ value: String, _ field: String) throws(ParseError) -> String {
        let parts = value.split(separator: "-")
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }), parts[0].count == 4 else {
            throw ParseError(description: "\(field):\(value) is not a date; write YYYY, YYYY-MM or YYYY-MM-DD")
        }
        return value
    }

    static func atom(_ text: String, titleOnly: Bool, phrase: Bool) -> Atom {
        let normalized = VietnameseText.normalize(text).lowercased()
        let exact = VietnameseText.tokens(normalized).map { String($0.text) }
        return Atom(terms: exact.map(VietnameseText.fold), exact: exact, titleOnly: titleOnly, isPhrase: phrase && exact.count > 1)
    }

    struct Piece { var text: String; var quoted: Bool; var negated = false }

    /// Whitespace-separated pieces; a quoted stretch is one piece (and may follow `field:` or `-`).
    static func pieces(_ text: String) throws(ParseError) -> [Piece] {
        var pieces: [Piece] = []
        var current = ""
        var inQuotes = false
        for character in text {
            if character == "\"" {
                inQuotes.toggle()
                current.append(character)
            } else if character.isWhitespace, !inQuotes {
                if !current.isEmpty { pieces.append(piece(current)) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if inQuotes { throw ParseError(description: "a quote is not closed: \(text)") }
        if !current.isEmpty { pieces.append(piece(current)) }
        return pieces
    }

    /// `"a b"` is a quoted piece; `-"a b"` a negated phrase; `title:"a b"` keeps its quotes for the field parser.
    static func piece(_ raw: String) -> Piece {
        if raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 { return Piece(text: String(raw.dropFirst().dropLast()), quoted: true) }
        if raw.hasPrefix("-\""), raw.hasSuffix("\""), raw.count >= 3 { return Piece(text: String(raw.dropFirst(2).dropLast()), quoted: true, negated: true) }
        return Piece(text: raw, quoted: false)
    }
}
