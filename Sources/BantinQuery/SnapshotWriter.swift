import BantinCore
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle

/// Writes the index to disk every `interval` when it has changed, and once more on graceful shutdown, so that a
/// restarted replica loads it and follows the feed from there (`IndexSnapshot`).
public final class SnapshotWriter: Service, Sendable {
    let index: SearchIndex
    let path: String
    let interval: Duration
    let logger: Logger
    /// Snapshots are encoded on a thread of their own at a lower scheduling priority (nice 10): a write takes
    /// seconds of CPU on a large index, and searches and the feed follower should keep their share meanwhile.
    private let thread = NIOThreadPool(numberOfThreads: 1)

    public init(index: SearchIndex, path: String, interval: Duration, logger: Logger) {
        self.index = index
        self.path = path
        self.interval = interval
        self.logger = logger
        thread.start()
        thread.submit { _ in
            #if os(Linux)
            // On Linux the nice value belongs to the thread, and 0 names the calling one.
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            #endif
        }
    }

    /// Loads the snapshot at `path` if there is a good one; logs and starts empty otherwise.
    public static func restore(_ index: SearchIndex, from path: String, logger: Logger) {
        guard FileManager.default.fileExists(atPath: path) else {
            logger.info("no snapshot yet; following the change feed from the start", metadata: ["path": "\(path)"])
            return
        }
        let started = ContinuousClock.now
        do {
            try IndexSnapshot.load(from: path, into: index)
            logger.info("snapshot loaded", metadata: ["path": "\(path)", "articles": "\(index.stats.articles)",
                                                      "applied": "\(index.appliedSeq)", "duration": "\(ContinuousClock.now - started)"])
        } catch {
            logger.warning("starting empty; the change feed will be replayed", metadata: ["reason": "\(error)"])
        }
    }

    public func run() async throws {
        var written = index.appliedSeq
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            if index.appliedSeq != written { written = await write() ?? written }
        }
        if index.appliedSeq != written { _ = await write() }
        try? await thread.shutdownGracefully()
    }

    /// Writes now; returns the applied seq written, nil on failure (logged: the next round tries again).
    func write() async -> UInt64? {
        let seq = index.appliedSeq
        let started = ContinuousClock.now
        do {
            let bytes = try await thread.runIfActive { [index, path] in try IndexSnapshot.write(index, to: path) }
            logger.info("snapshot written", metadata: ["path": "\(path)", "applied": "\(seq)", "bytes": "\(bytes)",
                                                       "duration": "\(ContinuousClock.now - started)"])
            return seq
        } catch {
            logger.error("snapshot not written", metadata: ["reason": "\(error)"])
            return nil
        }
    }
}
