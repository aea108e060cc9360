import Foundation
import GRDB
import Synchronization

/// Group read: async reads that queue up share a reader and a thread.
///
/// The read side of `GroupCommit`. Under a push load each push made one read on a GCD
/// thread: a thread woken, a reader taken from GRDB's pool (a dispatch barrier, where
/// threads parked as often as anywhere, and a `PRAGMA schema_version`), given back, and
/// the thread parked again. Here each reader (a read-only connection of its own, see
/// `Store.init`) has at most one drain; a drain takes every read waiting, runs them one
/// after the other, and looks again, so under load a read costs neither a wake nor a
/// pool round trip. Reads run without a transaction: each statement is its own, and a
/// read that throws fails alone.
final class GroupRead: Sendable {
    private struct Job: @unchecked Sendable {
        // Run once, by the one drain that takes the job; it resumes its caller itself.
        let run: (Database) -> Void
        let fail: (any Error) -> Void
    }

    private struct State {
        var pending: [Job] = []
        /// The readers no drain is using.
        var idle: [Int]
    }

    typealias Reader = @Sendable (_ body: (Database) throws -> Void) throws -> Void

    private let state: Mutex<State>
    private let readers: [Reader]
    private let queue = DispatchQueue(label: "rastro.store.group-read", attributes: .concurrent)

    /// One drain at most per reader, each drain with a reader of its own.
    init(readers: [Reader]) {
        precondition(!readers.isEmpty, "a group read needs a reader")
        self.readers = readers
        state = Mutex(State(idle: Array(readers.indices)))
    }

    func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(run: { db in continuation.resume(with: Result { try work(db) }) },
                          fail: { error in continuation.resume(throwing: error) })
            let start = state.withLock { s -> Int? in
                s.pending.append(job)
                return s.idle.popLast()
            }
            if let reader = start { queue.async { self.drain(reader) } }
        }
    }

    /// Reads queued and not yet taken by a drain.
    var waiting: Int { state.withLock { $0.pending.count } }

    private func drain(_ reader: Int) {
        while true {
            let jobs = state.withLock { s -> [Job] in
                let taken = s.pending
                s.pending.removeAll(keepingCapacity: true)
                if taken.isEmpty { s.idle.append(reader) }
                return taken
            }
            if jobs.isEmpty { return }
            var ran = 0
            do {
                try readers[reader]({ db in
                    for job in jobs {
                        ran += 1
                        job.run(db)
                    }
                })
            } catch {
                // No reader could be had (the file is gone, say): the jobs not run get why.
                for job in jobs[ran...] { job.fail(error) }
            }
        }
    }
}
