import GRDB
import RastroCore

extension Store {
    /// One shipment of a bulk import, with the history it already has.
    public struct ImportedShipment: Sendable {
        public var shipment: NewShipment
        /// Events known from elsewhere (the previous platform), newest first.
        public var events: [TrackingEvent]
        /// When to poll it first (nil: at once).
        public var nextPollAt: Timestamp?
        public init(shipment: NewShipment, events: [TrackingEvent] = [], nextPollAt: Timestamp? = nil) {
            self.shipment = shipment
            self.events = events
            self.nextPollAt = nextPollAt
        }
    }

    /// Registers many shipments in one transaction — moving from another platform,
    /// or filling a benchmark's store. Numbers the merchant has already registered
    /// are skipped; no notification is written (these customers were told already).
    /// Returns how many were added.
    public func importShipments(_ list: [ImportedShipment], merchantId: Int64, now: Timestamp) throws -> Int {
        try write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO shipment (merchant_id, carrier, tracking_number, order_id, invoice_number, customer_email, customer_name,
                    customer_locale, marketplace_endpoint, dispatched_at, created_at, status, status_changed_at, next_poll_at, poll_failures)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 0)
                """)
            var added = 0
            for item in list {
                let s = item.shipment
                try insert.execute(arguments: [merchantId, s.carrier, s.trackingNumber, s.orderId, s.invoiceNumber, s.customerEmail, s.customerName,
                                               s.customerLocale, s.marketplaceEndpoint, s.dispatchedAt ?? now, now, now, item.nextPollAt ?? now])
                guard db.changesCount > 0 else { continue }
                added += 1
                guard !item.events.isEmpty else { continue }
                var shipment = try Shipment.fetchOne(db, key: db.lastInsertedRowID)!
                let merge = try Self.mergeEvents(item.events, into: &shipment, carrier: s.carrier, source: .manual, pollId: nil, now: now, db: db)
                shipment.statusChangedAt = now
                try shipment.updateRow(db, lastEventAt: merge.added.isEmpty ? nil : now)
            }
            return added
        }
    }
}

extension Store {
    /// Row counts of the busiest tables (benchmarks, `rastro status --json` someday).
    public func tableCounts() throws -> (shipments: Int, events: Int, polls: Int, outbox: Int) {
        try read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM shipment") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM event") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM poll") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox") ?? 0)
        }
    }

    /// Folds the WAL into the database file (so its size is the data's).
    public func checkpoint() throws {
        // Outside a transaction: SQLite refuses a checkpoint inside one ("table is locked").
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
