import BantinCore
import Foundation

/// An annotated text in Bantin's gold format (docs/GOLD.md): the article with its mentions marked inline as
/// `[[TYPE:surface]]`, nested where names nest, and person–office pairs in a tab-separated companion file.
public struct GoldDocument: Sendable, Equatable {
    public struct Annotation: Sendable, Hashable {
        public var type: EntityType
        public var span: Span
    }

    public struct RolePair: Sendable, Hashable {
        public var person: String
        public var office: String

        public init(person: String, office: String) {
            self.person = person
            self.office = office
        }

        /// The pair as compared: diacritics, case and spacing do not count.
        public var key: String { GoldDocument.comparable(person) + "\t" + GoldDocument.comparable(office) }
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The text with the markup removed, exactly as the extractor receives it.
    public var text: String
    public var annotations: [Annotation]
    public var roles: [RolePair]

    /// The short codes written in the markup and the types they stand for (full names are accepted too).
    public static let codes: [String: EntityType] = [
        "PER": .person, "POS": .position, "ORG": .organization, "LOC": .location, "DOC": .document,
        "DATE": .date, "EVT": .event, "MISC": .misc, "ABBR": .abbreviation,
    ]

    public static func code(for type: EntityType) -> String {
        codes.first { $0.value == type }!.key
    }

    /// Parses marked-up text; `roles` is the companion file's content (`person<TAB>office` a line, `#` comments).
    public init(markup: String, roles rolesText: String = "") throws {
        var out: [UInt8] = []
        var open: [(type: EntityType, start: Int, line: Int)] = []
        var annotations: [Annotation] = []
        let bytes = Array(markup.utf8)
        var line = 1
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "["), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "[") {
                var j = i + 2
                while j < bytes.count, bytes[j] != UInt8(ascii: ":"), j - i < 16 { j += 1 }
                let code = String(decoding: bytes[(i + 2)..<min(j, bytes.count)], as: UTF8.self)
                guard j < bytes.count, bytes[j] == UInt8(ascii: ":"),
                      let type = Self.codes[code] ?? EntityType(name: code) else {
                    throw FormatError(line: line, message: "\"[[\" must be followed by a type and a colon, such as [[PER:…]]; types: \(Self.codes.keys.sorted().joined(separator: " "))")
                }
                open.append((type, out.count, line))
                i = j + 1
                continue
            }
            if b == UInt8(ascii: "]"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "]") {
                guard let top = open.popLast() else { throw FormatError(line: line, message: "\"]]\" closes nothing") }
                guard out.count > top.start else { throw FormatError(line: line, message: "empty \(Self.code(for: top.type)) mention") }
                annotations.append(Annotation(type: top.type, span: Span(start: UInt32(top.start), end: UInt32(out.count))))
                i += 2
                continue
            }
            if b == UInt8(ascii: "\n") { line += 1 }
            out.append(b)
            i += 1
        }
        if let unclosed = open.last { throw FormatError(line: unclosed.line, message: "\(Self.code(for: unclosed.type)) mention opened here is never closed") }
        text = String(decoding: out, as: UTF8.self)
        self.annotations = annotations.sorted { ($0.span.start, $1.span.end) < ($1.span.start, $0.span.end) }
        var pairs: [RolePair] = []
        for (number, row) in rolesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = row.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let cols = trimmed.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cols.count == 2, !cols[0].isEmpty, !cols[1].isEmpty else {
                throw FormatError(line: number + 1, message: "a role line is: person<TAB>office")
            }
            pairs.append(RolePair(person: cols[0], office: cols[1]))
        }
        roles = pairs
    }

    /// Reads a `NAME.gold` file and the person–office pairs in `NAME.roles.tsv` beside it, if there is one.
    public init(contentsOfFile path: String) throws {
        let markup = try String(contentsOfFile: path, encoding: .utf8)
        let rolesPath = (path.hasSuffix(".gold") ? String(path.dropLast(".gold".count)) : path) + ".roles.tsv"
        let roles = FileManager.default.fileExists(atPath: rolesPath) ? try String(contentsOfFile: rolesPath, encoding: .utf8) : ""
        try self.init(markup: markup, roles: roles)
    }

    /// Writes an extraction in the same markup (for drafting gold files from the extractor's output).
    public static func markup(text: String, mentions: [Mention]) -> String {
        let bytes = Array(text.utf8)
        // Keep only properly nested spans: a span that crosses an earlier one cannot be written inline.
        let sorted = mentions.compactMap { m in m.span.map { (m.type, Int($0.start), Int($0.end)) } }
            .sorted { ($0.1, $1.2) < ($1.1, $0.2) }
        var kept: [(EntityType, Int, Int)] = []
        var stack: [Int] = []  // ends of the open spans
        for m in sorted {
            while let end = stack.last, end <= m.1 { stack.removeLast() }
            if let end = stack.last, m.2 > end { continue }
            if kept.contains(where: { $0.1 == m.1 && $0.2 == m.2 }) { continue }
            kept.append(m)
            stack.append(m.2)
        }
        var opens: [Int: [EntityType]] = [:], closes: [Int: Int] = [:]
        for (type, start, end) in kept {
            opens[start, default: []].append(type)
            closes[end, default: 0] += 1
        }
        var out: [UInt8] = []
        for position in 0...bytes.count {
            out += [UInt8](repeating: UInt8(ascii: "]"), count: 2 * (closes[position] ?? 0))
            for type in opens[position] ?? [] { out += Array("[[\(code(for: type)):".utf8) }
            if position < bytes.count { out.append(bytes[position]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func comparable(_ s: String) -> String {
        VietnameseText.fold(s).lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }
}
