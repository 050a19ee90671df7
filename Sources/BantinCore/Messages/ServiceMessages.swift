// Requests and responses of the ingest, extract and query services (bantin.{ingest,extract,query}.v1).

// MARK: - ingest

public struct SubmitRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.SubmitRequest")
    public var text = ""
    public var sourceURL = ""
    public var province = ""
    public var publishedAt = ""

    public init() {}
    public init(text: String, sourceURL: String = "", province: String = "", publishedAt: String = "") {
        self.text = text
        self.sourceURL = sourceURL
        self.province = province
        self.publishedAt = publishedAt
    }

    public static let protoFields: [ProtoField<SubmitRequest>] = [
        .string("text", \.text), .string("source_url", \.sourceURL), .string("province", \.province),
        .string("published_at", \.publishedAt),
    ]
}

public struct SubmitResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.SubmitResponse")
    public enum Outcome: Int32, Sendable { case unspecified = 0, accepted, duplicate, rejected }
    public var outcome = Outcome.unspecified
    public var articleID = ""
    public var seq: UInt64 = 0
    public var reason = ""
    public var duplicateOf = ""
    public var similarity: Double = 0

    public init() {}

    public static let protoFields: [ProtoField<SubmitResponse>] = [
        .enumeration("outcome", \.outcome, fallback: .unspecified), .string("article_id", \.articleID),
        .uint64("seq", \.seq), .string("reason", \.reason), .string("duplicate_of", \.duplicateOf),
        .double("similarity", \.similarity),
    ]
}

public struct SubmitSummary: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.SubmitSummary")
    public var accepted: UInt32 = 0
    public var duplicates: UInt32 = 0
    public var rejected: UInt32 = 0

    public init() {}

    public static let protoFields: [ProtoField<SubmitSummary>] = [
        .uint32("accepted", \.accepted), .uint32("duplicates", \.duplicates), .uint32("rejected", \.rejected),
    ]
}

/// One reply per submitted article, then a last one carrying only the summary.
public struct SubmitStreamResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.SubmitStreamResponse")
    public var result: SubmitResponse? = nil
    public var summary: SubmitSummary? = nil

    public init() {}

    public static let protoFields: [ProtoField<SubmitStreamResponse>] = [
        .message("result", \.result), .message("summary", \.summary),
    ]
}

public struct GetRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.GetRequest")
    public var articleID = ""

    public init() {}
    public init(articleID: String) { self.articleID = articleID }

    public static let protoFields: [ProtoField<GetRequest>] = [.string("article_id", \.articleID)]
}

public struct StoredArticle: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.StoredArticle")
    public var article: Article? = nil
    public var extraction: Extraction? = nil

    public init() {}
    public init(article: Article, extraction: Extraction?) {
        self.article = article
        self.extraction = extraction
    }

    public static let protoFields: [ProtoField<StoredArticle>] = [
        .message("article", \.article), .message("extraction", \.extraction),
    ]
}

public struct ChangesRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.ChangesRequest")
    /// Feed position already applied; the stream starts after it.
    public var afterSeq: UInt64 = 0
    /// Positions and article ids only, no articles: for watching the feed without indexing it.
    public var positionsOnly = false

    public init() {}
    public init(afterSeq: UInt64, positionsOnly: Bool = false) {
        self.afterSeq = afterSeq
        self.positionsOnly = positionsOnly
    }

    public static let protoFields: [ProtoField<ChangesRequest>] = [
        .uint64("after_seq", \.afterSeq), .bool("positions_only", \.positionsOnly),
    ]
}

/// One article entering the change feed; `headSeq` is the newest position.
/// A change with no `articleID` is a heartbeat carrying the head only; a positions-only feed leaves `stored` out.
public struct Change: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.ingest.v1.Change")
    public var stored: StoredArticle? = nil
    public var headSeq: UInt64 = 0
    /// This change's feed position: resume with `ChangesRequest(afterSeq: seq)`.
    public var seq: UInt64 = 0
    public var articleID = ""

    public init() {}

    public static let protoFields: [ProtoField<Change>] = [
        .message("stored", \.stored), .uint64("head_seq", \.headSeq), .uint64("seq", \.seq), .string("article_id", \.articleID),
    ]
}

// MARK: - extract

public struct ExtractRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.extract.v1.ExtractRequest")
    public var text = ""
    public var province = ""
    public var publishedAt = ""

    public init() {}
    public init(text: String, province: String = "", publishedAt: String = "") {
        self.text = text
        self.province = province
        self.publishedAt = publishedAt
    }

    public static let protoFields: [ProtoField<ExtractRequest>] = [
        .string("text", \.text), .string("province", \.province), .string("published_at", \.publishedAt),
    ]
}

