import GRDB
import RastroCore

// The writes of every poll and push as cached statements with positional
// arguments. GRDB's record methods build a persistence container, look the
// table's columns up and compile through the authorizer on each call; for the
// rows written per shipment per poll that was a tenth of the profile.
// `ON CONFLICT DO NOTHING`, not `OR IGNORE`: only the duplicate is skipped; a row
// that breaks NOT NULL or CHECK is an error, not silently dropped.

extension EventRecord {
    /// A stored event with what the merge needs: its row id (ties) and identity (dedupe).
    struct Stored: Sendable {
        var id: Int64
        var identity: String
        var event: TrackingEvent
    }

    /// A shipment's stored events, in no particular order.
    static func storedEvents(shipmentId: Int64, db: Database) throws -> [Stored] {
        try storedEvents(db, "WHERE shipment_id = ?") { $0.bind(shipmentId) }.map(\.stored)
    }

    /// The stored events of several shipments (a poll's batch) in one statement, by shipment.
    static func storedEvents(shipmentIds: [Int64], db: Database) throws -> [Int64: [Stored]] {
        guard !shipmentIds.isEmpty else { return [:] }
        let rows = try storedEvents(db, "WHERE shipment_id IN (\(Array(repeating: "?", count: shipmentIds.count).joined(separator: ",")))") { s in
            for id in shipmentIds { s.bind(id) }
        }
        var out: [Int64: [Stored]] = [:]
        for (shipmentId, stored) in rows { out[shipmentId, default: []].append(stored) }
        return out
    }

    private static func storedEvents(_ db: Database, _ clause: String, bind: (inout RawStatement) -> Void) throws -> [(shipmentId: Int64, stored: Stored)] {
        var statement = try RawStatement(db.cachedStatement(sql: """
            SELECT id, identity, occurred_at, zone, status, code, subcode, description, facility, city, district, state,
                   country, postal_code, destination, retracts_previous, shipment_id
            FROM event
            """ + " " + clause))
        bind(&statement)
        var out: [(shipmentId: Int64, stored: Stored)] = []
        try statement.forEachRow { row in
            let location = EventLocation(facility: row[8], city: row[9], district: row[10], state: row[11], country: row[12], postalCode: row[13])
            let event = TrackingEvent(occurredAt: row[2], zone: row[3], status: row[4], code: row[5], subcode: row[6], description: row[7],
                                      location: location.isEmpty ? nil : location,
                                      destination: (row[14] as String?).flatMap(EventLocation.init(columnJSON:)),
                                      retractsPrevious: row[15])
            out.append((row[16], Stored(id: row[0], identity: row[1], event: event)))
        }
        return out
    }

    /// Inserts the event unless the shipment has one with its identity; the new row id, or nil.
    func insertIgnoringDuplicate(_ db: Database) throws -> Int64? {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO event (shipment_id, identity, occurred_at, zone, status, code, subcode, description, facility, city,
                district, state, country, postal_code, destination, retracts_previous, source, poll_id, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """)
        var s = RawStatement(statement)
        s.bind(shipmentId); s.bind(identity); s.bind(occurredAt); s.bind(zone); s.bind(status); s.bind(code); s.bind(subcode)
        s.bind(description); s.bind(facility); s.bind(city); s.bind(district); s.bind(state); s.bind(country); s.bind(postalCode)
        s.bind(destination); s.bind(retractsPrevious); s.bind(source); s.bind(pollId); s.bind(recordedAt)
        try s.execute()
        return db.changesCount > 0 ? db.lastInsertedRowID : nil
    }
}

extension Shipment {
    /// Writes an existing shipment's columns: all of them, or, given the row as it is
    /// stored (`old`, read in the same transaction), only those that differ from it.
    /// SQLite rewrites the entries of every index on a column named in SET, changed or
    /// not, and a shipment has five: a push that only adds an event changes no indexed
    /// column. `lastEventAt` moves `last_event_at` when events were added.
    func updateRow(_ db: Database, from old: Shipment? = nil, lastEventAt: Timestamp? = nil) throws {
        let changed = Self.columns.filter { column in old.map { column.differs(self, $0) } ?? true }
        guard !changed.isEmpty || lastEventAt != nil else { return }
        var sets = changed.map { $0.name + " = ?" }
        if lastEventAt != nil { sets.append("last_event_at = ?") }
        var statement = try RawStatement(db.cachedStatement(sql: "UPDATE shipment SET " + sets.joined(separator: ", ") + " WHERE id = ?"))
        for column in changed { column.bind(self, &statement) }
        if let lastEventAt { statement.bind(lastEventAt) }
        statement.bind(id)
        try statement.execute()
    }

    private struct Column: Sendable {
        let name: String
        let differs: @Sendable (Shipment, Shipment) -> Bool
        let bind: @Sendable (Shipment, inout RawStatement) -> Void

        init<T: RawBindable & Equatable & SendableMetatype>(_ name: String, _ value: @escaping @Sendable (Shipment) -> T) {
            self.name = name
            differs = { value($0) != value($1) }
            bind = { shipment, statement in statement.bind(value(shipment)) }
        }
    }

    /// Every column but `id` and `last_event_at` (see `updateRow`).
    private static let columns: [Column] = [
        Column("merchant_id") { $0.merchantId }, Column("carrier") { $0.carrier }, Column("tracking_number") { $0.trackingNumber },
        Column("order_id") { $0.orderId }, Column("invoice_number") { $0.invoiceNumber }, Column("customer_email") { $0.customerEmail },
        Column("customer_name") { $0.customerName }, Column("customer_locale") { $0.customerLocale },
        Column("marketplace_endpoint") { $0.marketplaceEndpoint }, Column("dispatched_at") { $0.dispatchedAt },
        Column("created_at") { $0.createdAt }, Column("status") { $0.status }, Column("status_changed_at") { $0.statusChangedAt },
        Column("estimated_delivery") { $0.estimatedDelivery }, Column("delivered_at") { $0.deliveredAt },
        Column("expiry_reason") { $0.expiryReason }, Column("cancelled_at") { $0.cancelledAt }, Column("next_poll_at") { $0.nextPollAt },
        Column("lease_owner") { $0.leaseOwner }, Column("poll_failures") { $0.pollFailures }, Column("last_polled_at") { $0.lastPolledAt },
        Column("last_outcome") { $0.lastOutcome }, Column("poll_requested_at") { $0.pollRequestedAt },
    ]
}

extension OutboxRecord {
    /// Inserts the row unless its dedupe key exists; whether it was inserted.
    func insertIgnoringDuplicate(_ db: Database) throws -> Bool {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO outbox (message_id, dedupe_key, merchant_id, shipment_id, kind, template, recipient, locale, endpoint,
                event, payload, status, attempts, next_attempt_at, lease_owner, last_error, created_at, sent_at, failed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """)
        var s = RawStatement(statement)
        s.bind(messageId); s.bind(dedupeKey); s.bind(merchantId); s.bind(shipmentId); s.bind(kind); s.bind(template); s.bind(recipient)
        s.bind(locale); s.bind(endpoint); s.bind(event); s.bind(payload); s.bind(status); s.bind(attempts); s.bind(nextAttemptAt)
        s.bind(leaseOwner); s.bind(lastError); s.bind(createdAt); s.bind(sentAt); s.bind(failedAt)
        try s.execute()
        return db.changesCount > 0
    }
}
