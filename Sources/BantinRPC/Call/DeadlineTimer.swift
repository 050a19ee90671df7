import NIOCore

/// One timer for every call deadline on a connection, confined to its event loop.
///
/// A NIO timer per call costs a promise, a heap insertion and a removal on every call: perf put
/// it at about 5 % of the echo server's time at 4 KiB. Calls on one connection mostly carry the
/// same timeout, so a new call's deadline is almost always later than the one already armed and
/// watching it costs a comparison. When the armed deadline passes, the owner ends the calls that
/// are due and names the earliest deadline left, which the timer arms next. Deadlines are kept
/// exactly: a call never ends before its deadline, nor later than the loop can run the timer.
final class DeadlineTimer {
    private let eventLoop: any EventLoop
    /// Ends the calls due by the given time; returns the earliest deadline of those still open.
    private let expire: (NIODeadline) -> NIODeadline?
    private var armed: NIODeadline?
    private var scheduled: Scheduled<Void>?

    init(eventLoop: any EventLoop, expire: @escaping (NIODeadline) -> NIODeadline?) {
        self.eventLoop = eventLoop
        self.expire = expire
    }

    /// Makes sure the timer fires no later than `deadline`.
    func watch(_ deadline: NIODeadline) {
        eventLoop.preconditionInEventLoop()
        if let armed, armed <= deadline { return }
        scheduled?.cancel()
        arm(deadline)
    }

    /// Stops the timer (the connection closed).
    func stop() {
        scheduled?.cancel()
        scheduled = nil
        armed = nil
    }

    /// For the owner's `expire`: ends each call whose deadline is due by `now`, and returns the earliest deadline
    /// of the others.
    static func sweep<Call>(_ calls: some Sequence<Call>, due now: NIODeadline, deadline: (Call) -> NIODeadline?,
                            end: (Call) -> Void) -> NIODeadline? {
        var next: NIODeadline?
        for call in calls {
            guard let due = deadline(call) else { continue }
            if due <= now { end(call) } else { next = min(next ?? due, due) }
        }
        return next
    }

    private func arm(_ deadline: NIODeadline) {
        armed = deadline
        // The task runs on this loop, where `fire` must run; weakly held, so that a timer dropped with its
        // connection does nothing.
        let unchecked = UncheckedBox(self)
        scheduled = eventLoop.scheduleTask(deadline: deadline) { unchecked.value?.fire() }
    }

    private func fire() {
        armed = nil
        scheduled = nil
        if let next = expire(.now()) { arm(next) }
    }
}

/// A weak reference carried into a timer closure that runs on the loop owning the object.
private struct UncheckedBox: @unchecked Sendable {
    weak var value: DeadlineTimer?
    init(_ value: DeadlineTimer) { self.value = value }
}
