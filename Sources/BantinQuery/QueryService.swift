import BantinCore
import BantinRPC
import Foundation

/// bantin-query's RPC service, answering from the replica's `SearchIndex`.
public struct QueryService: RPCService {
    public static let defaultPort = 7403
    let index: SearchIndex

    public init(index: SearchIndex) { self.index = index }

    static let facetNames: Set<String> = ["province", "year", "person", "organization", "document"]
    /// A query's work grows with its words: each is a walk over its postings. 32 is far beyond what a
    /// person types and keeps the worst query to tens of milliseconds on 100,000 articles.
    static let maxWords = 32

    /// Search: the query string (docs/QUERY.md) plus the request's own filters, one page at a time.
    public func search(_ request: SearchRequest) throws -> SearchResponse {
        guard request.query.utf8.count <= 1024 else {
            throw RPCError(.invalidArgument, "the query is \(request.query.utf8.count) bytes; the limit is 1024")
        }
        var query: SearchQuery
        do {
            query = try SearchQuery(parsing: request.query)
        } catch {
            throw RPCError(.invalidArgument, "query: \(error.description) (syntax: docs/QUERY.md)")
        }
        let words = (query.clauses.flatMap { $0 } + query.excluded).reduce(0) { $0 + $1.terms.count }
        guard words <= Self.maxWords else {
            throw RPCError(.invalidArgument, "the query has \(words) words; the limit is \(Self.maxWords) (narrow it with filters, docs/QUERY.md)")
        }
        if !request.province.isEmpty { query.provinces.append(VietnameseText.fold(request.province)) }
        if !request.dateFrom.isEmpty { query.dateFrom = request.dateFrom }
        if !request.dateTo.isEmpty { query.dateTo = request.dateTo }
        query.entityIDs += request.entityIDs
        if !request.sort.isEmpty {
            guard let sort = SearchQuery.Sort(rawValue: request.sort) else {
                throw RPCError(.invalidArgument, "sort '\(request.sort)': use relevance or date")
            }
            query.sort = sort
        }
        guard !query.clauses.isEmpty || !query.provinces.isEmpty || !query.entityIDs.isEmpty || !query.dateFrom.isEmpty
                || !query.dateTo.isEmpty || !query.entityTypes.isEmpty else {
            throw RPCError(.invalidArgument, "the query is empty: give words, a phrase or a filter (docs/QUERY.md)")
        }
        if let unknown = request.facets.first(where: { !Self.facetNames.contains($0) }) {
            throw RPCError(.invalidArgument, "no facet '\(unknown)'; facets are \(Self.facetNames.sorted().joined(separator: ", "))")
        }
        let limit = request.limit == 0 ? 10 : Int(min(request.limit, 100))
        var offset = 0
        var documents: Int?
        if !request.cursor.isEmpty {
            guard let cursor = Cursor(request.cursor) else {
                throw RPCError(.invalidArgument, "the cursor is not one this service issued; pass next_cursor from the previous page unchanged")
            }
            offset = cursor.offset
            documents = cursor.documents
        }
        let result = index.search(query, offset: offset, limit: limit, documents: documents, facets: request.facets)
        var response = SearchResponse()
        response.total = UInt64(result.total)
        response.facets = result.facets
        response.hits = result.hits.map { hit in
            var h = SearchHit()
            h.articleID = hit.article.id
            h.title = hit.article.title
            h.score = hit.score
            (h.snippet, h.highlights) = Snippets.make(body: hit.body, matches: hit.bodyMatches)
            h.publishedAt = hit.article.publishedAt
            h.province = hit.provinceName
            return h
        }
        if offset + limit < result.total {
            response.nextCursor = Cursor(documents: result.documents, offset: offset + limit).encoded
        }
        return response
    }

    public func register(on router: inout Router) {
        router.unary(QueryAPI.search, runsOnEventLoop: false) { request, _ in
            try search(request)
        }
        router.unary(QueryAPI.getArticle) { request, _ in
            guard let article = index.article(id: request.articleID) else {
                throw RPCError(.notFound, "no article '\(request.articleID)' on this replica")
            }
            return article
        }
        router.unary(QueryAPI.getEntity) { request, _ in
            guard let page = index.entityPage(id: request.entityID) else {
                throw RPCError(.notFound, "no entity '\(request.entityID)'; find ids with ListEntities")
            }
            return page
        }
        router.unary(QueryAPI.meetings, runsOnEventLoop: false) { request, _ in
            guard !request.sideA.isEmpty, !request.sideB.isEmpty else {
                throw RPCError(.invalidArgument, "give both sides: entity ids (from ListEntities) or province names")
            }
            for date in [request.dateFrom, request.dateTo] where !date.isEmpty {
                do { _ = try SearchQuery.date(date, "date") } catch { throw RPCError(.invalidArgument, "\(error)") }
            }
            var response = MeetingsResponse()
            response.meetings = index.meetings(request)
            return response
        }
        router.unary(QueryAPI.listEntities, runsOnEventLoop: false) { request, _ in
            var response = ListEntitiesResponse()
            response.entities = index.entities(prefix: request.prefix, type: EntityType(rawValue: request.type),
                                               limit: request.limit == 0 ? 20 : Int(min(request.limit, 1000)))
            return response
        }
        router.unary(QueryAPI.stats) { _, _ in index.stats }
    }
}

/// Where the next page starts: the collection prefix the ranking was made over, and how many hits came before.
/// Opaque to clients ("v1:<documents>:<offset>" in base64).
struct Cursor: Equatable {
    var documents: Int
    var offset: Int

    init(documents: Int, offset: Int) {
        self.documents = documents
        self.offset = offset
    }

    init?(_ encoded: String) {
        guard let data = Data(base64Encoded: encoded) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 3, parts[0] == "v1", let documents = Int(parts[1]), let offset = Int(parts[2]),
              documents > 0, offset >= 0 else { return nil }
        self.init(documents: documents, offset: offset)
    }

    var encoded: String { Data("v1:\(documents):\(offset)".utf8).base64EncodedString() }
}
