import NIOCore

/// Messages received on one call, waiting for the application to take them.
///
/// Fed on the event loop; read from any task. Each message taken returns credit to the sender
/// (through `grant`) in batches, which is what bounds the memory a fast sender can use.
final class InboundMessageQueue: @unchecked Sendable {
    // All mutable state is confined to `eventLoop`.
    private let eventLoop: any EventLoop
    private var buffered = CircularBuffer<ByteBuffer>(initialCapacity: 2)
    private var end: Result<Void, any Error>?
    private var waiter: CheckedContinuation<ByteBuffer?, any Error>?
    private var consumedSinceGrant = 0
    private let grant: @Sendable (Int) -> Void
    /// Messages received beyond the credit granted so far.
    private var received = 0
    private var granted = FlowControl.initialWindow

    init(eventLoop: any EventLoop, grant: @escaping @Sendable (Int) -> Void) {
        self.eventLoop = eventLoop
        self.grant = grant
    }

    /// Returns false when the sender exceeded its credit.
    func push(_ message: ByteBuffer) -> Bool {
        eventLoop.preconditionInEventLoop()
        received += 1
        guard received <= granted else { return false }
        if let waiter {
            self.waiter = nil
            taken()
            waiter.resume(returning: message)
        } else {
            buffered.append(message)
        }
        return true
    }

    /// No more messages: a clean end (nil) or a failure every later `next()` reports.
    func finish(_ error: (any Error)? = nil) {
        eventLoop.preconditionInEventLoop()
        guard end == nil else { return }
        end = error.map { .failure($0) } ?? .success(())
        if let waiter {
            self.waiter = nil
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    var isFinished: Bool { end != nil }

    /// The next message, or nil after a clean end.
    func next() async throws -> ByteBuffer? {
        if eventLoop.inEventLoop, let ready = try takeReady() { return ready.message }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                eventLoop.execute {
                    do {
                        if let ready = try self.takeReady() {
                            continuation.resume(returning: ready.message)
                        } else {
                            self.waiter = continuation
                        }
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            eventLoop.execute {
                if let waiter = self.waiter {
                    self.waiter = nil
                    waiter.resume(throwing: CancellationError())
                }
            }
        }
    }

    /// A buffered message, the end, or nil when the caller must wait.
    private func takeReady() throws -> (message: ByteBuffer?, Void)? {
        if let message = buffered.popFirst() {
            taken()
            return (message, ())
        }
        switch end {
        case .success?: return (nil, ())
        case .failure(let error)?: throw error
        case nil: return nil
        }
    }

    private func taken() {
        consumedSinceGrant += 1
        if consumedSinceGrant >= FlowControl.grantThreshold, end == nil {
            granted += consumedSinceGrant
            grant(consumedSinceGrant)
            consumedSinceGrant = 0
        }
    }
}
