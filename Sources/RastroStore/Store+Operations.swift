import GRDB
import RastroCore

extension Store {
    /// Per carrier: active and due shipments, the oldest due poll and the last
    /// successful poll; per notification kind: pending, failed and the oldest due.
    ///
    /// One read transaction, cheap enough to run every few seconds: the shipment
    /// counts walk the partial `shipment_due` index (active shipments only), the
    /// last successful poll walks `poll_carrier_time` backwards to the newest `ok`.
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
            let rows = try Row.fetchAll(db, sql: """
                SELECT kind, status, count(*) AS n, min(CASE WHEN status = 'pending' AND next_attempt_at <= :now THEN next_attempt_at END) AS oldest_due
                FROM outbox WHERE status IN ('pending', 'failed') GROUP BY kind, status
                """, arguments: ["now": now])
            for row in rows {
                guard let kind = OutboxRecord.Kind(rawValue: row["kind"]), let index = outbox.firstIndex(where: { $0.kind == kind }) else { continue }
                if row["status"] as String == "pending" {
                    outbox[index].pending = row["n"]
                    outbox[index].oldestDue = row["oldest_due"]
                } else {
                    outbox[index].failed = row["n"]
                }
            }
            return OperationalSnapshot(takenAt: now, carriers: byId.values.sorted { $0.id < $1.id }, outbox: outbox)
        }
    }
}
