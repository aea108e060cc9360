import Foundation
import Synchronization
import Testing
@testable import RastroStore
import RastroCore

/// A store in a fresh temporary folder, removed at the end of the test.
final class TemporaryStore {
    let directory: URL
    let store: Store

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-store-\(UUID().uuidString)")
        store = try Store.open(directory: directory)
    }

    func reopen() throws -> Store { try Store.open(directory: directory) }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

let t0 = Timestamp(secondsSinceEpoch: 1_700_000_000)

func at(_ minutes: Int64) -> Timestamp { t0 + .seconds(minutes * 60) }

func event(_ minutes: Int64, _ status: TrackingStatus, _ code: String, city: String? = nil) -> TrackingEvent {
    TrackingEvent(occurredAt: at(minutes), status: status, code: code, description: "event \(code)",
                  location: city.map { EventLocation(city: $0) })
}

@Suite("Store")
struct StoreTests {
    @Test func theWriterRunsWithSynchronousFullInWALModeWithForeignKeys() throws {
        let db = try TemporaryStore()
        #expect(try db.store.writerPragma("synchronous") == "2")  // FULL
        #expect(try db.store.writerPragma("journal_mode") == "wal")
        #expect(try db.store.writerPragma("foreign_keys") == "1")
        // And again after a reopen: the setting is per connection, not stored in the file.
        #expect(try db.reopen().writerPragma("synchronous") == "2")
    }

    @Test func migrationsAreNamedAndAppliedOnce() throws {
        let db = try TemporaryStore()
        let applied = try db.store.appliedMigrations()
        #expect(applied.first?.hasPrefix("v1 ") == true)
        #expect(try db.reopen().appliedMigrations() == applied)
        #expect(try db.store.integrityCheck() == "ok")
    }

