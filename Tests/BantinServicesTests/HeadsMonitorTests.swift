@testable import BantinIngest
import Testing

@Suite struct HeadsMonitorTests {
    @Test(.timeLimit(.minutes(1))) func theQueueOfHeldSubmissionsStaysSmallUnderASteadyLoad() async throws {
        // A full backlog with extraction under way, and always eight submissions held: each round one extraction
        // makes room for the first of them, its accept fills the backlog again, and one more submission arrives.
        let monitor = HeadsMonitor(ArticleStore.Heads(acceptedSeq: 0, feedSeq: 0, pending: 4, lastExtractionAt: .now))
        let (admitted, admit) = AsyncStream.makeStream(of: Void.self)
        func submit() {
            Task {
                await monitor.admit(maxBacklog: 4, progressWindow: .seconds(60))
                admit.yield()
            }
        }
        for _ in 0..<8 { submit() }
        while monitor.admissionSlots < 8 { await Task.yield() }
        var next = admitted.makeAsyncIterator()
        var largest = 0
        for _ in 0..<2_000 {
            monitor.update { $0.pending -= 1; $0.lastExtractionAt = .now }
            await next.next()
            monitor.update { $0.pending += 1 }
            submit()
            largest = max(largest, monitor.admissionSlots)
        }
        #expect(largest < 200)
        // Let the last ones go: extraction has stopped, nobody waits for it.
        monitor.update { $0.lastExtractionAt = nil }
        for _ in 0..<8 { await next.next() }
    }
}
