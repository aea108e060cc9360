import Foundation
import Synchronization

/// A fixed set of Lua workers, one per core by default.
///
/// Work goes to the workers round-robin; each worker runs one call at a time
/// on its own thread, so the pool's parallelism is its size.
public final class LuaPool: Sendable {
    public let workers: [LuaWorker]
    private let next = Atomic<Int>(0)

    public static var defaultSize: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    public init(size: Int = LuaPool.defaultSize, memoryLimit: Int = LuaVM.defaultMemoryLimit,
                configure: @Sendable (LuaVM) throws -> Void = { _ in }) throws {
        precondition(size > 0, "a pool needs at least one worker")
        workers = try (0..<size).map { try LuaWorker(index: $0, memoryLimit: memoryLimit, configure: configure) }
    }

    /// The worker that takes the next job.
    public func nextWorker() -> LuaWorker {
        let i = next.add(1, ordering: .relaxed).oldValue
        return workers[i % workers.count]
    }

    /// Runs `body` on the next worker's state.
    public func withVM<T: Sendable>(_ body: @Sendable (LuaVM) throws -> T) async throws -> T {
        try await nextWorker().withVM(body)
    }

    /// Runs `body` once on every worker's state (loading a script everywhere, say).
    public func onEveryWorker(_ body: @Sendable (LuaVM) throws -> Void) async throws {
        for worker in workers { try await worker.withVM(body) }
    }

    public func shutdown() { for worker in workers { worker.shutdown() } }
}
