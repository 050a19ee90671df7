import BantinCore
import BantinRPC
import Logging
import ServiceLifecycle

/// Follows bantin-ingest's change feed from the index's last applied position, reconnecting with
/// backoff (100 ms doubling to 5 s) after any failure, so a replica converges however often
/// ingest restarts. A restarted replica starts empty and replays the feed from the beginning.
public final class FeedFollower: Service, Sendable {
    let index: SearchIndex
    let ingest: RPCClient
    let logger: Logger

    public init(index: SearchIndex, ingest: RPCClient, logger: Logger) {
        self.index = index
        self.ingest = ingest
        self.logger = logger
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
                    for try await change in changes {
                        index.apply(change)
                        backoff = .milliseconds(100)
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
