import BantinCore
import Foundation
import NIOConcurrencyHelpers

/// The in-memory index a query replica serves from: articles, folded-syllable postings with
/// positions (title and body), and canonical entities with their articles.
///
/// Readers take an immutable snapshot (copy-on-write structs behind a lock held only to swap a
/// reference), so a search never sees a half-applied article and never waits for the follower.
public final class SearchIndex: Sendable {
    struct Posting: Sendable {
        var document: Int32
        var positions: [Int32]
        var inTitle: Bool
    }

    struct Snapshot: Sendable {
        var articles: [Article] = []
        var articleIndex: [String: Int] = [:]
        var postings: [String: [Posting]] = [:]
        var lengths: [Int32] = []
        var totalLength: Int = 0
        var entities: [String: Entity] = [:]
        var entityArticles: [String: [Int]] = [:]
        var entityRoles: [String: [Role]] = [:]
        var entityDocuments: [String: [DocumentRef]] = [:]
        var entityEvents: [String: [Event]] = [:]
        var appliedSeq: UInt64 = 0
        var headSeq: UInt64 = 0
    }

    private let current = NIOLockedValueBox(Snapshot())

    public init() {}

    var snapshot: Snapshot { current.withLockedValue { $0 } }

    public var appliedSeq: UInt64 { snapshot.appliedSeq }

    public func noteHead(_ head: UInt64) {
        current.withLockedValue { $0.headSeq = max($0.headSeq, head) }
    }

    /// Applies one change from the feed, atomically for readers.
    public func apply(_ change: Change) { apply([change]) }

    /// Applies changes from the feed in one step: readers see all of them or none. Applying a batch costs one
    /// copy-on-write of the snapshot (when a reader still holds the previous one) instead of one per article.
    public func apply(_ changes: [Change]) {
        current.withLockedValue { s in
            for change in changes { Self.apply(change, to: &s) }
        }
    }

    private static func apply(_ change: Change, to s: inout Snapshot) {
            s.headSeq = max(s.headSeq, change.headSeq)
            guard let stored = change.stored, let article = stored.article else { return }
            defer { s.appliedSeq = max(s.appliedSeq, change.seq) }
            guard s.articleIndex[article.id] == nil else { return }  // replayed: already applied
            let doc = s.articles.count
            s.articles.append(article)
            s.articleIndex[article.id] = doc
            var positions: [String: (positions: [Int32], title: Bool)] = [:]
            var position: Int32 = 0
            for (field, isTitle) in [(article.title, true), ((article.paragraphs + article.captions).joined(separator: "\n"), false)] {
                for token in VietnameseText.tokens(VietnameseText.fold(field)) {
                    positions[String(token.text), default: ([], false)].positions.append(position)
                    if isTitle { positions[String(token.text)]!.title = true }
                    position += 1
                }
                position += 8  // no phrase spans the title/body boundary
            }
            for (term, entry) in positions {
                s.postings[term, default: []].append(Posting(document: Int32(doc), positions: entry.positions, inTitle: entry.title))
            }
            s.lengths.append(position)
            s.totalLength += Int(position)
            if let extraction = stored.extraction {
                for entity in extraction.entities {
                    if s.entities[entity.id] == nil { s.entities[entity.id] = entity } else {
                        for alias in entity.aliases where !s.entities[entity.id]!.aliases.contains(alias) {
                            s.entities[entity.id]!.aliases.append(alias)
                        }
                    }
                    s.entityArticles[entity.id, default: []].append(doc)
                }
                for var role in extraction.roles {
                    role.asOf = article.publishedAt
                    s.entityRoles[role.personID, default: []].append(role)
                    if !role.organizationID.isEmpty { s.entityRoles[role.organizationID, default: []].append(role) }
                }
                for document in extraction.documents { s.entityDocuments[document.id, default: []].append(document) }
                for event in extraction.events {
                    for participant in event.participantIDs { s.entityEvents[participant, default: []].append(event) }
                }
            }
    }

