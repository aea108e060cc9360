import Foundation
import GRDB
import Synchronization

/// Group read: async reads that queue up share a reader and a thread.
///
/// The read side of `GroupCommit`. Under a push load each push made one read on a GCD
/// thread: a thread woken, a reader taken from GRDB's pool (a dispatch barrier, where
/// threads parked as often as anywhere), given back, and the thread parked again. Here
/// at most `width` drains run; each takes every read waiting, runs them one after the
/// other on one reader, and looks again, so under load a read costs neither a wake nor
/// a pool round trip. Reads run without a transaction (`Store.read(snapshot: false)`):
/// each is its own, and one that throws fails alone.
final class GroupRead: Sendable {
    private struct Job: @unchecked Sendable {
        // Run once, by the one drain that takes the job; it resumes its caller itself.
        let run: (Database) -> Void
        let fail: (any Error) -> Void
    }

    private struct State {
        var pending: [Job] = []
        var drains = 0
    }

    private let state = Mutex(State())
    private let width: Int
    private let queue = DispatchQueue(label: "rastro.store.group-read", attributes: .concurrent)
    private let reader: @Sendable (_ body: (Database) throws -> Void) throws -> Void

    /// `width`: drains (so readers, and threads) at most at once.
    init(width: Int, reader: @escaping @Sendable (_ body: (Database) throws -> Void) throws -> Void) {
        self.width = max(1, width)
        self.reader = reader
    }

    func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(run: { db in continuation.resume(with: Result { try work(db) }) },
                          fail: { error in continuation.resume(throwing: error) })
            let start = state.withLock { s -> Bool in
                s.pending.append(job)
                guard s.drains < width else { return false }
                s.drains += 1
                return true
            }
            if start { queue.async { self.drain() } }
        }
    }

    /// Reads queued and not yet taken by a drain.
    var waiting: Int { state.withLock { $0.pending.count } }

    private func drain() {
        while true {
            let jobs = state.withLock { s -> [Job] in
                let taken = s.pending
                s.pending.removeAll(keepingCapacity: true)
                if taken.isEmpty { s.drains -= 1 }
                return taken
            }
            if jobs.isEmpty { return }
            var ran = 0
            do {
                try reader { db in
                    for job in jobs {
                        ran += 1
                        job.run(db)
                    }
                }
            } catch {
                // No reader could be had (the file is gone, say): the jobs not run get why.
                for job in jobs[ran...] { job.fail(error) }
            }
        }
    }
}
