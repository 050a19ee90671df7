import NIOCore

/// The sending side of flow control: how many more messages the peer will accept on a call.
final class SendCredit: @unchecked Sendable {
    // Confined to `eventLoop`.
    private let eventLoop: any EventLoop
    private var available = FlowControl.initialWindow
    private var waiter: CheckedContinuation<Void, any Error>?
    private var failure: (any Error)?

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    /// Takes one message's credit, waiting for a WINDOW frame if there is none.
    func acquire() async throws {
        if eventLoop.inEventLoop, failure == nil, available > 0 {
            available -= 1
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            eventLoop.execute {
                if let failure = self.failure {
                    continuation.resume(throwing: failure)
                } else if self.available > 0 {
                    self.available -= 1
                    continuation.resume()
                } else {
                    self.waiter = continuation
                }
            }
        }
    }

    func add(_ count: Int) {
        eventLoop.preconditionInEventLoop()
        available += count
        if available > 0, let waiter {
            self.waiter = nil
            available -= 1
            waiter.resume()
        }
    }

    func fail(_ error: any Error) {
        eventLoop.preconditionInEventLoop()
        failure = failure ?? error
        if let waiter {
            self.waiter = nil
            waiter.resume(throwing: error)
        }
    }
}
