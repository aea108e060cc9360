import Foundation
import GRDB
import Synchronization

/// Group commit: concurrent writers share one transaction (and one fsync).
///
/// With `synchronous=FULL` every commit waits for the disk; a push per
/// transaction is bounded by fsyncs per second. Writes submitted while a
/// transaction is being written wait for the next one, which takes them all.
/// Each write runs in its own savepoint, so one that throws is rolled back
/// alone and gets its error; the others commit. Callers resume only after the
/// commit, so an acknowledged write is on disk.
final class GroupCommit: Sendable {
    private struct Job: @unchecked Sendable {
        // The closure and continuation are used once, by the one drain that takes the job.
        let work: (Database) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    /// Bounded so one transaction never holds the writer for long.
    let maxBatch = 256

    init(pool: DatabasePool) { self.pool = pool }

    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let value = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let start = state.withLock { s -> Bool in
                s.pending.append(Job(work: { try work($0) }, continuation: continuation))
                if s.draining { return false }
                s.draining = true
                return true
            }
            if start { Self.queue.async { self.drain() } }
        }
        return value as! T  // the job for this caller produced a T
    }

    /// On the group commit's GCD thread, never a Swift concurrency one: the drain waits
    /// for the disk (see `Store.asyncRead`), and starting it there directly spares a hop.
    private func drain() {
        while true {
            let jobs = state.withLock { s -> [Job] in
                let batch = Array(s.pending.prefix(maxBatch))
                s.pending.removeFirst(batch.count)
                if batch.isEmpty { s.draining = false }
                return batch
            }
            if jobs.isEmpty { return }
            var cause: (any Error)?
            do {
                let results = try pool.write { db -> [Result<any Sendable, any Error>] in
                    jobs.map { job in
                        do {
                            return .success(try Self.inSavepoint(db) { try job.work(db) })
                        } catch {
                            if StoreError.database(error).storageProblem != nil { cause = cause ?? error }
                            return .failure(error)
                        }
                    }
                }
                for (job, result) in zip(jobs, results) { job.continuation.resume(with: result) }
            } catch {
                // The transaction itself failed: nothing of it was written. On a full disk SQLite
                // rolls the whole transaction back, and the jobs only see "transaction was
                // aborted"; the job that hit the disk's limit tells them all why.
                let reason = cause ?? error
                for job in jobs { job.continuation.resume(throwing: reason) }
            }
        }
    }

    /// `body` in a savepoint, rolled back alone if it throws. GRDB's `inSavepoint`
    /// compiles SAVEPOINT and RELEASE for every call; here they are cached statements
    /// (GRDB still sees them and keeps its savepoint bookkeeping).
    private static func inSavepoint<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "SAVEPOINT rastro_job").execute()
        do {
            let value = try body()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT rastro_job").execute()
            return value
        } catch {
            // A failed ROLLBACK TO (the transaction itself is gone, say) leaves the outer
            // transaction to fail; the job's own error is the one to report.
            try? db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT rastro_job").execute()
            try? db.cachedStatement(sql: "RELEASE SAVEPOINT rastro_job").execute()
            throw error
        }
    }

    private static let queue = DispatchQueue(label: "rastro.store.group-commit")
}
