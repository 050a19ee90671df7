import BantinCore

/// The messages the peer streams on a call, decoded as they are taken; taking them returns
/// flow-control credit. Handlers see it as `RequestStream`, clients as `ResponseStream`.
public struct MessageStream<Message: WireMessage>: AsyncSequence, Sendable {
    let queue: InboundMessageQueue

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: InboundMessageQueue
        public mutating func next() async throws -> Message? {
            guard let buffer = try await queue.next() else { return nil }
            return try Message(unpacking: buffer)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: queue) }
}
