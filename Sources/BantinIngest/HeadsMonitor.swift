import NIOConcurrencyHelpers

/// The store's heads (accepted seq, feed head, outbox depth) and everything that waits on them: change-feed followers
/// that are caught up, and submissions held back while the outbox is full.
///
/// Waiting costs no timer per wait. Under bulk load there are hundreds of waits a second; a `Task` sleeping for each
/// one's timeout (and cancelled when the wait ended first) cost more CPU than the waits themselves. Instead one
/// sweeper task, running only while somebody waits, ends the waits whose time is up every `sweepInterval`: a timeout
/// is therefore late by up to that interval.
final class HeadsMonitor: Sendable {
    typealias Heads = ArticleStore.Heads

    static let sweepInterval = Duration.milliseconds(20)

    private struct State {
        var heads: Heads
        var nextID: UInt64 = 0
        var feedWaiters: [UInt64: FeedWaiter] = [:]
        /// Submissions waiting for room in the outbox, first come first served (`admissionsHead` is the first).
        var admissions: [Admission] = []
        var admissionsHead = 0
        var sweeping = false
        var waiting: Bool { !feedWaiters.isEmpty || admissionsHead < admissions.count }
    }

    private struct FeedWaiter {
        var after: UInt64
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct Admission {
        var maxBacklog: Int
        var progressWindow: Duration
        var continuation: CheckedContinuation<Void, Never>
    }

    private let state: NIOLockedValueBox<State>

    init(_ heads: Heads) {
        state = NIOLockedValueBox(State(heads: heads))
    }

    var heads: Heads { state.withLockedValue { $0.heads } }

    /// Entries in the array of held submissions, the admitted ones not yet dropped included (for tests).
    var admissionSlots: Int { state.withLockedValue { $0.admissions.count } }

    /// Changes the heads and resumes the waits that the change satisfies.
    func update(_ change: (inout Heads) -> Void) {
        let ready = state.withLockedValue { state in
            change(&state.heads)
            return Self.due(in: &state, at: nil)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns once the feed head passes `seq`, or after `timeout` (rounded up to the sweep interval).
    func waitForFeed(after seq: UInt64, timeout: Duration) async {
        if heads.feedSeq > seq { return }
        let deadline = ContinuousClock.now + timeout
        await wait { state, continuation in
            if state.heads.feedSeq > seq { return false }
            state.feedWaiters[state.nextID] = FeedWaiter(after: seq, deadline: deadline, continuation: continuation)
            state.nextID += 1
            return true
        }
    }

    /// Backpressure for bulk loads (see `ArticleStore.admit`): returns at once unless `maxBacklog` or more articles
    /// wait for their extraction and one was extracted within `progressWindow`; otherwise waits, in arrival order,
    /// until the backlog has room for this submission or extraction stalls for `progressWindow`.
    func admit(maxBacklog: Int, progressWindow: Duration) async {
        // Counting those already waiting: one arriving when there is room for only them must not pass them.
        func mustWait(_ state: State) -> Bool {
            Self.mustWait(state.heads, maxBacklog: maxBacklog, progressWindow: progressWindow, queued: state.admissions.count - state.admissionsHead)
        }
        if !state.withLockedValue({ mustWait($0) }) { return }
        await wait { state, continuation in
            if !mustWait(state) { return false }
            state.admissions.append(Admission(maxBacklog: maxBacklog, progressWindow: progressWindow, continuation: continuation))
            return true
        }
    }

    /// Suspends until `due` resumes the continuation that `enqueue` put in the state, under the lock; `enqueue`
    /// returns false, keeping nothing, when the wait is not needed after all. Starts the sweeper if none runs.
    private func wait(_ enqueue: (inout State, CheckedContinuation<Void, Never>) -> Bool) async {
        await withCheckedContinuation { continuation in
            let startSweeper = state.withLockedValue { state -> Bool? in
                guard enqueue(&state, continuation) else { return nil }
                return Self.claimSweeper(&state)
            }
            guard let startSweeper else { return continuation.resume() }
            if startSweeper { sweep() }
        }
    }

    /// Whether a submission must wait, with `queued` others already waiting ahead of it.
    private static func mustWait(_ heads: Heads, maxBacklog: Int, progressWindow: Duration, queued: Int) -> Bool {
        heads.pending + queued >= maxBacklog && !stalled(heads, progressWindow)
    }

    /// Extraction is down, or stored nothing within `progressWindow`.
    private static func stalled(_ heads: Heads, _ progressWindow: Duration) -> Bool {
        guard let last = heads.lastExtractionAt else { return true }
        return ContinuousClock.now - last >= progressWindow
    }

    /// The continuations to resume now, removed from the state.
    /// - Feed waiters whose head has moved, and when sweeping (`now` given) those whose deadline has passed.
    /// - Admissions, in order, for as long as the backlog has room. The room is counted only when the heads change:
    ///   an admitted submission is in the backlog only once its accept commits, so a sweep in between would let a
    ///   second one into the same room. Sweeps release them only when extraction has stalled.
    private static func due(in state: inout State, at now: ContinuousClock.Instant?) -> [CheckedContinuation<Void, Never>] {
        var ready: [CheckedContinuation<Void, Never>] = []
        let feedSeq = state.heads.feedSeq
        if !state.feedWaiters.isEmpty, feedSeq > state.feedWaiters.values.lazy.map(\.after).min()! || now != nil {
            for (id, waiter) in state.feedWaiters where feedSeq > waiter.after || now.map({ $0 >= waiter.deadline }) == true {
                ready.append(waiter.continuation)
                state.feedWaiters.removeValue(forKey: id)
            }
        }
        // Each admission resumed counts as one more article in the backlog: it is about to be accepted.
        var admitted = 0
        while state.admissionsHead < state.admissions.count {
            let next = state.admissions[state.admissionsHead]
            let hold = now == nil
                ? mustWait(state.heads, maxBacklog: next.maxBacklog, progressWindow: next.progressWindow, queued: admitted)
                : !stalled(state.heads, next.progressWindow)
            if hold { break }
            ready.append(next.continuation)
            state.admissionsHead += 1
            admitted += 1
        }
        // Under a steady load somebody is always waiting: the admitted ones are dropped from the front once they are
        // half the array, or the array would grow for as long as the load lasts.
        if state.admissionsHead == state.admissions.count {
            state.admissions.removeAll(keepingCapacity: true)
            state.admissionsHead = 0
        } else if state.admissionsHead >= 64, state.admissionsHead * 2 >= state.admissions.count {
            state.admissions.removeFirst(state.admissionsHead)
            state.admissionsHead = 0
        }
        return ready
    }

    /// True if the caller must start the sweeper (nobody runs it yet).
    private static func claimSweeper(_ state: inout State) -> Bool {
        defer { state.sweeping = true }
        return !state.sweeping
    }

    /// Ends expired waits every `sweepInterval` until nobody waits.
    private func sweep() {
        Task {
            while true {
                try? await Task.sleep(for: Self.sweepInterval)
                let (ready, done) = state.withLockedValue { state in
                    let ready = Self.due(in: &state, at: .now)
                    state.sweeping = state.waiting
                    return (ready, !state.sweeping)
                }
                for continuation in ready { continuation.resume() }
                if done { return }
            }
        }
    }
}
