import BantinCore
import BantinRPC
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Delivers stored articles to bantin-extract and stores what comes back. An article is
/// "pending" until then; if extract is down or slow, the worker retries with exponential backoff
/// (100 ms doubling to 10 s) for as long as it takes. Nothing is lost: the outbox is the
/// `extraction IS NULL` rows of the store, so a restart picks up where it stopped.
public final class ExtractionOutbox: Service, Sendable {
    private let store: ArticleStore
    private let extractor: RPCClient
    private let logger: Logger
    private let wakeUp = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
    /// Articles sent to extract at once.
    let concurrency = 16
    let callTimeout: Duration

    public init(store: ArticleStore, extractor: RPCClient, callTimeout: Duration = .seconds(10), logger: Logger) {
        self.store = store
        self.extractor = extractor
        self.callTimeout = callTimeout
        self.logger = logger
    }

    /// New work arrived: stop waiting.
    public func wake() {
        let waiter = wakeUp.withLockedValue { w in defer { w = nil }; return w }
        waiter?.resume()
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.deliverUntilStopped() }
    }

    private func deliverUntilStopped() async throws {
        var backoff = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let batch = (try? await store.pending(limit: 256)) ?? []
            if batch.isEmpty {
                await sleep(upTo: .seconds(1))
                continue
            }
            let failures = await withTaskGroup(of: Bool.self) { group in
                var failures = 0
                var iterator = batch.makeIterator()
                for _ in 0..<concurrency { if let a = iterator.next() { group.addTask { await self.deliver(a) } } }
                while let ok = await group.next() {
                    if !ok { failures += 1 }
                    if let a = iterator.next() { group.addTask { await self.deliver(a) } }
                }
                return failures
            }
            if failures == 0 {
                backoff = .milliseconds(100)
            } else {
                logger.warning("extraction failed; retrying", metadata: ["failed": "\(failures)", "backoff-ms": "\(backoff.components.seconds * 1000 + backoff.components.attoseconds / 1_000_000_000_000_000)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }

    private func deliver(_ article: Article) async -> Bool {
        do {
            let response = try await extractor.unary(ExtractAPI.extract,
                ExtractRequest(text: article.text, province: article.province, publishedAt: article.publishedAt),
                options: CallOptions(timeout: callTimeout))
            try await store.storeExtraction(articleID: article.id, response.extraction ?? Extraction())
            return true
        } catch {
            logger.debug("extraction of \(article.id) failed: \(error)")
            try? await store.recordExtractionFailure(articleID: article.id, "\(error)")
            return false
        }
    }

    private func sleep(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.wakeUp.withLockedValue { old in
                        old?.resume()
                        old = continuation
                    }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            self.wake()
            group.cancelAll()
        }
    }
}
