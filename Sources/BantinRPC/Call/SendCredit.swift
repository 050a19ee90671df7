import NIOConcurrencyHelpers
import NIOCore

/// The sending side of flow control: how many more messages the peer will accept on a call.
///
/// Behind a lock, like `InboundMessageQueue`: a sender with credit takes it without a hop to the event loop.
final class SendCredit: Sendable {
    private let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())

    private struct State {
        var available = FlowControl.initialWindow
        var waiter: CheckedContinuation<Void, any Error>?
        var failure: (any Error)?
    }

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// Takes one message's credit, waiting for a WINDOW frame if there is none.
    func acquire() async throws {
        let taken = try state.withLockedValue { s -> Bool in
            if let failure = s.failure { throw failure }
            guard s.available > 0 else { return false }
            s.available -= 1
            return true
        }
        if taken { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = state.withLockedValue { s -> Result<Void, any Error>? in
                if let failure = s.failure { return .failure(failure) }
                guard s.available > 0 else {
                    s.waiter = continuation
                    return nil
                }
                s.available -= 1
                return .success(())
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Credit from a WINDOW frame.
    func add(_ count: Int) {
        eventLoop.preconditionInEventLoop()
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, any Error>? in
            s.available += count
            guard s.available > 0, let waiter = s.waiter else { return nil }
            s.waiter = nil
            s.available -= 1
            return waiter
        }
        waiter?.resume()
    }

    func fail(_ error: any Error) {
        eventLoop.preconditionInEventLoop()
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, any Error>? in
            s.failure = s.failure ?? error
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(throwing: error)
    }
}
