import NIOConcurrencyHelpers
import NIOCore

/// Messages received on one call, waiting for the application to take them.
///
/// Fed on the event loop; read from any task. Each message taken returns credit to the sender
/// (through `grant`) in batches, which is what bounds the memory a fast sender can use.
///
/// The state is behind a lock rather than confined to the event loop: a reader that finds a message waiting takes it
/// without a hop to the loop and back. With the hops, every streamed message cost two thread wake-ups, and under a
/// bulk load those were a good part of each service's time.
final class InboundMessageQueue: Sendable {
    private let eventLoop: any EventLoop
    private let grant: @Sendable (Int) -> Void
    private let state = NIOLockedValueBox(State())

    private struct State {
        var buffered = CircularBuffer<ByteBuffer>(initialCapacity: 2)
        var end: Result<Void, any Error>?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        /// The reader was cancelled: a wait it starts later ends at once.
        var cancelled = false
        var consumedSinceGrant = 0
        /// Messages received, and the credit granted so far: more received than granted is a protocol violation.
        var received = 0
        var granted = FlowControl.initialWindow

        /// A buffered message, the end, or nil when the reader must wait; the credit to grant for what was taken.
        mutating func takeReady() -> (Result<ByteBuffer?, any Error>, grant: Int)? {
            if let message = buffered.popFirst() { return (.success(message), taken()) }
            switch end {
            case .success?: return (.success(nil), 0)
            case .failure(let error)?: return (.failure(error), 0)
            case nil: return nil
            }
        }

        /// Counts one message taken; every `grantThreshold` of them are granted back to the sender.
        mutating func taken() -> Int {
            consumedSinceGrant += 1
            guard consumedSinceGrant >= FlowControl.grantThreshold, end == nil else { return 0 }
            defer { consumedSinceGrant = 0 }
            granted += consumedSinceGrant
            return consumedSinceGrant
        }
    }

    /// `grant` sends credit to the peer; it is called on the event loop.
    init(eventLoop: any EventLoop, grant: @escaping @Sendable (Int) -> Void) {
        self.eventLoop = eventLoop
        self.grant = grant
    }

    /// Returns false when the sender exceeded its credit.
    func push(_ message: ByteBuffer) -> Bool {
        eventLoop.preconditionInEventLoop()
        let (accepted, waiter, credit) = state.withLockedValue { s -> (Bool, CheckedContinuation<ByteBuffer?, any Error>?, Int) in
            s.received += 1
            guard s.received <= s.granted else { return (false, nil, 0) }
            guard let waiter = s.waiter else {
                s.buffered.append(message)
                return (true, nil, 0)
            }
            s.waiter = nil
            return (true, waiter, s.taken())
        }
        if credit > 0 { grant(credit) }
        waiter?.resume(returning: message)
        return accepted
    }

    /// No more messages: a clean end (nil) or a failure every later `next()` reports.
    func finish(_ error: (any Error)? = nil) {
        eventLoop.preconditionInEventLoop()
        let waiter = state.withLockedValue { s -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard s.end == nil else { return nil }
            s.end = error.map { .failure($0) } ?? .success(())
            defer { s.waiter = nil }
            return s.waiter
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    var isFinished: Bool { state.withLockedValue { $0.end != nil } }

    /// The next message, or nil after a clean end.
    func next() async throws -> ByteBuffer? {
        if let (result, credit) = state.withLockedValue({ $0.takeReady() }) {
            sendGrant(credit)
            return try result.get()
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                let ready = state.withLockedValue { s -> (Result<ByteBuffer?, any Error>, grant: Int)? in
                    if let ready = s.takeReady() { return ready }
                    if s.cancelled { return (.failure(CancellationError()), 0) }
                    s.waiter = continuation
                    return nil
                }
                if let (result, credit) = ready {
                    sendGrant(credit)
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { s -> CheckedContinuation<ByteBuffer?, any Error>? in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func sendGrant(_ credit: Int) {
        guard credit > 0 else { return }
        if eventLoop.inEventLoop { grant(credit) } else { eventLoop.execute { self.grant(credit) } }
    }
}
