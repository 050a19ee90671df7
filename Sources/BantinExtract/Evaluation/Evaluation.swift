import BantinCore

/// Precision, recall and F1 of an extractor against gold documents: a mention counts when its type and exact
/// byte span agree; a person–office pair counts when both names agree, diacritics and case aside.
///
/// PERSON, ORGANIZATION and LOCATION are scored at the outermost level, as VLSP scores its first level: a name
/// of those types nested in another of those types ("Cao Bằng" inside "UBND tỉnh Cao Bằng") is left out on both
/// sides. A name nested in a POSITION still counts ("Tỉnh ủy" in "Bí thư Tỉnh ủy").
public struct Evaluation: Sendable {
    public struct Counts: Sendable, Equatable {
        public var truePositives = 0
        public var falsePositives = 0
        public var falseNegatives = 0

        public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
        public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
        /// Nothing to find and nothing found scores 1, not 0.
        private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 1 : Double(a) / Double(b) }

        static func += (a: inout Counts, b: Counts) {
            a.truePositives += b.truePositives
            a.falsePositives += b.falsePositives
            a.falseNegatives += b.falseNegatives
        }
    }

    /// One disagreement, for `bantin eval --errors`.
    public struct Miss: Sendable {
        public enum Kind: String, Sendable { case missed, spurious }
        public var document: String
        public var kind: Kind
        public var type: String
        public var text: String
        public var byteStart: Int
    }

    public private(set) var byType: [EntityType: Counts] = [:]
    public private(set) var roles = Counts()
    public private(set) var misses: [Miss] = []
    public private(set) var documents = 0

    public static let namedTypes: Set<EntityType> = [.person, .organization, .location]

    public init() {}

    /// Micro-averaged counts over `types`.
    public func micro(_ types: Set<EntityType>) -> Counts {
        var total = Counts()
        for type in types { total += byType[type] ?? Counts() }
        return total
    }

    public mutating func add(_ gold: GoldDocument, _ extraction: Extraction, name: String) {
        documents += 1
        let goldSpans = Self.scored(gold.annotations.map { ($0.type, $0.span) })
        let predicted = Self.scored(extraction.mentions.compactMap { m in m.span.map { (m.type, $0) } })
        let utf8 = Array(gold.text.utf8)
        func surface(_ span: Span) -> String { String(decoding: utf8[Int(span.start)..<Int(span.end)], as: UTF8.self) }
        for type in EntityType.allCases {
            let g = goldSpans.filter { $0.type == type }, p = predicted.filter { $0.type == type }
            guard !g.isEmpty || !p.isEmpty else { continue }
            var counts = Counts()
            counts.truePositives = g.intersection(p).count
            counts.falseNegatives = g.subtracting(p).count
            counts.falsePositives = p.subtracting(g).count
            byType[type, default: Counts()] += counts
            for a in g.subtracting(p) { misses.append(Miss(document: name, kind: .missed, type: type.name, text: surface(a.span), byteStart: Int(a.span.start))) }
            for a in p.subtracting(g) { misses.append(Miss(document: name, kind: .spurious, type: type.name, text: surface(a.span), byteStart: Int(a.span.start))) }
        }
        let names = Dictionary(extraction.entities.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let predictedPairs = Set(extraction.roles.map { GoldDocument.RolePair(person: names[$0.personID] ?? $0.personID, office: $0.title).key })
        let goldPairs = Set(gold.roles.map(\.key))
        roles.truePositives += goldPairs.intersection(predictedPairs).count
        roles.falseNegatives += goldPairs.subtracting(predictedPairs).count
        roles.falsePositives += predictedPairs.subtracting(goldPairs).count
        for pair in goldPairs.subtracting(predictedPairs) { misses.append(Miss(document: name, kind: .missed, type: "ROLE", text: pair, byteStart: -1)) }
        for pair in predictedPairs.subtracting(goldPairs) { misses.append(Miss(document: name, kind: .spurious, type: "ROLE", text: pair, byteStart: -1)) }
    }

    /// Distinct (type, span) pairs, without PERSON/ORGANIZATION/LOCATION names nested in another such name.
    static func scored(_ spans: [(EntityType, Span)]) -> Set<GoldDocument.Annotation> {
        let named = spans.filter { namedTypes.contains($0.0) }.map(\.1)
        return Set(spans.compactMap { type, span in
            if namedTypes.contains(type),
               named.contains(where: { $0 != span && $0.start <= span.start && span.end <= $0.end }) { return nil }
            return GoldDocument.Annotation(type: type, span: span)
        })
    }

    /// The report `bantin eval` prints: one row per type, then the micro averages and the role pairs.
    public func table() -> String {
        func row(_ label: String, _ c: Counts) -> String {
            func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
            func pct(_ x: Double) -> String { pad(String(format: "%.3f", x), 9) }
            return label.padding(toLength: 22, withPad: " ", startingAt: 0) + pad(String(c.truePositives), 6) + pad(String(c.falsePositives), 6)
                + pad(String(c.falseNegatives), 6) + pct(c.precision) + pct(c.recall) + pct(c.f1)
        }
        var lines = ["type".padding(toLength: 22, withPad: " ", startingAt: 0) + "    tp    fp    fn precision    recall        f1"]
        for type in EntityType.allCases where byType[type] != nil { lines.append(row(type.name, byType[type]!)) }
        lines.append(row("micro PER+LOC+ORG", micro(Self.namedTypes)))
        lines.append(row("micro all types", micro(Set(byType.keys))))
        lines.append(row("person-office pairs", roles))
        return lines.joined(separator: "\n")
    }
}
