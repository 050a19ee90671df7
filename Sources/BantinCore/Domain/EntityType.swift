/// What an extracted mention refers to; numbers match bantin.domain.v1.EntityType.
public enum EntityType: Int32, Sendable, CaseIterable, Codable {
    case person = 1, position, organization, location, document, date, event, misc, abbreviation

    /// The upper-case name used in JSON output and the gold format ("PERSON").
    public var name: String {
        switch self {
        case .person: "PERSON"
        case .position: "POSITION"
        case .organization: "ORGANIZATION"
        case .location: "LOCATION"
        case .document: "DOCUMENT"
        case .date: "DATE"
        case .event: "EVENT"
        case .misc: "MISC"
        case .abbreviation: "ABBREVIATION"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = match
    }
}

/// A half-open range of UTF-8 byte offsets into an article's text as received.
public struct Span: Sendable, Hashable, Codable {
    public var start: UInt32
    public var end: UInt32

    public init(start: UInt32, end: UInt32) {
        precondition(start <= end, "span start after end")
        self.start = start
        self.end = end
    }

    public init() { self.init(start: 0, end: 0) }
}

extension Span: ProtoStruct {
    public static let messageType = MessageType.named("bantin.domain.v1.Span")
    public static let protoFields: [ProtoField<Span>] = [.uint32("start", \.start), .uint32("end", \.end)]
}