    @Test func aShipmentIsDueAtRegistrationAndRegisteringItTwiceIsAConflict() throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "loja", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "correios", trackingNumber: "AA123456785BR"), merchantId: m.id!, now: t0)
        #expect(s.nextPollAt == t0 && s.status == .pending && s.dispatchedAt == t0)
        #expect(throws: StoreError.self) {
            try db.store.registerShipment(NewShipment(carrier: "correios", trackingNumber: "AA123456785BR"), merchantId: m.id!, now: t0)
        }
    }

    @Test func anotherMerchantsShipmentIsInvisible() throws {
        let db = try TemporaryStore()
        let a = try db.store.ensureMerchant(name: "a", now: t0), b = try db.store.ensureMerchant(name: "b", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1", orderId: "o-1"), merchantId: a.id!, now: t0)
        #expect(try db.store.shipment(id: s.id!, merchantId: b.id!) == nil)
        #expect(try db.store.shipments(trackingNumber: "N1", merchantId: b.id!).isEmpty)
        #expect(try db.store.shipments(merchantId: b.id!, filter: .init(orderId: "o-1")).isEmpty)
        #expect(try db.store.shipments(merchantId: a.id!, filter: .init(orderId: "o-1")).count == 1)
        #expect(throws: StoreError.self) { try db.store.cancelShipment(id: s.id!, merchantId: b.id!, now: t0) }
    }

    @Test func aClaimedShipmentIsInvisibleToOtherPollersUntilItsLeaseEnds() throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        _ = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        let first = try db.store.claimDue(carrier: "x", limit: 10, owner: "p1", leaseUntil: at(5), now: t0)
        #expect(first.count == 1 && first[0].interrupted == false)
        #expect(try db.store.claimDue(carrier: "x", limit: 10, owner: "p2", leaseUntil: at(6), now: at(1)).isEmpty)
        #expect(try db.store.claimDue(carrier: "other", limit: 10, owner: "p2", leaseUntil: at(6), now: at(1)).isEmpty)
        // p1 died: after the lease the shipment is due again, marked as interrupted.
        let retried = try db.store.claimDue(carrier: "x", limit: 10, owner: "p2", leaseUntil: at(10), now: at(5))
        #expect(retried.count == 1 && retried[0].interrupted)
    }

    func report(_ owner: String, _ items: [(Int64, String, CarrierOutcome)], body: String = "{}") -> PollReport {
        PollReport(carrier: "x", scriptVersion: "v1", owner: owner, startedAt: t0, durationMs: 12,
                   response: .init(status: 200, headers: ["content-type": "application/json"], body: Array(body.utf8)),
                   outcome: "ok", error: nil, items: items.map { (shipmentId: $0.0, trackingNumber: $0.1, outcome: $0.2) })
    }

    @Test func theSameEventSeenInTwoPollsIsStoredOnce() async throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        let decide: @Sendable (Shipment, PollPolicy.Outcome) -> PollPolicy.Decision = { _, _ in .pollAt(at(360)) }
        let r1 = TrackingResult(status: .inTransit, events: [event(10, .inTransit, "RO", city: "Curitiba"), event(0, .infoReceived, "PO")])
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(5), now: t0)
        let first = try await db.store.recordPoll(report("p", [(s.id!, "N1", .tracked(r1))]), now: at(1), decide: decide)
        #expect(first.newEvents == 2)
        #expect(first.changes.map { "\($0.from.rawValue)→\($0.to.rawValue)" } == ["pending→in_transit"])
        let r2 = TrackingResult(status: .outForDelivery, events: [event(20, .outForDelivery, "OEC")] + r1.events)
        let second = try await db.store.recordPoll(report("p", [(s.id!, "N1", .tracked(r2))]), now: at(2), decide: decide)
        #expect(second.newEvents == 1)
        #expect(second.changes.first?.newEvents.map(\.code) == ["OEC"])
        let third = try await db.store.recordPoll(report("p", [(s.id!, "N1", .tracked(r2))]), now: at(3), decide: decide)
        #expect(third.newEvents == 0 && third.changes.isEmpty)
        #expect(try db.store.events(shipmentId: s.id!).map(\.code) == ["PO", "RO", "OEC"])
        #expect(try db.store.shipment(id: s.id!, merchantId: m.id!)?.status == .outForDelivery)
    }

    @Test func aPollIsRecordedWithItsCompressedResponseAndTheNextPoll() async throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(5), now: t0)
        let body = String(repeating: "{\"status\":\"in transit\"}", count: 200)
        let delivered = TrackingResult(status: .delivered, events: [event(30, .delivered, "BDE")])
        _ = try await db.store.recordPoll(report("p", [(s.id!, "N1", .tracked(delivered))], body: body), now: at(1)) { shipment, outcome in
            PollPolicy.platformDefault.next(after: outcome, status: shipment.status, dispatchedAt: shipment.dispatchedAt,
                                            consecutiveFailures: shipment.pollFailures, now: at(1), unit: 0.5)
        }
        let stored = try #require(try db.store.shipment(id: s.id!, merchantId: m.id!))
        #expect(stored.status == .delivered && stored.nextPollAt == nil && stored.leaseOwner == nil)
        #expect(stored.deliveredAt == at(30))
        let raw = try #require(try db.store.rawResponses(carrier: "x").first)
        #expect(raw.body.count < body.utf8.count / 5)
        #expect(try raw.inflatedBody() == Array(body.utf8))
        #expect(raw.codes == "N1")
        #expect(try db.store.outcomeCounts(carrier: "x", since: t0) == ["new_events": 1])
    }

    @Test func failuresCountUpAndAnAnswerResetsThem() async throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        let seen = Mutex<[Int]>([])
        for i in 1...3 {
            _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(Int64(i) * 100 + 5), now: at(Int64(i) * 100))
            _ = try await db.store.recordPoll(report("p", [(s.id!, "N1", .failed(CarrierFailure(kind: .temporary)))]), now: at(Int64(i) * 100 + 1)) { shipment, _ in
                seen.withLock { $0.append(shipment.pollFailures) }
                return .pollAt(at(Int64(i + 1) * 100))
            }
        }
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(405), now: at(400))
        _ = try await db.store.recordPoll(report("p", [(s.id!, "N1", .failed(CarrierFailure(kind: .notFound)))]), now: at(401)) { shipment, _ in
            seen.withLock { $0.append(shipment.pollFailures) }
            return .pollAt(at(800))
        }
        #expect(seen.withLock { $0 } == [1, 2, 3, 0])
        #expect(try db.store.outcomeCounts(carrier: "x", since: t0) == ["temporary": 3, "not_found": 1])
    }

    @Test func aStalePollAddsItsEventsButDoesNotRescheduleTheShipment() async throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "old", leaseUntil: at(5), now: t0)
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "new", leaseUntil: at(15), now: at(5))
        let result = TrackingResult(status: .inTransit, events: [event(1, .inTransit, "RO")])
        _ = try await db.store.recordPoll(report("old", [(s.id!, "N1", .tracked(result))]), now: at(6)) { _, _ in .pollAt(at(999)) }
        let stored = try #require(try db.store.shipment(id: s.id!, merchantId: m.id!))
        #expect(stored.nextPollAt == at(15) && stored.leaseOwner == "new" && stored.status == .inTransit)
    }

    @Test func anExpiredShipmentIsPolledNoMore() async throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(5), now: t0)
        let rec = try await db.store.recordPoll(report("p", [(s.id!, "N1", .tracked(TrackingResult(status: .inTransit, events: [event(1, .inTransit, "RO")])))]), now: at(1)) { _, _ in .expire(.windowEnded) }
        #expect(rec.changes.last?.to == .expired)
        let stored = try #require(try db.store.shipment(id: s.id!, merchantId: m.id!))
        #expect(stored.status == .expired && stored.nextPollAt == nil && stored.expiryReason == "window_ended")
        #expect(try db.store.claimDue(carrier: "x", limit: 10, owner: "p", leaseUntil: at(99_999), now: at(99_000)).isEmpty)
    }

    @Test func pollNowIsRefusedDuringTheCooldown() throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        let policy = PollPolicy.platformDefault
        #expect(try db.store.requestPoll(shipmentId: s.id!, merchantId: m.id!, policy: policy, now: at(1)) == .success(at(1)))
        #expect(try db.store.requestPoll(shipmentId: s.id!, merchantId: m.id!, policy: policy, now: at(2)) == .failure(.init(allowedAt: at(6))))
    }

    @Test func concurrentWritersFromTwoConnectionsNeverSeeBusy() async throws {
        let db = try TemporaryStore()
        let other = try db.reopen()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let merchantId = m.id!
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, store) in [db.store, other].enumerated() {
                group.addTask {
                    for i in 0..<300 {
                        let s = try store.registerShipment(NewShipment(carrier: "x", trackingNumber: "W\(n)-\(i)"), merchantId: merchantId, now: t0)
                        _ = try store.claimDue(carrier: "x", limit: 5, owner: "p\(n)", leaseUntil: at(5), now: t0)
                        _ = try store.shipment(id: s.id!, merchantId: merchantId)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try db.store.shipments(merchantId: merchantId, limit: 500).count == 500)
    }
}

