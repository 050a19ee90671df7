import BantinCore
import BantinRPC

/// bantin-query's RPC service, answering from the replica's `SearchIndex`.
public struct QueryService: RPCService {
    public static let defaultPort = 7403
    let index: SearchIndex

    public init(index: SearchIndex) { self.index = index }

    public func register(on router: inout Router) {
        router.unary(QueryAPI.search, runsOnEventLoop: false) { request, _ in
            let query = request.query.trimmingCharacters(in: .whitespaces)
            guard !query.isEmpty else { throw RPCError(.invalidArgument, "the query is empty") }
            guard query.utf8.count <= 1024 else { throw RPCError(.invalidArgument, "the query is \(query.utf8.count) bytes; the limit is 1024") }
            let limit = request.limit == 0 ? 10 : Int(min(request.limit, 100))
            let (hits, total) = index.search(query, limit: limit)
            var response = SearchResponse()
            response.total = UInt64(total)
            response.hits = hits.map { hit in
                var h = SearchHit()
                h.articleID = hit.article.id
                h.title = hit.article.title
                h.score = hit.score
                h.snippet = String(hit.article.lead.prefix(200))
                h.publishedAt = hit.article.publishedAt
                h.province = hit.article.province
                return h
            }
            return response
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
        router.unary(QueryAPI.listEntities, runsOnEventLoop: false) { request, _ in
            var response = ListEntitiesResponse()
            response.entities = index.entities(prefix: request.prefix, type: EntityType(rawValue: request.type),
                                               limit: request.limit == 0 ? 20 : Int(min(request.limit, 1000)))
            return response
        }
        router.unary(QueryAPI.stats) { _, _ in index.stats }
    }
}
