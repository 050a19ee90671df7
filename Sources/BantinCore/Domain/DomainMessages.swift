// The domain model (bantin.domain.v1), shared by every service and the CLI. Plain structs; the
// field tables map them onto the protobuf-c messages.

public enum ExtractionStatus: Int32, Sendable {
    case unspecified = 0, pending, extracted, failed
}

/// A stored article: the text as received, its cleaned structure and where it came from.
public struct Article: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.Article")
    public var id = ""
    public var seq: UInt64 = 0
    public var sourceURL = ""
    public var province = ""
    /// ISO 8601 date or date-time, when the page or the submitter gave one.
    public var publishedAt = ""
    public var title = ""
    public var lead = ""
    public var paragraphs: [String] = []
    public var captions: [String] = []
    public var byline = ""
    /// Exactly what was submitted (display and audit).
    public var originalText = ""
    /// Normalized text (NFC, one tone-mark placement) that extraction offsets refer to.
    public var text = ""
    public var duplicateOf = ""
    public var duplicateSimilarity: Double = 0
    public var extractionStatus = ExtractionStatus.unspecified

    public init() {}

    public static let protoFields: [ProtoField<Article>] = [
        .string("id", \.id), .uint64("seq", \.seq), .string("source_url", \.sourceURL),
        .string("province", \.province), .string("published_at", \.publishedAt), .string("title", \.title),
        .string("lead", \.lead), .strings("paragraphs", \.paragraphs), .strings("captions", \.captions),
        .string("byline", \.byline), .string("original_text", \.originalText), .string("text", \.text),
        .string("duplicate_of", \.duplicateOf), .double("duplicate_similarity", \.duplicateSimilarity),
        .enumeration("extraction_status", \.extractionStatus, fallback: .unspecified),
    ]
}

/// One occurrence of an entity in an article's text.
public struct Mention: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.Mention")
    public var entityID = ""
    public var type = EntityType.misc
    public var span: Span? = nil
    public var surface = ""

    public init() {}
    public init(entityID: String, type: EntityType, span: Span, surface: String) {
        self.entityID = entityID
        self.type = type
        self.span = span
        self.surface = surface
    }

    public static let protoFields: [ProtoField<Mention>] = [
        .string("entity_id", \.entityID), .enumeration("type", \.type, fallback: .misc),
        .message("span", \.span), .string("surface", \.surface),
    ]
}

/// A canonical entity: one id however it is written.
public struct Entity: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.Entity")
    public var id = ""
    public var type = EntityType.misc
    public var name = ""
    public var aliases: [String] = []
    public var honorifics: [String] = []
    public var parentID = ""
    public var province = ""
    public var adminLevel = ""
    /// For abbreviations: what they stand for.
    public var expansion = ""

    public init() {}
    public init(id: String, type: EntityType, name: String) {
        self.id = id
        self.type = type
        self.name = name
    }

    public static let protoFields: [ProtoField<Entity>] = [
        .string("id", \.id), .enumeration("type", \.type, fallback: .misc), .string("name", \.name),
        .strings("aliases", \.aliases), .strings("honorifics", \.honorifics), .string("parent_id", \.parentID),
        .string("province", \.province), .string("admin_level", \.adminLevel), .string("expansion", \.expansion),
    ]
}

/// A person holding an office (a title, in an organization) as an article states it.
public struct Role: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.Role")
    public var personID = ""
    public var title = ""
    public var organizationID = ""
    public var span: Span? = nil
    public var asOf = ""

    public init() {}

    public static let protoFields: [ProtoField<Role>] = [
        .string("person_id", \.personID), .string("title", \.title), .string("organization_id", \.organizationID),
        .message("span", \.span), .string("as_of", \.asOf),
    ]
}

/// A legal or Party document cited by an article.
public struct DocumentRef: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.DocumentRef")
    public var id = ""
    public var kind = ""
    public var number = ""
    public var code = ""
    public var issuerID = ""
    public var date = ""
    public var term = ""
    public var span: Span? = nil

    public init() {}

    public static let protoFields: [ProtoField<DocumentRef>] = [
        .string("id", \.id), .string("kind", \.kind), .string("number", \.number), .string("code", \.code),
        .string("issuer_id", \.issuerID), .string("date", \.date), .string("term", \.term), .message("span", \.span),
    ]
}

/// A date expression resolved to ISO form ("2023-06-27", "2023-06", "2025/2030").
public struct DateRef: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.DateRef")
    public var span: Span? = nil
    public var value = ""
    public var yearInferred = false

    public init() {}

    public static let protoFields: [ProtoField<DateRef>] = [
        .message("span", \.span), .string("value", \.value), .bool("year_inferred", \.yearInferred),
    ]
}

/// Something that happened: a working session, a conference, a signing.
public struct Event: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.Event")
    public var id = ""
    public var kind = ""
    public var date = ""
    public var locationID = ""
    public var participantIDs: [String] = []
    public var span: Span? = nil

    public init() {}

    public static let protoFields: [ProtoField<Event>] = [
        .string("id", \.id), .string("kind", \.kind), .string("date", \.date), .string("location_id", \.locationID),
        .strings("participant_ids", \.participantIDs), .message("span", \.span),
    ]
}

/// Everything the extractor found in one article.
public struct Extraction: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.domain.v1.Extraction")
    public var entities: [Entity] = []
    public var mentions: [Mention] = []
    public var roles: [Role] = []
    public var documents: [DocumentRef] = []
    public var dates: [DateRef] = []
    public var events: [Event] = []
    public var extractorVersion = ""

    public init() {}

    public static let protoFields: [ProtoField<Extraction>] = [
        .messages("entities", \.entities), .messages("mentions", \.mentions), .messages("roles", \.roles),
        .messages("documents", \.documents), .messages("dates", \.dates), .messages("events", \.events),
        .string("extractor_version", \.extractorVersion),
    ]
}
