import RastroCore
import Synchronization

/// CPU time spent per stage of polling, for the benchmark's split (Lua, store).
/// Thread CPU time: Lua runs on the pool's threads and the store on its writer's
/// (measured there, see `PollRecording.cpuNanos`), so what is measured is the
/// work of that stage, not time spent waiting.
public final class PollStages: Sendable {
    private let luaNanos = Atomic<Int64>(0)
    private let storeNanos = Atomic<Int64>(0)
    private let prepareNanos = Atomic<Int64>(0)
    private let transportWaitNanos = Atomic<Int64>(0)

    public init() {}

    public var lua: Duration { .nanoseconds(luaNanos.load(ordering: .relaxed)) }
    /// The writer's share: recording polls (and the rules of changes not prepared ahead).
    public var store: Duration { .nanoseconds(storeNanos.load(ordering: .relaxed)) }
    /// Working out changes and running the rules ahead, on readers (`Store.prepareNotifications`).
    public var prepare: Duration { .nanoseconds(prepareNanos.load(ordering: .relaxed)) }
    /// Wall time requests spent in flight (overlapping; the carrier's and the network's time included).
    public var transportWait: Duration { .nanoseconds(transportWaitNanos.load(ordering: .relaxed)) }

    func addLua(_ nanos: Int64) { luaNanos.add(nanos, ordering: .relaxed) }
    public func addStore(_ nanos: Int64) { storeNanos.add(nanos, ordering: .relaxed) }
    public func addPrepare(_ nanos: Int64) { prepareNanos.add(nanos, ordering: .relaxed) }
    func addTransportWait(_ nanos: Int64) { transportWaitNanos.add(nanos, ordering: .relaxed) }

    /// The calling thread's CPU time, in nanoseconds.
    public static func threadCPU() -> Int64 { CPUClock.thread() }

    /// The process's CPU time (user + system), in nanoseconds.
    public static func processCPU() -> Int64 { CPUClock.process() }
}

extension Optional where Wrapped == PollStages {
    /// Runs `body`, adding its thread CPU time to the Lua stage when measuring.
    func lua<T>(_ body: () throws -> T) rethrows -> T {
        guard let stages = self else { return try body() }
        let start = PollStages.threadCPU()
        defer { stages.addLua(PollStages.threadCPU() - start) }
        return try body()
    }

}