public struct ExtractResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.extract.v1.ExtractResponse")
    public var extraction: Extraction? = nil

    public init() {}
    public init(extraction: Extraction) { self.extraction = extraction }

    public static let protoFields: [ProtoField<ExtractResponse>] = [.message("extraction", \.extraction)]
}

public struct ExtractBatchRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.extract.v1.ExtractBatchRequest")
    public var articles: [ExtractRequest] = []

    public init() {}
    public init(articles: [ExtractRequest]) { self.articles = articles }

    public static let protoFields: [ProtoField<ExtractBatchRequest>] = [.messages("articles", \.articles)]
}

public struct ExtractBatchResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.extract.v1.ExtractBatchResponse")
    /// One per request article, in the same order.
    public var extractions: [Extraction] = []

    public init() {}
    public init(extractions: [Extraction]) { self.extractions = extractions }

    public static let protoFields: [ProtoField<ExtractBatchResponse>] = [.messages("extractions", \.extractions)]
}

// MARK: - query

public struct SearchRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.SearchRequest")
    public var query = ""
    public var province = ""
    public var dateFrom = ""
    public var dateTo = ""
    public var entityIDs: [String] = []
    public var limit: UInt32 = 0
    public var cursor = ""
    public var sort = ""
    public var facets: [String] = []

    public init() {}
    public init(query: String, limit: UInt32 = 10) {
        self.query = query
        self.limit = limit
    }

    public static let protoFields: [ProtoField<SearchRequest>] = [
        .string("query", \.query), .string("province", \.province), .string("date_from", \.dateFrom),
        .string("date_to", \.dateTo), .strings("entity_ids", \.entityIDs), .uint32("limit", \.limit),
        .string("cursor", \.cursor), .string("sort", \.sort), .strings("facets", \.facets),
    ]
}

public struct SearchHit: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.SearchHit")
    public var articleID = ""
    public var title = ""
    public var score: Double = 0
    public var snippet = ""
    public var highlights: [Highlight] = []
    public var publishedAt = ""
    public var province = ""

    public init() {}

    public static let protoFields: [ProtoField<SearchHit>] = [
        .string("article_id", \.articleID), .string("title", \.title), .double("score", \.score),
        .string("snippet", \.snippet), .messages("highlights", \.highlights), .string("published_at", \.publishedAt),
        .string("province", \.province),
    ]
}

public struct Highlight: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.Highlight")
    public var span: Span? = nil

    public init() {}
    public init(span: Span) { self.span = span }

    public static let protoFields: [ProtoField<Highlight>] = [.message("span", \.span)]
}

public struct FacetCount: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.FacetCount")
    public var value = ""
    public var count: UInt32 = 0
    public var label = ""

    public init() {}
    public init(value: String, count: UInt32, label: String = "") {
        self.value = value
        self.count = count
        self.label = label
    }

    public static let protoFields: [ProtoField<FacetCount>] = [
        .string("value", \.value), .uint32("count", \.count), .string("label", \.label),
    ]
}

public struct Facet: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.Facet")
    public var name = ""
    public var counts: [FacetCount] = []

    public init() {}
    public init(name: String, counts: [FacetCount]) {
        self.name = name
        self.counts = counts
    }

    public static let protoFields: [ProtoField<Facet>] = [.string("name", \.name), .messages("counts", \.counts)]
}

public struct SearchResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.SearchResponse")
    public var hits: [SearchHit] = []
    public var total: UInt64 = 0
    public var nextCursor = ""
    public var facets: [Facet] = []

    public init() {}

    public static let protoFields: [ProtoField<SearchResponse>] = [
        .messages("hits", \.hits), .uint64("total", \.total), .string("next_cursor", \.nextCursor),
        .messages("facets", \.facets),
    ]
}

public struct GetArticleRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.GetArticleRequest")
    public var articleID = ""

    public init() {}
    public init(articleID: String) { self.articleID = articleID }

    public static let protoFields: [ProtoField<GetArticleRequest>] = [.string("article_id", \.articleID)]
}

public struct GetEntityRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.GetEntityRequest")
    public var entityID = ""

    public init() {}
    public init(entityID: String) { self.entityID = entityID }

    public static let protoFields: [ProtoField<GetEntityRequest>] = [.string("entity_id", \.entityID)]
}

