import BantinCore
import BantinRPC
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Follows bantin-ingest's change feed from the index's last applied position, reconnecting with
/// backoff (100 ms doubling to 5 s) after any failure, so a replica converges however often
/// ingest restarts. A restarted replica starts empty and replays the feed from the beginning.
public final class FeedFollower: Service, Sendable {
    let index: SearchIndex
    let ingest: RPCClient
    let logger: Logger
    /// The least time between two applies while changes keep coming (see `follow`).
    let applyInterval: Duration

    public init(index: SearchIndex, ingest: RPCClient, logger: Logger, applyInterval: Duration = .milliseconds(100)) {
        self.index = index
        self.ingest = ingest
        self.logger = logger
        self.applyInterval = applyInterval
    }

    public func run() async throws {
        // The feed never ends by itself: stop following as soon as shutdown starts.
        try await cancelWhenGracefulShutdown { try await self.follow() }
    }

    private func follow() async throws {
        var backoff = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await ingest.serverStreaming(IngestAPI.changes, ChangesRequest(afterSeq: index.appliedSeq)) { changes in
                    // The stream is read into a buffer while the index applies what came before: under load each
                    // apply takes everything that arrived meanwhile, so its cost is shared by many articles.
                    let buffer = ChangeBuffer()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            defer { buffer.finish() }
                            for try await change in changes { buffer.append(change) }
                        }
                        let clock = ContinuousClock()
                        while let batch = await buffer.next() {
                            let applied = clock.now
                            index.apply(batch)
                            backoff = .milliseconds(100)
                            // Each apply seals a segment, and segments are merged: a cost per batch that a stream
                            // of a few articles per apply pays again and again (indexing 20,000 articles in batches
                            // of 30 took half as long again as in batches of 100). Waiting out `applyInterval`
                            // before the next apply makes batches larger; the first change after a quiet spell
                            // still goes in at once, and no change waits longer than `applyInterval` for it.
                            try? await Task.sleep(until: applied + applyInterval, clock: clock)
                        }
                        try await group.waitForAll()
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("change feed interrupted; reconnecting", metadata: ["error": "\(error)", "applied": "\(index.appliedSeq)"])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }
}

/// Changes read from the feed and not yet applied. One producer, one consumer; `next()` hands over everything
/// buffered at once, and nil once the producer finished and the buffer is empty.
final class ChangeBuffer: Sendable {
    private struct State {
        var changes: [Change] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = NIOLockedValueBox(State())

    func append(_ change: Change) {
        state.withLockedValue { s in
            s.changes.append(change)
            defer { s.waiter = nil }
            return s.waiter
        }?.resume()
    }

    func finish() {
        state.withLockedValue { s in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }?.resume()
    }

    func next() async -> [Change]? {
        while true {
            let taken: [Change]? = state.withLockedValue { s in
                if !s.changes.isEmpty { defer { s.changes = [] }; return s.changes }
                return s.finished ? [] : nil
            }
            if let taken { return taken.isEmpty ? nil : taken }
            await withCheckedContinuation { continuation in
                let ready = state.withLockedValue { s -> Bool in
                    if !s.changes.isEmpty || s.finished { return true }
                    s.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