    // MARK: queries

    public struct Hit: Sendable {
        public var article: Article
        public var score: Double
    }

    /// BM25 (k1 1.2, b 0.75; title matches count three times) over folded syllables; every
    /// query syllable must match (AND); articles containing the query as a phrase score double.
    public func search(_ query: String, limit: Int) -> (hits: [Hit], total: Int) {
        let s = snapshot
        let terms = VietnameseText.tokens(VietnameseText.fold(query)).map { String($0.text) }
        guard !terms.isEmpty, !s.articles.isEmpty else { return ([], 0) }
        var lists: [[Posting]] = []
        for term in terms {
            guard let list = s.postings[term] else { return ([], 0) }
            lists.append(list)
        }
        // Intersect, shortest list first.
        let order = lists.indices.sorted { lists[$0].count < lists[$1].count }
        var candidates = Set(lists[order[0]].map(\.document))
        for i in order.dropFirst() { candidates.formIntersection(lists[i].map(\.document)) }
        let n = Double(s.articles.count)
        let averageLength = Double(s.totalLength) / n
        var scores: [Int32: Double] = [:]
        var positionsByDoc: [Int32: [[Int32]]] = [:]
        for list in lists {
            let idf = log(1 + (n - Double(list.count) + 0.5) / (Double(list.count) + 0.5))
            for posting in list where candidates.contains(posting.document) {
                let tf = Double(posting.positions.count) * (posting.inTitle ? 3 : 1)
                let length = Double(s.lengths[Int(posting.document)])
                let score = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / averageLength))
                scores[posting.document, default: 0] += score
                positionsByDoc[posting.document, default: []].append(posting.positions)
            }
        }
        if terms.count > 1 {
            for (doc, positionLists) in positionsByDoc where positionLists.count == terms.count {
                let rest = positionLists.dropFirst().map(Set.init)
                if positionLists[0].contains(where: { p in rest.enumerated().allSatisfy { $0.element.contains(p + Int32($0.offset) + 1) } }) {
                    scores[doc]! *= 2
                }
            }
        }
        let ranked = scores.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        return (ranked.prefix(limit).map { Hit(article: s.articles[Int($0.key)], score: $0.value) }, ranked.count)
    }

    public func article(id: String) -> Article? {
        let s = snapshot
        return s.articleIndex[id].map { s.articles[$0] }
    }

    public func entityPage(id: String) -> EntityPage? {
        let s = snapshot
        guard let entity = s.entities[id] else { return nil }
        var page = EntityPage()
        page.entity = entity
        page.roles = s.entityRoles[id] ?? []
        page.events = s.entityEvents[id] ?? []
        page.documents = s.entityDocuments[id] ?? []
        page.articleIDs = (s.entityArticles[id] ?? []).map { s.articles[$0].id }
        return page
    }

    /// Entities whose folded name or alias starts with the folded prefix, most-mentioned first.
    public func entities(prefix: String, type: EntityType?, limit: Int) -> [Entity] {
        let s = snapshot
        let wanted = VietnameseText.fold(prefix)
        return s.entities.values
            .filter { e in (type == nil || e.type == type) && ([e.name] + e.aliases).contains { VietnameseText.fold($0).hasPrefix(wanted) } }
            .sorted { (s.entityArticles[$0.id]?.count ?? 0, $1.name) > (s.entityArticles[$1.id]?.count ?? 0, $0.name) }
            .prefix(limit).map { $0 }
    }

    public var stats: StatsResponse {
        let s = snapshot
        var stats = StatsResponse()
        stats.articles = UInt64(s.articles.count)
        stats.entities = UInt64(s.entities.count)
        stats.appliedSeq = s.appliedSeq
        stats.headSeq = max(s.headSeq, s.appliedSeq)
        stats.lag = stats.headSeq - s.appliedSeq
        return stats
    }
}
