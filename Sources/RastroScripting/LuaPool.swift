import Foundation
import Synchronization

/// A fixed set of Lua workers, one per core by default.
///
/// Work goes to the worker with the fewest calls queued or running (ties in turn);
/// each worker runs one call at a time on its own thread, so the pool's parallelism
/// is its size. Not plain round-robin: a 5 ms parse of a 50-parcel body queued behind
/// another while the second worker sat idle, and polls/s showed it.
public final class LuaPool: Sendable {
    public let workers: [LuaWorker]
    private let next = Atomic<Int>(0)
    /// Calls queued or running per worker (through `withVM`).
    private let load: Mutex<[Int]>

    public static var defaultSize: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    public init(size: Int = LuaPool.defaultSize, memoryLimit: Int = LuaVM.defaultMemoryLimit,
                configure: @Sendable (LuaVM) throws -> Void = { _ in }) throws {
        precondition(size > 0, "a pool needs at least one worker")
        workers = try (0..<size).map { try LuaWorker(index: $0, memoryLimit: memoryLimit, configure: configure) }
        load = Mutex(Array(repeating: 0, count: size))
    }

    /// The worker that takes the next job.
    public func nextWorker() -> LuaWorker {
        let i = next.add(1, ordering: .relaxed).oldValue
        return workers[i % workers.count]
    }

    /// Runs `body` on the state of the least busy worker.
    public func withVM<T: Sendable>(_ body: @Sendable (LuaVM) throws -> T) async throws -> T {
        let i = take()
        defer { load.withLock { $0[i] -= 1 } }
        return try await workers[i].withVM(body)
    }

    /// Calls queued or running on each worker.
    public var queued: [Int] { load.withLock { $0 } }

    private func take() -> Int {
        let start = next.add(1, ordering: .relaxed).oldValue
        return load.withLock { counts in
            var best = start % counts.count
            for k in 1..<max(1, counts.count) {
                let j = (start + k) % counts.count
                if counts[j] < counts[best] { best = j }
            }
            counts[best] += 1
            return best
        }
    }

    /// Runs `body` once on every worker's state (loading a script everywhere, say).
    public func onEveryWorker(_ body: @Sendable (LuaVM) throws -> Void) async throws {
        for worker in workers { try await worker.withVM(body) }
    }

    public func shutdown() { for worker in workers { worker.shutdown() } }
}
