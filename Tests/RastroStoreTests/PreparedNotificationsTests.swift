import Foundation
import Synchronization
import Testing
@testable import RastroStore
import RastroCore

/// Rules run ahead of the writer (`prepareNotifications`); the writer uses their
/// answer only for the very change they saw.
@Suite("Notifications prepared off the writer")
struct PreparedNotificationsTests {
    /// A notifier that counts its calls and names each intent after the change it saw.
    final class CountingNotifier: Sendable {
        let calls = Mutex(0)
        var notify: ChangeNotifier {
            { [self] change in
                calls.withLock { $0 += 1 }
                return [OutboxIntent(kind: .email, template: "t", recipient: "c@example.com", payload: "\"\(change.from.rawValue)>\(change.to.rawValue)\"",
                                     key: "email:t")]
            }
        }
    }

    func report(_ id: Int64, _ events: [TrackingEvent]) -> PollReport {
        PollReport(carrier: "x", scriptVersion: "v1", owner: "p", startedAt: t0, durationMs: 1, response: nil, outcome: "ok", error: nil,
                   items: [(shipmentId: id, trackingNumber: "N1", outcome: .tracked(TrackingResult(status: .inTransit, events: events)))])
    }

    /// A store with one shipment, claimed by poller "p".
    func claimedShipment() throws -> (TemporaryStore, Merchant, Shipment) {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        _ = try db.store.claimDue(carrier: "x", limit: 1, owner: "p", leaseUntil: at(5), now: t0)
        return (db, m, s)
    }

    let decide: @Sendable (Shipment, PollPolicy.Outcome) -> PollPolicy.Decision = { _, _ in .pollAt(at(360)) }

    @Test func thePreparedAnswerIsWrittenAndTheWriterDoesNotRunTheRules() async throws {
        let (db, m, s) = try claimedShipment()
        let ahead = CountingNotifier(), inline = CountingNotifier()
        let poll = report(s.id!, [event(10, .inTransit, "RO")])
        let prepared = try await db.store.prepareNotifications(for: poll, now: at(1), decide: decide, notify: ahead.notify)
        let recording = try await db.store.recordPoll(poll, now: at(1), decide: decide, notify: inline.notify, prepared: prepared)
        #expect(ahead.calls.withLock { $0 } == 1 && inline.calls.withLock { $0 } == 0)
        #expect(recording.notifications == 1)
        #expect(try db.store.outbox(merchantId: m.id!).map(\.payload) == ["\"pending>in_transit\""])
    }

    @Test func aShipmentThatMovedAfterPreparationIsNotifiedForWhatReallyHappened() async throws {
        let (db, m, s) = try claimedShipment()
        let ahead = CountingNotifier(), inline = CountingNotifier()
        let poll = report(s.id!, [event(20, .outForDelivery, "OEC"), event(10, .inTransit, "RO")])
        let prepared = try await db.store.prepareNotifications(for: poll, now: at(1), decide: decide, notify: ahead.notify)
        // An ERP pushes the first scan between the preparation and the write.
        _ = try await db.store.recordEvents([event(10, .inTransit, "RO")], shipmentId: s.id!, merchantId: m.id!, source: .push, now: at(1))
        _ = try await db.store.recordPoll(poll, now: at(1), decide: decide, notify: inline.notify, prepared: prepared)
        #expect(inline.calls.withLock { $0 } == 1)
        #expect(try db.store.outbox(merchantId: m.id!).map(\.payload) == ["\"in_transit>out_for_delivery\""])
        #expect(try db.store.events(shipmentId: s.id!).map(\.code) == ["RO", "OEC"])
    }

    @Test func aPreparationMadeForAnotherMomentIsNotTakenForThisOne() async throws {
        let (db, m, s) = try claimedShipment()
        let ahead = CountingNotifier(), inline = CountingNotifier()
        let poll = report(s.id!, [event(10, .inTransit, "RO")])
        let prepared = try await db.store.prepareNotifications(for: poll, now: at(1), decide: decide, notify: ahead.notify)
        let recording = try await db.store.recordPoll(poll, now: at(2), decide: decide, notify: inline.notify, prepared: prepared)
        #expect(inline.calls.withLock { $0 } == 1)
        #expect(recording.changes.first?.shipment.statusChangedAt == at(2))
        #expect(try db.store.shipment(id: s.id!, merchantId: m.id!)?.lastPolledAt == at(2))
    }

    @Test func aPushWorkedOutAheadIsWrittenWithoutRunningTheRulesAgain() async throws {
        let (db, m, s) = try claimedShipment()
        let ahead = CountingNotifier(), inline = CountingNotifier()
        let push = [event(10, .inTransit, "RO")]
        let prepared = try await db.store.preparePush(push, for: .id(s.id!), merchantId: m.id!, now: at(1), notify: ahead.notify)
        _ = try await db.store.recordEvents(push, for: .id(s.id!), merchantId: m.id!, source: .push, now: at(1), notify: inline.notify, prepared: prepared)
        #expect(ahead.calls.withLock { $0 } == 1 && inline.calls.withLock { $0 } == 0)
        #expect(try db.store.outbox(merchantId: m.id!).map(\.payload) == ["\"pending>in_transit\""])
    }

    @Test func aPushOvertakenByAnotherBetweenReaderAndWriterIsWorkedOutAgain() async throws {
        let (db, m, s) = try claimedShipment()
        let ahead = CountingNotifier(), inline = CountingNotifier()
        let first = [event(10, .inTransit, "RO")]
        let prepared = try await db.store.preparePush(first, for: .id(s.id!), merchantId: m.id!, now: at(1), notify: ahead.notify)
        // A newer scan lands between the first push's reader and its writer.
        _ = try await db.store.recordEvents([event(20, .outForDelivery, "OEC")], shipmentId: s.id!, merchantId: m.id!, source: .push, now: at(1),
                                            notify: inline.notify)
        let recorded = try await db.store.recordEvents(first, for: .id(s.id!), merchantId: m.id!, source: .push, now: at(1),
                                                       notify: inline.notify, prepared: prepared)
        // The older scan is stored, the status stays where the newer one put it, and the
        // answer prepared for "pending → in transit" is not what the customer is told.
        #expect(recorded?.shipment.status == .outForDelivery)
        #expect(try db.store.events(shipmentId: s.id!).map(\.code).sorted() == ["OEC", "RO"])
        #expect(inline.calls.withLock { $0 } == 2)
        #expect(!(try db.store.outbox(merchantId: m.id!).map(\.payload).contains("\"pending>in_transit\"")))
    }

    @Test func aPushForAnotherMerchantsOrderFindsNothing() async throws {
        let (db, _, s) = try claimedShipment()
        let other = try db.store.ensureMerchant(name: "other", now: t0)
        let recorded = try await db.store.recordEvents([event(10, .inTransit, "RO")], for: .id(s.id!), merchantId: other.id!, source: .push,
                                                       now: at(1))
        #expect(recorded == nil)
        #expect(try db.store.events(shipmentId: s.id!).isEmpty)
    }
}
