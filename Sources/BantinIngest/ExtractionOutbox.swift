import BantinCore
import BantinRPC
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Delivers stored articles to bantin-extract and stores what comes back. An article is
/// "pending" until then; if extract is down or slow, the worker retries with exponential backoff
/// (100 ms doubling to 10 s) for as long as it takes. Nothing is lost: the outbox is the store's
/// `pending` table, so a restart picks up where it stopped.
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

    /// Keeps up to `concurrency` extractions in flight, topping up from the store as each one finishes (no batch
    /// barrier: one slow article does not hold back the rest).
    private func deliverUntilStopped() async throws {
        var backoff = Duration.milliseconds(100)
        await withTaskGroup(of: (String, Bool).self) { group in
            var inFlight = Set<String>()
            // Articles are taken in seq order from `cursor`; it goes back to the start when nothing newer waits,
            // which is when failed ones are retried.
            var cursor: UInt64 = 0
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                if inFlight.count <= concurrency / 2 {
                    let waiting = (try? await store.pending(after: cursor, limit: concurrency - inFlight.count)) ?? []
                    for article in waiting where !inFlight.contains(article.id) {
                        inFlight.insert(article.id)
                        group.addTask { (article.id, await self.deliver(article)) }
                    }
                    cursor = waiting.last?.seq ?? cursor
                    if waiting.isEmpty, inFlight.isEmpty {
                        if cursor > 0 {
                            cursor = 0
                            continue
                        }
                        await sleep(upTo: .seconds(1))
                        continue
                    }
                }
                guard let (id, ok) = await group.next() else { continue }
                inFlight.remove(id)
                if ok {
                    backoff = .milliseconds(100)
                } else {
                    logger.warning("extraction failed; retrying", metadata: ["article": "\(id)", "backoff-ms": "\(backoff.components.seconds * 1000 + backoff.components.attoseconds / 1_000_000_000_000_000)"])
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(10))
                }
            }
            group.cancelAll()
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
