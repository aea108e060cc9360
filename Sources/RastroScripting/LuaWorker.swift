/// An actor that owns one `LuaVM` and runs it on its own thread.
///
/// Everything that touches the state happens inside `withVM`, on the worker's
/// serial executor, so the state is never shared between threads.
public actor LuaWorker {
    private let executor: LuaThreadExecutor
    private let vm: LuaVM
    public nonisolated let index: Int

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Creates the state, lets `configure` register host functions, then seals it.
    public init(index: Int = 0, memoryLimit: Int = LuaVM.defaultMemoryLimit,
                configure: (LuaVM) throws -> Void = { _ in }) throws {
        self.index = index
        executor = LuaThreadExecutor(name: "rastro-lua-\(index)")
        vm = try LuaVM.sandboxed(memoryLimit: memoryLimit, configure: configure)
    }

    /// Runs `body` with the worker's state, on the worker's thread.
    public func withVM<T: Sendable>(_ body: (LuaVM) throws -> T) rethrows -> T {
        try body(vm)
    }

    /// True when the caller runs on this worker's own thread (it does inside `withVM`).
    public nonisolated var isOnWorkerThread: Bool { executor.isCurrentThread }

    /// Stops the worker's thread once its queued work is done.
    public nonisolated func shutdown() { executor.shutdown() }
}
