import NIOCore

/// Coalesces flushes on one connection. Writes made while the channel is delivering a read burst
/// are flushed once at `channelReadComplete`; writes made elsewhere (handler tasks finishing on the
/// event loop) schedule one flush for the end of the current event-loop tick. Sixteen calls that
/// finish together then cost one TLS record and one `write(2)` instead of sixteen of each.
///
/// Confined to the channel's event loop, like the handler that owns it.
final class FlushBatcher {
    private var reading = false
    private var pending = false
    private var scheduled = false

    /// Call from `channelRead` before handling a frame.
    func readStarted() { reading = true }

    /// Call from `channelReadComplete`: flushes what the burst wrote.
    func readCompleted(_ context: ChannelHandlerContext) {
        reading = false
        if pending {
            pending = false
            context.flush()
        }
    }

    /// Asks for a flush soon, without flushing now.
    func flushSoon(_ context: ChannelHandlerContext) {
        pending = true
        guard !reading, !scheduled else { return }
        scheduled = true
        let bound = NIOLoopBound((batcher: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (batcher, context) = bound.value
            batcher.scheduled = false
            guard batcher.pending else { return }
            batcher.pending = false
            context.flush()
        }
    }
}
