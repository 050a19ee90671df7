import ArgumentParser
import BantinCore
import BantinCorpus
import BantinExtract
import BantinIngest
import BantinQuery
import Foundation

/// Builds a query replica's index from a generated corpus in one process, the way the services
/// would (ingest's normalization and cleaning, the extractor, the replica's indexing), and writes
/// the snapshot a `bantin-query --data DIR` starts from. For benchmarks at sizes the services
/// would take minutes to ingest.
struct BuildIndex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-index",
        abstract: "Build a query replica's index snapshot from a generated corpus, without running the services.",
        discussion: """
            Writes DIR/index.snapshot; start `bantin-query --data DIR` to serve it. Prints the build rate of each \
            stage (MB of article text per second): cleaning and extraction (on --threads threads), then indexing \
            (on --index-threads threads, as in the replica), then writing the snapshot.
            """)

    @Option(help: "Number of generated articles.")
    var articles = 100_000
    @Option(help: "Corpus seed (the same as `bantin corpus --seed`).")
    var seed: UInt64 = 1
    @Option(help: "Directory to write index.snapshot into.")
    var data = "var/data/query"
    @Option(help: "Articles per applied batch. The replica applies whatever arrived since its last batch: hundreds when catching up, a few under a steady feed.")
    var batch = 500
    @Option(help: "Threads for cleaning and extraction.")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Threads for indexing (bantin-query --index-threads).")
    var indexThreads = SearchIndex.defaultIndexThreads
    @Option(help: "Times the prepared articles are indexed, each time into a fresh index. The indexing rate printed is the median run's; the snapshot is the last run's. On a machine whose speed drifts, more runs give a steadier figure.")
    var indexRuns = 1
    @Flag(help: "Print one JSON object instead of a report.")
    var json = false

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be at least 1") }
        let limits = SearchIndex.indexThreadLimits
        guard limits.contains(indexThreads) else { throw ValidationError("--index-threads must be \(limits.lowerBound) to \(limits.upperBound)") }
        guard indexRuns > 0 else { throw ValidationError("--index-runs must be at least 1") }
    }

    func run() async throws {
        let generator = CorpusGenerator(seed: seed)
        var index = SearchIndex(indexThreads: indexThreads)
        let extractor = Extractor()
        let chunk = 500
        let chunks = (articles + chunk - 1) / chunk
        let clock = ContinuousClock()
        let began = clock.now
        var bytes = 0
        var done = 0

        // First every article is cleaned and extracted, in chunks on every core; then the chunks are applied in
        // order, one batch each, with nothing else running, so the indexing rate is the replica's own.
        var prepared = [[Change]](repeating: [], count: chunks)
        try await withThrowingTaskGroup(of: (Int, [Change], Int).self) { group in
            var next = 0
            func submit(_ c: Int) {
                group.addTask {
                    var changes: [Change] = []
                    var size = 0
                    for i in (c * chunk)..<min(articles, (c + 1) * chunk) {
                        let text = generator.article(i).text
                        size += text.utf8.count
                        let candidate = try ArticleStore.prepare(SubmitRequest(text: text))
                        var article = candidate.article
                        let extraction = extractor.extract(text: article.text, province: article.province, publishedAt: article.publishedAt)
                        article.originalText = ""  // the feed carries the normalized text, not the submission
                        article.extractionStatus = .extracted
                        var change = Change()
                        change.stored = StoredArticle(article: article, extraction: extraction)
                        change.seq = UInt64(i + 1)
                        change.headSeq = UInt64(articles)
                        changes.append(change)
                    }
                    return (c, changes, size)
                }
            }
            while next < min(chunks, threads) { submit(next); next += 1 }
            for try await (c, changes, size) in group {
                prepared[c] = changes
                bytes += size
                done += changes.count
                if next < chunks { submit(next); next += 1 }
                if !json, done % 10_000 < chunk || done == articles {
                    FileHandle.standardError.write(Data("\r\(progressBar(done, articles)) prepared".utf8))
                }
            }
        }
        let preparing = clock.now - began
        if !json { FileHandle.standardError.write(Data("\n".utf8)) }
        var runs: [Duration] = []
        for run in 1...indexRuns {
            let last = run == indexRuns
            if run > 1 { index = SearchIndex(indexThreads: indexThreads) }  // the previous run's index goes
            let indexStart = clock.now
            for c in prepared.indices {
                var start = 0
                while start < prepared[c].count {
                    index.apply(Array(prepared[c][start..<min(start + batch, prepared[c].count)]))
                    start += batch
                }
                if last { prepared[c] = [] }
                if !json, (c + 1) * chunk % 10_000 < chunk || c == chunks - 1 {
                    let label = indexRuns == 1 ? "indexed" : "indexed (run \(run) of \(indexRuns))"
                    FileHandle.standardError.write(Data("\r\(progressBar(min(articles, (c + 1) * chunk), articles)) \(label)".utf8))
                }
            }
            runs.append(clock.now - indexStart)
        }
        let indexing = runs.sorted()[runs.count / 2]
        let built = preparing + indexing
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let path = "\(data)/index.snapshot"
        let writeStart = clock.now
        let snapshotBytes = try IndexSnapshot.write(index, to: path)
        let writing = clock.now - writeStart

        let megabytes = Double(bytes) / 1_048_576
        let rss = residentMegabytes()
        if json {
            print(#"{"articles":\#(articles),"text_mb":\#(round2(megabytes)),"build_s":\#(round2(built.inSeconds)),"prepare_s":\#(round2(preparing.inSeconds)),"build_mb_per_s":\#(round2(megabytes / built.inSeconds)),"index_s":\#(round2(indexing.inSeconds)),"index_mb_per_s":\#(round2(megabytes / indexing.inSeconds)),"index_runs_mb_per_s":\#(runs.map { round2(megabytes / $0.inSeconds) }),"snapshot_mb":\#(round2(Double(snapshotBytes) / 1_048_576)),"snapshot_write_s":\#(round2(writing.inSeconds)),"rss_mb":\#(round2(rss)),"threads":\#(threads),"index_threads":\#(indexThreads)}"#)
        } else {
            FileHandle.standardError.write(Data("\n".utf8))
            print(String(format: "%d articles, %.1f MB of text", articles, megabytes))
            print(String(format: "built in %.1f s: %.2f MB/s end to end (clean + extract on %d threads, index on %d)", built.inSeconds, megabytes / built.inSeconds, threads, indexThreads))
            print(String(format: "indexing alone: %.1f s, %.2f MB/s on %d threads", indexing.inSeconds, megabytes / indexing.inSeconds, indexThreads)
                + (indexRuns == 1 ? "" : " (median of \(indexRuns) runs: " + runs.map { String(format: "%.2f", megabytes / $0.inSeconds) }.joined(separator: ", ") + " MB/s)"))
            print(String(format: "snapshot %@: %.1f MB written in %.1f s", path, Double(snapshotBytes) / 1_048_576, writing.inSeconds))
            print(String(format: "resident memory of this process: %.0f MB", rss))
        }
    }

    private func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }

    /// VmRSS of this process, from /proc.
    private func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}
