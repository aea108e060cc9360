import GRDB
import RastroCore

extension Store {
    /// Per carrier: active and due shipments, the oldest due poll and the last
    /// successful poll; per notification kind: pending, failed and the oldest due.
    ///
    /// One read transaction, meant to run every few seconds: the shipment counts walk
    /// the partial `shipment_due` index (active shipments only), the last successful
    /// poll walks `poll_carrier_time` backwards to the newest `ok`, pending
    /// notifications come from `outbox_due`.
    /// `carriers` are included even with no active shipment (every loaded carrier, say).
    public func operationalSnapshot(now: Timestamp, carriers: [String] = []) throws -> OperationalSnapshot {
        try read { db in
            var byId: [String: OperationalSnapshot.Carrier] = [:]
            for id in carriers { byId[id] = .init(id: id) }
            let shipments = try Row.fetchAll(db, sql: """
                SELECT carrier, count(*) AS active, count(CASE WHEN next_poll_at <= :now THEN 1 END) AS due,
                       min(CASE WHEN next_poll_at <= :now THEN next_poll_at END) AS oldest_due
                FROM shipment WHERE next_poll_at IS NOT NULL GROUP BY carrier
                """, arguments: ["now": now])
            for row in shipments {
                let id: String = row["carrier"]
                byId[id] = .init(id: id, activeShipments: row["active"], dueShipments: row["due"], oldestDue: row["oldest_due"])
            }
            for id in byId.keys {
                byId[id]?.lastSuccessfulPoll = try Timestamp.fetchOne(db, sql: """
                    SELECT finished_at FROM poll WHERE carrier = ? AND outcome = 'ok' ORDER BY started_at DESC LIMIT 1
                    """, arguments: [id])
            }
            var outbox = [OutboxRecord.Kind.email, .webhook].map { OperationalSnapshot.Outbox(kind: $0) }
            // Pending rows come from the partial index `outbox_due`; failed rows have no index yet, so
            // counting them scans the outbox (a partial index on status = 'failed' would make it cheap).
            let pending = try Row.fetchAll(db, sql: """
                SELECT kind, count(*) AS n, min(CASE WHEN next_attempt_at <= :now THEN next_attempt_at END) AS oldest_due
                FROM outbox WHERE status = 'pending' GROUP BY kind
                """, arguments: ["now": now])
            let failed = try Row.fetchAll(db, sql: "SELECT kind, count(*) AS n FROM outbox WHERE status = 'failed' GROUP BY kind")
            for row in pending {
                guard let index = outbox.firstIndex(where: { $0.kind.rawValue == row["kind"] as String }) else { continue }
                outbox[index].pending = row["n"]
                outbox[index].oldestDue = row["oldest_due"]
            }
            for row in failed {
                guard let index = outbox.firstIndex(where: { $0.kind.rawValue == row["kind"] as String }) else { continue }
                outbox[index].failed = row["n"]
            }
            return OperationalSnapshot(takenAt: now, carriers: byId.values.sorted { $0.id < $1.id }, outbox: outbox)
        }
    }
}
