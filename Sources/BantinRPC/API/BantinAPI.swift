import BantinCore

// The methods of the three Bantin services, shared by their servers and every client.

public enum IngestAPI {
    public static let submit = Method<SubmitRequest, SubmitResponse>("/bantin.ingest.v1.Ingest/Submit", kind: .unary, idempotent: true)
    public static let submitStream = Method<SubmitRequest, SubmitStreamResponse>(
        "/bantin.ingest.v1.Ingest/SubmitStream", kind: .bidirectionalStreaming)
    public static let get = Method<GetRequest, StoredArticle>("/bantin.ingest.v1.Ingest/Get", kind: .unary, idempotent: true)
    public static let changes = Method<ChangesRequest, Change>("/bantin.ingest.v1.Ingest/Changes", kind: .serverStreaming)
}

public enum ExtractAPI {
    public static let extract = Method<ExtractRequest, ExtractResponse>("/bantin.extract.v1.Extractor/Extract", kind: .unary, idempotent: true)
    public static let extractBatch = Method<ExtractBatchRequest, ExtractBatchResponse>(
        "/bantin.extract.v1.Extractor/ExtractBatch", kind: .unary, idempotent: true)
}

public enum QueryAPI {
    public static let search = Method<SearchRequest, SearchResponse>("/bantin.query.v1.Query/Search", kind: .unary, idempotent: true)
    public static let getArticle = Method<GetArticleRequest, Article>("/bantin.query.v1.Query/GetArticle", kind: .unary, idempotent: true)
    public static let getEntity = Method<GetEntityRequest, EntityPage>("/bantin.query.v1.Query/GetEntity", kind: .unary, idempotent: true)
    public static let listEntities = Method<ListEntitiesRequest, ListEntitiesResponse>(
        "/bantin.query.v1.Query/ListEntities", kind: .unary, idempotent: true)
    public static let stats = Method<StatsRequest, StatsResponse>("/bantin.query.v1.Query/Stats", kind: .unary, idempotent: true)
    public static let meetings = Method<MeetingsRequest, MeetingsResponse>("/bantin.query.v1.Query/Meetings", kind: .unary, idempotent: true)
}
