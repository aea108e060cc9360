import Foundation
import GRDB
import Synchronization
import Testing
@testable import RastroStore

@Suite("Group read")
struct GroupReadTests {
    /// A group read over an in-memory database that counts how often a reader is taken.
    final class Counted: Sendable {
        let database = try! memoryDatabase()
        let taken = Atomic<Int>(0)
        func group(width: Int, failWith failure: (any Error & Sendable)? = nil) -> GroupRead {
            GroupRead(readers: (0..<width).map { _ in
                { [self] body in
                    taken.add(1, ordering: .relaxed)
                    if let failure { throw failure }
                    try database.inDatabase { try body($0) }
                }
            })
        }
    }

    struct NoReader: Error, Equatable {}
    struct Refused: Error, Equatable {}

    /// One started read on the only drain; what queues behind it shares the next reader.
    @Test(.timeLimit(.minutes(1))) func readsQueuedBehindABusyDrainShareOneReaderAndEachGetsItsAnswer() async throws {
        let counted = Counted()
        let reads = counted.group(width: 1)
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        async let first: Int = reads.read { db in
            started.signal()
            gate.wait()
            return try Int.fetchOne(db, sql: "SELECT 1")!
        }
        await Task.detached { started.wait() }.value
        let rest = Task {
            try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for i in 2...11 { group.addTask { (i, try await reads.read { db in try Int.fetchOne(db, sql: "SELECT ?", arguments: [i])! }) } }
                return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
            }
        }
        while reads.waiting < 10 { await Task.yield() }  // all ten queued behind the first
        gate.signal()
        #expect(try await first == 1)
        let answers = try await rest.value
        #expect(answers == Dictionary(uniqueKeysWithValues: (2...11).map { ($0, $0) }))
        #expect(counted.taken.load(ordering: .relaxed) == 2, "the ten queued reads share the next reader")
    }

    @Test func aReadThatThrowsFailsAloneAndTheOthersAnswer() async throws {
        let reads = Counted().group(width: 2)
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    do {
                        let value = try await reads.read { db -> Int in
                            if i % 5 == 0 { throw Refused() }
                            return try Int.fetchOne(db, sql: "SELECT ?", arguments: [i])!
                        }
                        #expect(i % 5 != 0 && value == i)
                    } catch {
                        #expect(i % 5 == 0 && error as? Refused == Refused())
                    }
                }
            }
        }
    }

    @Test func whenNoReaderCanBeHadEveryReadGetsWhy() async throws {
        let reads = Counted().group(width: 1, failWith: NoReader())
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    await #expect(throws: NoReader.self) { try await reads.read { _ in 1 } }
                }
            }
        }
    }
}
