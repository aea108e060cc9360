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
        try storedEvents(db, "WHERE shipment_id = ?", arguments: [shipmentId]).map(\.stored)
    }

    /// The stored events of several shipments (a poll's batch) in one statement, by shipment.
    static func storedEvents(shipmentIds: [Int64], db: Database) throws -> [Int64: [Stored]] {
        guard !shipmentIds.isEmpty else { return [:] }
        let rows = try storedEvents(db, "WHERE shipment_id IN (\(Array(repeating: "?", count: shipmentIds.count).joined(separator: ",")))",
                                    arguments: StatementArguments(shipmentIds))
        var out: [Int64: [Stored]] = [:]
        for (shipmentId, stored) in rows { out[shipmentId, default: []].append(stored) }
        return out
    }

    private static func storedEvents(_ db: Database, _ clause: String, arguments: StatementArguments) throws -> [(shipmentId: Int64, stored: Stored)] {
        let statement = try db.cachedStatement(sql: """
            SELECT id, identity, occurred_at, zone, status, code, subcode, description, facility, city, district, state,
                   country, postal_code, destination, retracts_previous, shipment_id
            FROM event
            """ + " " + clause)
        var out: [(shipmentId: Int64, stored: Stored)] = []
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() {
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
        let values: [(any DatabaseValueConvertible)?] = [
            shipmentId, identity, occurredAt, zone, status, code, subcode, description, facility, city,
            district, state, country, postalCode, destination, retractsPrevious, source, pollId, recordedAt,
        ]
        try statement.execute(arguments: StatementArguments(values))
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
        let values: [(any DatabaseValueConvertible)?] = [
            merchantId, carrier, trackingNumber, orderId, invoiceNumber, customerEmail,
            customerName, customerLocale, marketplaceEndpoint, dispatchedAt, createdAt, status,
            statusChangedAt, estimatedDelivery, deliveredAt, expiryReason, cancelledAt, nextPollAt,
            leaseOwner, pollFailures, lastPolledAt, lastOutcome, pollRequestedAt,
            lastEventAt, id,
        ]
        try statement.execute(arguments: StatementArguments(values))
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
        let values: [(any DatabaseValueConvertible)?] = [
            messageId, dedupeKey, merchantId, shipmentId, kind, template, recipient, locale, endpoint,
            event, payload, status, attempts, nextAttemptAt, leaseOwner, lastError, createdAt, sentAt, failedAt,
        ]
        try statement.execute(arguments: StatementArguments(values))
        return db.changesCount > 0
    }
}