/// Who met whom: events with participants from both sides (entity ids or province names).
public struct MeetingsRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.MeetingsRequest")
    public var sideA = ""
    public var sideB = ""
    public var dateFrom = ""
    public var dateTo = ""
    public var limit: UInt32 = 0

    public init() {}
    public init(sideA: String, sideB: String, dateFrom: String = "", dateTo: String = "", limit: UInt32 = 0) {
        self.sideA = sideA
        self.sideB = sideB
        self.dateFrom = dateFrom
        self.dateTo = dateTo
        self.limit = limit
    }

    public static let protoFields: [ProtoField<MeetingsRequest>] = [
        .string("side_a", \.sideA), .string("side_b", \.sideB), .string("date_from", \.dateFrom),
        .string("date_to", \.dateTo), .uint32("limit", \.limit),
    ]
}

public struct Meeting: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.Meeting")
    public var event: Event? = nil
    public var articleID = ""
    public var articleTitle = ""
    public var date = ""
    public var sideAIDs: [String] = []
    public var sideBIDs: [String] = []

    public init() {}

    public static let protoFields: [ProtoField<Meeting>] = [
        .message("event", \.event), .string("article_id", \.articleID), .string("article_title", \.articleTitle),
        .string("date", \.date), .strings("side_a_ids", \.sideAIDs), .strings("side_b_ids", \.sideBIDs),
    ]
}

public struct MeetingsResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.MeetingsResponse")
    public var meetings: [Meeting] = []

    public init() {}

    public static let protoFields: [ProtoField<MeetingsResponse>] = [.messages("meetings", \.meetings)]
}

/// Another entity named in the same articles, with the Dice coefficient of their article sets.
public struct CoMention: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.CoMention")
    public var entityID = ""
    public var name = ""
    public var type = EntityType.misc
    public var articles: UInt32 = 0
    public var score = 0.0

    public init() {}

    public static let protoFields: [ProtoField<CoMention>] = [
        .string("entity_id", \.entityID), .string("name", \.name), .enumeration("type", \.type, fallback: .misc),
        .uint32("articles", \.articles), .double("score", \.score),
    ]
}

/// Articles in one month ("2023-06"; "" when undated).
public struct PeriodCount: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.PeriodCount")
    public var period = ""
    public var articles: UInt32 = 0

    public init() {}
    public init(period: String, articles: UInt32) {
        self.period = period
        self.articles = articles
    }

    public static let protoFields: [ProtoField<PeriodCount>] = [.string("period", \.period), .uint32("articles", \.articles)]
}

public struct EntityPage: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.EntityPage")
    public var entity: Entity? = nil
    public var roles: [Role] = []
    /// Oldest first: the entity's timeline.
    public var events: [Event] = []
    public var documents: [DocumentRef] = []
    public var articleIDs: [String] = []
    /// The most associated entities, best first.
    public var coMentions: [CoMention] = []
    /// Articles naming the entity per month, oldest first.
    public var timeline: [PeriodCount] = []
    /// Provinces of the articles naming it, most first.
    public var provinces: [FacetCount] = []

    public init() {}

    public static let protoFields: [ProtoField<EntityPage>] = [
        .message("entity", \.entity), .messages("roles", \.roles), .messages("events", \.events),
        .messages("documents", \.documents), .strings("article_ids", \.articleIDs),
        .messages("co_mentions", \.coMentions), .messages("timeline", \.timeline), .messages("provinces", \.provinces),
    ]
}

public struct ListEntitiesRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.ListEntitiesRequest")
    public var prefix = ""
    /// 0: any type.
    public var type: Int32 = 0
    public var limit: UInt32 = 0

    public init() {}
    public init(prefix: String, type: EntityType? = nil, limit: UInt32 = 20) {
        self.prefix = prefix
        self.type = type?.rawValue ?? 0
        self.limit = limit
    }

    public static let protoFields: [ProtoField<ListEntitiesRequest>] = [
        .string("prefix", \.prefix), .enumNumber("type", \.type), .uint32("limit", \.limit),
    ]
}

public struct ListEntitiesResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.ListEntitiesResponse")
    public var entities: [Entity] = []

    public init() {}

    public static let protoFields: [ProtoField<ListEntitiesResponse>] = [.messages("entities", \.entities)]
}

public struct StatsRequest: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.StatsRequest")
    public init() {}
    public static let protoFields: [ProtoField<StatsRequest>] = []
}

public struct StatsResponse: ProtoStruct, Equatable {
    public static let messageType = MessageType.named("bantin.query.v1.StatsResponse")
    public var articles: UInt64 = 0
    public var entities: UInt64 = 0
    public var appliedSeq: UInt64 = 0
    public var headSeq: UInt64 = 0
    public var lag: UInt64 = 0

    public init() {}

    public static let protoFields: [ProtoField<StatsResponse>] = [
        .uint64("articles", \.articles), .uint64("entities", \.entities), .uint64("applied_seq", \.appliedSeq),
        .uint64("head_seq", \.headSeq), .uint64("lag", \.lag),
    ]
}
