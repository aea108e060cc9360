import Foundation
import Testing
import RastroCore
@testable import RastroStore

@Suite("Operational snapshot")
struct OperationalSnapshotTests {
    let db: TemporaryStore
    let merchantId: Int64

    init() throws {
        db = try TemporaryStore()
        merchantId = try db.store.ensureMerchant(name: "m", now: t0).id!
    }

    func register(_ carrier: String, _ number: String, at time: Timestamp) throws -> Shipment {
        try db.store.registerShipment(NewShipment(carrier: carrier, trackingNumber: number), merchantId: merchantId, now: time)
    }

    func okReport(_ shipment: Shipment, owner: String, notify events: [TrackingEvent]) -> PollReport {
        PollReport(carrier: shipment.carrier, scriptVersion: "v1", owner: owner, startedAt: at(1), durationMs: 5, response: nil,
                   outcome: "ok", error: nil,
                   items: [(shipmentId: shipment.id!, trackingNumber: shipment.trackingNumber,
                            outcome: .tracked(TrackingResult(status: .inTransit, events: events)))])
    }

    @Test func countsActiveAndDueShipmentsPerCarrierAndTheOldestDuePoll() throws {
        _ = try register("x", "X1", at: t0)
        _ = try register("x", "X2", at: at(2))
        _ = try register("x", "X3", at: at(3))
        _ = try register("y", "Y1", at: at(10))
        let cancelled = try register("y", "Y2", at: t0)
        _ = try db.store.cancelShipment(id: cancelled.id!, merchantId: merchantId, now: at(1))
        // X1 is being polled: its lease holds it, so it is active but not due.
        let claimed = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(20), now: at(4))
        #expect(claimed.map(\.trackingNumber) == ["X1"])

        let snapshot = try db.store.operationalSnapshot(now: at(5), carriers: ["z"])
        #expect(snapshot.carriers.map(\.id) == ["x", "y", "z"])
        let x = try #require(snapshot[carrier: "x"])
        #expect(x.activeShipments == 3 && x.dueShipments == 2)
        #expect(x.oldestDue == at(2))
        #expect(snapshot.queueLag(x) == .seconds(180))
        let y = try #require(snapshot[carrier: "y"])
        #expect(y.activeShipments == 1 && y.dueShipments == 0 && y.oldestDue == nil)
        #expect(snapshot.queueLag(y) == .zero)
        #expect(snapshot[carrier: "z"] == OperationalSnapshot.Carrier(id: "z"))
    }

    @Test func theLastSuccessfulPollIsTheNewestOkPollOfThatCarrier() async throws {
        let s = try register("x", "X1", at: t0)
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(5), now: t0)
        _ = try await db.store.recordPoll(okReport(s, owner: "p", notify: []), now: at(1)) { _, _ in .pollAt(at(2)) }
        var failed = okReport(s, owner: "p", notify: [])
        failed.outcome = "temporary"
        failed.items = [(shipmentId: s.id!, trackingNumber: "X1", outcome: .failed(CarrierFailure(kind: .temporary)))]
        failed.startedAt = at(3)
        _ = try await db.store.recordPoll(failed, now: at(4)) { _, _ in .pollAt(at(6)) }

        let snapshot = try db.store.operationalSnapshot(now: at(5))
        #expect(snapshot[carrier: "x"]?.lastSuccessfulPoll == at(1))
        #expect(try db.store.operationalSnapshot(now: at(5), carriers: ["never"])[carrier: "never"]?.lastSuccessfulPoll == nil)
    }

    @Test func theOutboxIsCountedPerKindWithItsOldestDueNotification() async throws {
        let s = try register("x", "X1", at: t0)
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(5), now: t0)
        let intents = ["a", "b", "c"].map { OutboxIntent(kind: .email, template: "t", recipient: "c@example.com", payload: "{}", key: $0) }
        _ = try await db.store.recordPoll(okReport(s, owner: "p", notify: [event(0, .inTransit, "RO")]), now: at(1),
                                    decide: { _, _ in .pollAt(at(60)) }, notify: { _ in intents })
        // One gives up, one is sent; one waits.
        let claimed = try await db.store.claimDueOutbox(limit: 2, owner: "d", leaseUntil: at(10), now: at(2))
        try await db.store.recordDelivery(outboxId: claimed[0].id!, owner: "d", result: .failed(error: "550"), durationMs: 1, now: at(2))
        try await db.store.recordDelivery(outboxId: claimed[1].id!, owner: "d", result: .sent, durationMs: 1, now: at(2))

        let snapshot = try db.store.operationalSnapshot(now: at(5))
        let email = try #require(snapshot[outbox: .email])
        #expect(email.pending == 1 && email.failed == 1 && email.oldestDue == at(1))
        #expect(snapshot.outboxLag(email) == .seconds(240))
        #expect(snapshot[outbox: .webhook] == OperationalSnapshot.Outbox(kind: .webhook))
    }
}

@Suite("Schema versions")
struct SchemaVersionTests {
    @Test func aDatabaseUpgradedByANewerRastroIsRefusedInsteadOfUsed() throws {
        let db = try TemporaryStore()
        try db.store.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99 from the future')")
        }
        #expect {
            _ = try db.reopen()
        } throws: { error in
            "\(error)".contains("migration 'v99 from the future' is unknown to this version")
                && "\(error)".contains("restore the backup taken before the upgrade")
        }
    }
}
