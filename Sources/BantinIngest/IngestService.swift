import BantinCore
import BantinRPC
import Logging

/// bantin-ingest's RPC service: Submit, SubmitStream, Get and the Changes feed over `ArticleStore`.
public struct IngestService: RPCService {
    public static let defaultPort = 7401
    /// Frame limit of the ingest server: 16 MiB, eight times `ArticleStore.maxArticleBytes`.
    public static let maxFrameSize = 16 * 1024 * 1024

    let store: ArticleStore
    let outbox: ExtractionOutbox
    /// See `ArticleStore.admit(maxBacklog:)`.
    let maxBacklog: Int

    public static let defaultMaxBacklog = 256

    public init(store: ArticleStore, outbox: ExtractionOutbox, maxBacklog: Int = defaultMaxBacklog) {
        self.store = store
        self.outbox = outbox
        self.maxBacklog = maxBacklog
    }

    public func register(on router: inout Router) {
        router.unary(IngestAPI.submit, runsOnEventLoop: false) { request, _ in
            try await submit(request)
        }
        router.bidirectionalStreaming(IngestAPI.submitStream, runsOnEventLoop: false) { requests, responses, _ in
            var summary = SubmitSummary()
            // Articles are accepted concurrently (so they share group commits) but answered in order.
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending: [Task<SubmitResponse, any Error>] = []
                for try await request in requests {
                    pending.append(Task { try await submitOrReject(request) })
                    if pending.count >= 64 {
                        try await answer(pending.removeFirst(), to: responses, summary: &summary)
                    }
                }
                for task in pending { try await answer(task, to: responses, summary: &summary) }
            }
            var last = SubmitStreamResponse()
            last.summary = summary
            try await responses.write(last)
        }
        router.unary(IngestAPI.get, runsOnEventLoop: false) { request, _ in
            guard let stored = try await store.get(id: request.articleID) else {
                throw RPCError(.notFound, "no article with id '\(request.articleID)'")
            }
            return stored
        }
        router.serverStreaming(IngestAPI.changes, runsOnEventLoop: false) { request, responses, context in
            var position = request.afterSeq
            // Ends when the client goes away (the call is cancelled), the deadline passes, or the server drains: a
            // follower then resumes from its last applied seq on a new connection (to this or another ingest).
            while !Task.isCancelled, !context.isDraining {
                let changes = try await store.changes(after: position, limit: 256, positionsOnly: request.positionsOnly)
                for change in changes {
                    try await responses.write(packed: change.bytes)
                    position = change.seq
                }
                if changes.isEmpty {
                    // Caught up: wait for the next article, with a heartbeat carrying the head.
                    await store.waitForFeed(after: position, timeout: .seconds(1))
                    if store.currentHeads.feedSeq <= position {
                        var heartbeat = Change()
                        heartbeat.headSeq = store.currentHeads.feedSeq
                        try await responses.write(heartbeat)
                    }
                }
            }
        }
    }

    private func answer(_ task: Task<SubmitResponse, any Error>, to responses: ResponseWriter<SubmitStreamResponse>,
                        summary: inout SubmitSummary) async throws {
        let result = try await task.value
        switch result.outcome {
        case .accepted: summary.accepted += 1
        case .duplicate: summary.duplicates += 1
        default: summary.rejected += 1
        }
        var response = SubmitStreamResponse()
        response.result = result
        try await responses.write(response)
    }

    /// Submit: bad input is INVALID_ARGUMENT.
    func submit(_ request: SubmitRequest) async throws -> SubmitResponse {
        let candidate: ArticleStore.Candidate
        do {
            candidate = try ArticleStore.prepare(request)
        } catch {
            throw RPCError(.invalidArgument, error.description)
        }
        await store.admit(maxBacklog: maxBacklog)
        let response = try await store.accept(candidate)
        if response.outcome == .accepted { outbox.wake() }
        return response
    }

    /// SubmitStream: a bad article is a REJECTED reply and the stream carries on.
    func submitOrReject(_ request: SubmitRequest) async throws -> SubmitResponse {
        do {
            return try await submit(request)
        } catch let error as RPCError where error.code == .invalidArgument {
            var response = SubmitResponse()
            response.outcome = .rejected
            response.reason = error.message
            return response
        }
    }
}
