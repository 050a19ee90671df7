/// What an extracted mention refers to; numbers match bantin.domain.v1.EntityType.
public enum EntityType: Int32, Sendable, CaseIterable, Codable {
    case person = 1, position, organization, location, document, date, event, misc, abbreviation
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
}
