import NIOCore

/// Runs tasks on a NIO event loop. A fast handler started from a frame runs on the thread that
/// read it, and a client task preferring this executor resumes where its responses arrive: no hop
/// to the cooperative pool and back (each hop is a futex wake-up, which costs more than an Echo).
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
