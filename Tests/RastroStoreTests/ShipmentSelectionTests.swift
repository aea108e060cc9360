import GRDB
import Testing
@testable import RastroStore
import RastroCore

/// Shipments read by position (`Shipment.selection`) must be the shipments read by name.
@Suite("Shipment reads by position")
struct ShipmentSelectionTests {
    /// A shipment with every column set to a distinct value, so a swapped column shows.
    func everyColumnSet(_ db: TemporaryStore) throws -> Shipment {
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        let s = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1"), merchantId: m.id!, now: t0)
        try db.store.pool.write { db in
            try db.execute(sql: """
                UPDATE shipment SET order_id = 'o', invoice_number = 'nf', customer_email = 'c@example.com', customer_name = 'Ana',
                    customer_locale = 'pt-BR', marketplace_endpoint = 'marketplace', status = 'in_transit', status_changed_at = ?,
                    estimated_delivery = ?, delivered_at = ?, expiry_reason = 'window', cancelled_at = ?, next_poll_at = ?,
                    lease_owner = 'p', poll_failures = 3, last_polled_at = ?, last_outcome = 'unchanged', poll_requested_at = ?
                WHERE id = ?
                """, arguments: [at(1), at(2), at(3), at(4), at(5), at(6), at(7), s.id!])
        }
        return s
    }

    @Test func aShipmentReadByPositionEqualsTheOneReadByName() throws {
        let db = try TemporaryStore()
        let s = try everyColumnSet(db)
        let (byName, byPosition) = try db.store.pool.read { db in
            (try Shipment.fetchOne(db, sql: "SELECT * FROM shipment WHERE id = ?", arguments: [s.id!]),
             try Shipment.fetchSelected(db, "WHERE id = ?") { $0.bind(s.id!) }.first)
        }
        #expect(byName != nil && byPosition == byName)
        #expect(byPosition?.pollRequestedAt == at(7) && byPosition?.customerLocale == "pt-BR")
    }

    @Test func aBatchIsReadInOneStatementByIdAndMissingIdsAreLeftOut() throws {
        let db = try TemporaryStore()
        let s = try everyColumnSet(db)
        let byId = try db.store.pool.read { db in try Shipment.fetchSelected(db, ids: [s.id!, 999]) }
        #expect(Array(byId.keys) == [s.id!])
        #expect(try db.store.pool.read { db in try Shipment.fetchSelected(db, ids: []) }.isEmpty)
    }

    @Test func aShipmentWrittenByPositionReadsBackEqualByName() throws {
        let db = try TemporaryStore()
        var s = try everyColumnSet(db)
        s = try #require(try db.store.pool.read { db in try Shipment.fetchOne(db, key: s.id!) })
        s.customerName = "Zoë ✓"
        s.customerEmail = ""
        s.status = .delivered
        s.deliveredAt = at(9)
        s.leaseOwner = nil
        s.pollFailures = 0
        try db.store.pool.write { db in try s.updateRow(db, lastEventAt: at(10)) }
        let back = try db.store.pool.read { db in try Shipment.fetchOne(db, key: s.id!) }
        #expect(back == s)
    }

    @Test func anUpdateFromTheStoredRowWritesOnlyTheColumnsThatDiffer() throws {
        let db = try TemporaryStore()
        let stored = try everyColumnSet(db)
        let old = try #require(try db.store.pool.read { db in try Shipment.fetchOne(db, key: stored.id!) })
        var new = old
        new.status = .delivered
        new.deliveredAt = at(9)
        try db.store.pool.write { db in
            // Changed behind `old`'s back: an update of only what differs from `old` leaves it.
            try db.execute(sql: "UPDATE shipment SET customer_name = 'Bia' WHERE id = ?", arguments: [old.id!])
            try new.updateRow(db, from: old, lastEventAt: at(10))
            let before = db.totalChangesCount
            try new.updateRow(db, from: new)
            #expect(db.totalChangesCount == before, "nothing differs, nothing is written")
        }
        let back = try #require(try db.store.pool.read { db in try Shipment.fetchOne(db, key: old.id!) })
        #expect(back.status == .delivered && back.deliveredAt == at(9) && back.customerName == "Bia")
        #expect(try db.store.pool.read { db in try Timestamp.fetchOne(db, sql: "SELECT last_event_at FROM shipment WHERE id = ?", arguments: [old.id!]) } == at(10))
    }
}