@Suite("Group commit")
struct GroupCommitTests {
    @Test func aWriteThatThrowsAfterWritingLeavesNothingAndTheOthersCommit() async throws {
        let db = try TemporaryStore()
        let store = db.store
        let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
            for name in ["a", "b", "c", "d"] {
                group.addTask {
                    do {
                        try await store.groupWrite { db in
                            var merchant = Merchant(name: name, createdAt: t0)
                            try merchant.insert(db)
                            if name == "b" { throw StoreError.invalid("b changed its mind") }
                        }
                        return (name, true)
                    } catch {
                        return (name, "\(error)".contains("b changed its mind") ? false : true)
                    }
                }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes == ["a": true, "b": false, "c": true, "d": true])
        let names = try store.read { db in try String.fetchAll(db, sql: "SELECT name FROM merchant ORDER BY name") }
        #expect(names == ["a", "c", "d"])
        // The savepoint is released either way: a later write works.
        try await store.groupWrite { db in var m = Merchant(name: "e", createdAt: t0); try m.insert(db) }
        #expect(try store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM merchant") } == 4)
    }

    @Test func concurrentPushesCommitTogetherAndAFailingOneFailsAlone() async throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let merchantId = m.id!
        let ids = try (0..<40).map { try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N\($0)"), merchantId: merchantId, now: t0).id! }
        let store = db.store
        let results = await withTaskGroup(of: Bool.self) { group in
            for (i, id) in ids.enumerated() {
                group.addTask {
                    // Every tenth names a shipment that does not exist: it must fail without taking the others down.
                    let target = i % 10 == 9 ? 999_999 : id
                    let e = event(Int64(i), .inTransit, "RO\(i)")
                    return (try? await store.recordEvents([e], shipmentId: target, merchantId: merchantId, source: .push, now: t0)) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 36)
        var stored = 0
        for id in ids { stored += try store.events(shipmentId: id).count }
        #expect(stored == 36)
        #expect(try store.shipments(merchantId: merchantId, filter: .init(status: .inTransit), limit: 100).count == 36)
    }
}
