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
    /// Writes every column of an existing shipment (what `update(db)` does, as one cached statement).
    /// `lastEventAt` moves `last_event_at` when events were added.
    func updateRow(_ db: Database, lastEventAt: Timestamp? = nil) throws {
        let statement = try db.cachedStatement(sql: """
            UPDATE shipment SET merchant_id = ?, carrier = ?, tracking_number = ?, order_id = ?, invoice_number = ?, customer_email = ?,
                customer_name = ?, customer_locale = ?, marketplace_endpoint = ?, dispatched_at = ?, created_at = ?, status = ?,
                status_changed_at = ?, estimated_delivery = ?, delivered_at = ?, expiry_reason = ?, cancelled_at = ?, next_poll_at = ?,
                lease_owner = ?, poll_failures = ?, last_polled_at = ?, last_outcome = ?, poll_requested_at = ?,
                last_event_at = coalesce(?, last_event_at)
            WHERE id = ?
            """)
        var s = RawStatement(statement)
        s.bind(merchantId); s.bind(carrier); s.bind(trackingNumber); s.bind(orderId); s.bind(invoiceNumber); s.bind(customerEmail)
        s.bind(customerName); s.bind(customerLocale); s.bind(marketplaceEndpoint); s.bind(dispatchedAt); s.bind(createdAt); s.bind(status)
        s.bind(statusChangedAt); s.bind(estimatedDelivery); s.bind(deliveredAt); s.bind(expiryReason); s.bind(cancelledAt); s.bind(nextPollAt)
        s.bind(leaseOwner); s.bind(pollFailures); s.bind(lastPolledAt); s.bind(lastOutcome); s.bind(pollRequestedAt)
        s.bind(lastEventAt); s.bind(id)
        try s.execute()
    }
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
