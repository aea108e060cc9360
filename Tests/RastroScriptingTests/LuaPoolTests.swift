import Foundation
import Synchronization
import Testing
@testable import RastroScripting

@Suite("Lua workers and the pool")
struct LuaPoolTests {
    @Test("the pool has one worker per core by default, each with its own state")
    func oneWorkerPerCore() throws {
        let pool = try LuaPool()
        defer { pool.shutdown() }
        #expect(pool.workers.count == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test("calls from many tasks run on the workers' own threads and see only their worker's state")
    func concurrentCallsStayOnTheirWorkers() async throws {
        let pool = try LuaPool(size: 2)
        defer { pool.shutdown() }
        try await pool.onEveryWorker { vm in
            _ = try vm.eval("return 1") // the state is usable on its thread
        }
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<200 {
                group.addTask {
                    let worker = pool.nextWorker()
                    let onOwnThread = try await worker.withVM { vm -> Bool in
                        let v = try vm.eval("local t = {} for i = 1, \(i) do t[i] = i end return #t")
                        precondition(v == [.integer(Int64(i))])
                        return worker.isOnWorkerThread && !pool.workers[1 - worker.index].isOnWorkerThread
                    }
                    return (worker.index, onOwnThread)
                }
            }
            var out: [(Int, Bool)] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(results.count == 200)
        for (index, onOwnThread) in results { #expect(onOwnThread, "worker \(index) ran a call off its thread") }
    }

    @Test("a runaway script on one worker does not stop the others")
    func runawayScriptIsContained() async throws {
        let pool = try LuaPool(size: 2)
        defer { pool.shutdown() }
        async let stuck: Void = pool.workers[0].withVM { vm in
            _ = try? vm.eval("while true do end", limits: LuaLimits(maxInstructions: .max, timeout: .milliseconds(300)))
        }
        let fast = try await pool.workers[1].withVM { vm in try vm.eval("return 'ok'") }
        #expect(fast == [.string("ok")])
        await stuck
        #expect(try await pool.workers[0].withVM { vm in try vm.eval("return 2") } == [.integer(2)])
    }

    final class Flag: Sendable {
        let raised = Atomic<Bool>(false)
    }

    @Test("calls go to the idle worker, not in turn to one that is busy", .timeLimit(.minutes(1)))
    func callsGoToTheIdleWorker() async throws {
        let pool = try LuaPool(size: 2)
        defer { pool.shutdown() }
        // A long call holds one worker's thread (like a long parse) until the test is done.
        let done = Flag()
        let started = AsyncStream<Void>.makeStream()
        let long = Task {
            try await pool.withVM { _ in
                started.continuation.yield()
                while !done.raised.load(ordering: .acquiring) { usleep(200) }
            }
        }
        var startedIterator = started.stream.makeAsyncIterator()
        _ = await startedIterator.next()
        #expect(pool.queued.sorted() == [0, 1])
        let busy = pool.queued.firstIndex(of: 1)!
        // Calls in a row all go to the free worker; in turn, every other one would wait forever.
        for _ in 0..<3 {
            let ranOn = try await pool.withVM { _ in pool.workers.firstIndex { $0.isOnWorkerThread }! }
            #expect(ranOn != busy)
        }
        done.raised.store(true, ordering: .releasing)
        try await long.value
        #expect(pool.queued == [0, 0])
    }
}
