@testable import BantinRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The two ends of per-call flow control, on a real event loop, read and written from tasks as the services do.
@Suite struct FlowControlTests {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    func message(_ n: Int) -> ByteBuffer { ByteBuffer(integer: UInt32(n)) }

    @Test(.timeLimit(.minutes(1))) func queuedMessagesAreReadInOrderAndCreditGoesBackInBatches() async throws {
        let loop = group.next()
        let granted = NIOLockedValueBox<[Int]>([])
        let queue = InboundMessageQueue(eventLoop: loop) { count in
            loop.preconditionInEventLoop()
            granted.withLockedValue { $0.append(count) }
        }
        // The sender may send the initial window and no more.
        let accepted = try await loop.submit { (0..<FlowControl.initialWindow).map { queue.push(message($0)) } }.get()
        #expect(accepted.allSatisfy { $0 })
        #expect(try await loop.submit { queue.push(message(99)) }.get() == false)

        for n in 0..<FlowControl.initialWindow {
            #expect(try await queue.next()?.getInteger(at: 0, as: UInt32.self) == UInt32(n))
        }
        try await loop.submit {}.get()  // the grants were sent from the loop
        #expect(granted.withLockedValue { $0 } == Array(repeating: FlowControl.grantThreshold, count: FlowControl.initialWindow / FlowControl.grantThreshold))
        try await loop.submit { queue.finish() }.get()
        #expect(try await queue.next() == nil)
        #expect(try await queue.next() == nil)
        try await group.shutdownGracefully()
    }

    @Test(.timeLimit(.minutes(1))) func aWaitingReaderGetsTheNextMessageOrTheFailure() async throws {
        let loop = group.next()
        let queue = InboundMessageQueue(eventLoop: loop) { _ in }
        async let first = queue.next()
        try await Task.sleep(for: .milliseconds(50))
        _ = try await loop.submit { queue.push(message(7)) }.get()
        #expect(try await first?.getInteger(at: 0, as: UInt32.self) == 7)

        let second = Task { try await queue.next() }
        try await Task.sleep(for: .milliseconds(50))
        try await loop.submit { queue.finish(RPCError(.cancelled, "gone")) }.get()
        await #expect(throws: RPCError.self) { try await second.value }
        await #expect(throws: RPCError.self) { try await queue.next() }
        try await group.shutdownGracefully()
    }

    @Test(.timeLimit(.minutes(1))) func aCancelledReaderStopsWaitingWhetherCancelledBeforeOrDuringTheWait() async throws {
        let queue = InboundMessageQueue(eventLoop: group.next()) { _ in }
        let during = Task { try await queue.next() }
        try await Task.sleep(for: .milliseconds(50))
        during.cancel()
        await #expect(throws: CancellationError.self) { try await during.value }

        let before = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await queue.next()
        }
        await #expect(throws: CancellationError.self) { try await before.value }
        try await group.shutdownGracefully()
    }

    @Test(.timeLimit(.minutes(1))) func sendCreditRunsOutWaitsForAWindowAndFailsItsWaiter() async throws {
        let loop = group.next()
        let credit = SendCredit(eventLoop: loop)
        for _ in 0..<FlowControl.initialWindow { try await credit.acquire() }  // no waiting while there is credit
        let acquired = NIOLockedValueBox(0)
        let waiting = Task {
            try await credit.acquire()
            acquired.withLockedValue { $0 += 1 }
            try await credit.acquire()
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(acquired.withLockedValue { $0 } == 0)
        try await loop.submit { credit.add(1) }.get()
        while acquired.withLockedValue({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await loop.submit { credit.fail(RPCError(.unavailable, "connection closed")) }.get()
        await #expect(throws: RPCError.self) { try await waiting.value }
        await #expect(throws: RPCError.self) { try await credit.acquire() }
        try await group.shutdownGracefully()
    }
}
