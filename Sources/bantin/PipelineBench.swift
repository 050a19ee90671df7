import ArgumentParser
import BantinCore
import BantinCorpus
import BantinRPC
import Foundation
import Histogram
import NIOConcurrencyHelpers

/// End-to-end ingest benchmark: generated articles from SubmitStream to searchable in a query replica.
///
/// Freshness of an article is measured from the moment its accept reply arrives to the first poll of the replica's
/// Stats whose applied feed seq has reached the article's feed seq (learnt from ingest's Changes feed, which this
/// command follows too). Stats are polled every `--poll-ms`, so freshness is exact to within that interval, rounded up.
struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-bench",
        abstract: "Measure end-to-end ingest throughput and freshness lag on generated articles (running services needed).",
        discussion: "Start the services with an empty data directory first (bench/run-pipeline.sh does it all).")

    @Option(help: "Number of generated articles.")
    var articles = 20_000
    @Option(help: "Corpus seed.")
    var seed: UInt64 = 1
    @Option(help: "Interval between Stats polls of the query replica, in milliseconds.")
    var pollMs = 5
    @Flag(help: "Print one JSON object instead of a report.")
    var json = false
    @OptionGroup var services: ServiceAddresses
    @OptionGroup var tls: ClientTLSOptions

    final class Timeline: @unchecked Sendable {
        let lock = NIOLock()
        var acceptedAt: [String: ContinuousClock.Instant] = [:]
        var feedSeq: [String: UInt64] = [:]
        var visible: [(seq: UInt64, at: ContinuousClock.Instant)] = []
    }

    func run() async throws {
        let generator = CorpusGenerator(seed: seed)
        FileHandle.standardError.write(Data("generating \(articles) articles (seed \(seed))...\n".utf8))
        let requests = (0..<articles).map { SubmitRequest(text: generator.article($0).text) }
        let megabytes = Double(requests.reduce(0) { $0 + $1.text.utf8.count }) / 1_048_576
        let ingest = try makeClient(services.ingest, tls)
        let query = try makeClient(services.query, tls)
        let start = try await query.unary(QueryAPI.stats, StatsRequest())
        let timeline = Timeline()
        let clock = ContinuousClock()
        let began = clock.now

        let summary = try await withThrowingTaskGroup(of: SubmitSummary?.self) { group in
            // Which feed position each article got.
            group.addTask {
                // Positions only: decoding every article again would make this client compete with the services.
                let request = ChangesRequest(afterSeq: start.appliedSeq, positionsOnly: true)
                try await ingest.serverStreaming(IngestAPI.changes, request) { changes in
                    for try await change in changes where !change.articleID.isEmpty {
                        let done = timeline.lock.withLock {
                            timeline.feedSeq[change.articleID] = change.seq
                            return timeline.feedSeq.count >= requests.count
                        }
                        if done { return }
                    }
                }
                return nil
            }
            // When the replica had applied what.
            group.addTask {
                var last = start.appliedSeq
                while true {
                    let stats = try await query.unary(QueryAPI.stats, StatsRequest())
                    let now = clock.now
                    if stats.appliedSeq > last {
                        last = stats.appliedSeq
                        timeline.lock.withLock { timeline.visible.append((last, now)) }
                    }
                    if last >= start.appliedSeq + UInt64(requests.count) { return nil }
                    try await Task.sleep(for: .milliseconds(pollMs))
                }
            }
            // The load: one SubmitStream, replies in order.
            group.addTask {
                var summary = SubmitSummary()
                try await ingest.bidirectionalStreaming(IngestAPI.submitStream) { writer, responses in
                    try await withThrowingTaskGroup(of: Void.self) { writing in
                        writing.addTask {
                            for request in requests { try await writer.write(request) }
                            try writer.finish()
                        }
                        var done = 0
                        for try await response in responses {
                            if let result = response.result {
                                let now = clock.now
                                timeline.lock.withLock { timeline.acceptedAt[result.articleID] = now }
                                done += 1
                                if !json, done % 500 == 0 || done == requests.count {
                                    FileHandle.standardError.write(Data("\rsubmitted \(progressBar(done, requests.count))".utf8))
                                }
                            }
                            if let s = response.summary { summary = s }
                        }
                        try await writing.waitForAll()
                    }
                }
                return summary
            }
            var summary: SubmitSummary?
            for try await result in group { if let result { summary = result } }
            return summary!
        }
        if !json { FileHandle.standardError.write(Data("\n".utf8)) }
        await ingest.close()
        await query.close()

        guard summary.accepted == UInt32(articles) else {
            throw ValidationError("only \(summary.accepted) of \(articles) accepted (duplicates \(summary.duplicates), rejected \(summary.rejected)); start from an empty data directory")
        }
        var freshness = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var lastVisible = began
        timeline.lock.withLock {
            for (id, accepted) in timeline.acceptedAt {
                guard let seq = timeline.feedSeq[id] else { continue }
                // First poll at which the replica had applied this seq (binary search: `visible` is ordered).
                var low = 0, high = timeline.visible.count - 1
                while low < high {
                    let mid = (low + high) / 2
                    if timeline.visible[mid].seq >= seq { high = mid } else { low = mid + 1 }
                }
                let at = timeline.visible[low].at
                lastVisible = max(lastVisible, at)
                let lag = at - accepted
                freshness.record(UInt64(max(0, lag.inMicroseconds)))
            }
        }
        let seconds = (lastVisible - began).inSeconds
        let rate = Double(articles) / seconds
        func ms(_ q: Double) -> Double { Double(freshness.valueAtPercentile(q)) / 1000 }
        if json {
            print(#"{"articles": \#(articles), "megabytes": \#(String(format: "%.1f", megabytes)), "seconds": \#(String(format: "%.2f", seconds)), "articles_per_s": \#(Int(rate)), "freshness_p50_ms": \#(ms(50)), "freshness_p99_ms": \#(ms(99)), "freshness_max_ms": \#(ms(100))}"#)
        } else {
            print(String(format: "%d articles (%.1f MB) from first submit to searchable in %.2f s: %.0f articles/s", articles, megabytes, seconds, rate))
            print("freshness (accept reply → visible in query): p50 \(ms(50)) ms, p90 \(ms(90)) ms, p99 \(ms(99)) ms, max \(ms(100)) ms")
        }
    }
}
