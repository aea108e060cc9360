import Foundation
import GRDB
import RastroCore

extension Store {
    /// Writes a change's notifications; called inside the transaction that stores the change.
    /// A row whose dedupe key exists already (the same change seen again) is skipped.
    static func insertOutbox(_ intents: [OutboxIntent], changeKey: String, merchantId: Int64, shipmentId: Int64?,
                             now: Timestamp, db: Database) throws -> Int {
        var inserted = 0
        for intent in intents {
            // A webhook goes only to an endpoint the merchant set up (with its secret) and has not been disabled.
            if intent.kind == .webhook {
                guard let name = intent.endpoint,
                      let endpoint = try WebhookEndpoint.fetchOne(db.cachedStatement(sql: "SELECT * FROM webhook_endpoint WHERE merchant_id = ? AND name = ?"),
                                                                  arguments: [merchantId, name]),
                      endpoint.disabledAt == nil else { continue }
            }
            let dedupe = StableHash.fnv1a64("\(shipmentId.map(String.init) ?? "-")\u{1F}\(changeKey)\u{1F}\(intent.key)")
            let row = OutboxRecord(
                messageId: "rastro-\(dedupe)-\(shipmentId.map(String.init) ?? "0")", dedupeKey: dedupe, merchantId: merchantId,
                shipmentId: shipmentId, kind: intent.kind, template: intent.template, recipient: intent.recipient,
                locale: intent.locale, endpoint: intent.endpoint, event: intent.event, payload: intent.payload,
                status: .pending, attempts: 0, nextAttemptAt: max(now, intent.notBefore ?? now), createdAt: now)
            if try row.insertIgnoringDuplicate(db) { inserted += 1 }
        }
        return inserted
    }

    /// The names of a merchant's webhook endpoints that are not disabled.
    static func enabledEndpoints(merchantId: Int64, db: Database) throws -> Set<String> {
        var statement = try RawStatement(db.cachedStatement(sql: "SELECT name FROM webhook_endpoint WHERE merchant_id = ? AND disabled_at IS NULL"))
        statement.bind(merchantId)
        var names: Set<String> = []
        try statement.forEachRow { names.insert($0[0]) }
        return names
    }

    /// Claims due notifications, oldest due first; a claim holds a row until `leaseUntil`.
    ///
    /// Through the group commit, like `recordDelivery`: under a push load the deliverer's
    /// transactions share the pushes' fsync instead of queueing for the writer each on its own.
    public func claimDueOutbox(limit: Int, owner: String, leaseUntil: Timestamp, now: Timestamp) async throws -> [OutboxRecord] {
        try await groupWrite { db in
            let rows = try OutboxRecord.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?
                """), arguments: [now, limit])
            // A cached statement per row, not GRDB's record update (which builds its UPDATE each time).
            for row in rows {
                var claim = try RawStatement(db.cachedStatement(sql: "UPDATE outbox SET next_attempt_at = ?, lease_owner = ? WHERE id = ?"))
                claim.bind(leaseUntil)
                claim.bind(owner)
                claim.bind(row.id)
                try claim.execute()
            }
            return rows.map { row in
                var claimed = row
                claimed.nextAttemptAt = leaseUntil
                claimed.leaseOwner = owner
                return claimed
            }
        }
    }

    public enum DeliveryResult: Sendable, Hashable {
        case sent
        case retry(at: Timestamp, error: String)
        case failed(error: String)
    }

    /// Records one delivery attempt and its consequence for the row.
    ///
    /// A batch's sends finish close together, so their records share one transaction
    /// (see `GroupCommit`): one fsync for the batch, not one per notification.
    public func recordDelivery(outboxId: Int64, owner: String, result: DeliveryResult, durationMs: Int64, now: Timestamp) async throws {
        try await groupWrite { db in
            // One UPDATE of what the attempt changes (no read of the row first): sent, retried
            // (still pending), or failed; the lease is let go if this owner holds it.
            let status: OutboxRecord.Status?, sentAt: Timestamp?, failedAt: Timestamp?, next: Timestamp?, error: String?
            let outcome: DeliveryAttemptRecord.Outcome
            switch result {
            case .sent: (status, sentAt, failedAt, next, error, outcome) = (.sent, now, nil, nil, nil, .sent)
            case .retry(let at, let detail): (status, sentAt, failedAt, next, error, outcome) = (nil, nil, nil, at, detail, .retry)
            case .failed(let detail): (status, sentAt, failedAt, next, error, outcome) = (.failed, nil, now, nil, detail, .failed)
            }
            var update = try RawStatement(db.cachedStatement(sql: """
                UPDATE outbox SET attempts = attempts + 1, status = coalesce(?, status), sent_at = coalesce(?, sent_at),
                    failed_at = coalesce(?, failed_at), next_attempt_at = ?, last_error = ?, lease_owner = nullif(lease_owner, ?)
                WHERE id = ?
                """))
            update.bind(status); update.bind(sentAt); update.bind(failedAt); update.bind(next); update.bind(error)
            update.bind(owner); update.bind(outboxId)
            try update.execute()
            guard db.changesCount > 0 else { return }  // the row is gone (its shipment was deleted)
            var attempt = try RawStatement(db.cachedStatement(sql: """
                INSERT INTO delivery_attempt (outbox_id, attempted_at, duration_ms, outcome, detail) VALUES (?, ?, ?, ?, ?)
                """))
            attempt.bind(outboxId); attempt.bind(now); attempt.bind(durationMs); attempt.bind(outcome); attempt.bind(error)
            try attempt.execute()
        }
    }

    /// A merchant's notifications, newest first.
    public func outbox(merchantId: Int64, status: OutboxRecord.Status? = nil, shipmentId: Int64? = nil, limit: Int = 50) throws -> [OutboxRecord] {
        try read { db in
            var request = OutboxRecord.filter(Column("merchant_id") == merchantId)
            if let status { request = request.filter(Column("status") == status) }
            if let shipmentId { request = request.filter(Column("shipment_id") == shipmentId) }
            return try request.order(Column("id").desc).limit(max(1, min(limit, 500))).fetchAll(db)
        }
    }

    public func deliveryAttempts(outboxId: Int64) throws -> [DeliveryAttemptRecord] {
        try read { db in try DeliveryAttemptRecord.filter(Column("outbox_id") == outboxId).order(Column("id")).fetchAll(db) }
    }

    /// Puts a failed (or sent) notification back in the queue with the same id, due now.
    public func resend(outboxId: Int64, merchantId: Int64, now: Timestamp) throws -> OutboxRecord {
        try write { db in
            guard var row = try OutboxRecord.filter(Column("id") == outboxId && Column("merchant_id") == merchantId).fetchOne(db) else {
                throw StoreError.notFound("notification \(outboxId)")
            }
            row.status = .pending
            row.nextAttemptAt = now
            row.leaseOwner = nil
            row.failedAt = nil
            try row.update(db)
            return row
        }
    }

    /// Pending notifications and the oldest one's due time (for status and metrics).
    public func outboxBacklog(now: Timestamp) throws -> (pending: Int, failed: Int, oldestDue: Timestamp?) {
        try read { db in
            let pending = try OutboxRecord.filter(Column("status") == OutboxRecord.Status.pending).fetchCount(db)
            let failed = try OutboxRecord.filter(Column("status") == OutboxRecord.Status.failed).fetchCount(db)
            let oldest = try Timestamp.fetchOne(db, sql: "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'")
            return (pending, failed, oldest)
        }
    }

    // MARK: Webhook endpoints

    /// Creates or updates a merchant's named endpoint; a new endpoint gets `secret`, an existing one keeps its own.
    public func upsertWebhookEndpoint(merchantId: Int64, name: String, url: String?, secret: String, now: Timestamp) throws -> WebhookEndpoint {
        try write { db in
            if var existing = try WebhookEndpoint.filter(Column("merchant_id") == merchantId && Column("name") == name).fetchOne(db) {
                existing.url = url
                existing.disabledAt = nil
                existing.disabledReason = nil
                try existing.update(db)
                return existing
            }
            var endpoint = WebhookEndpoint(merchantId: merchantId, name: name, url: url, secret: secret, createdAt: now)
            try endpoint.insert(db)
            return endpoint
        }
    }

    public func webhookEndpoint(merchantId: Int64, name: String) throws -> WebhookEndpoint? {
        try read { db in try WebhookEndpoint.filter(Column("merchant_id") == merchantId && Column("name") == name).fetchOne(db) }
    }

    /// A receiver answered 410 Gone: stop sending to it until an operator re-enables it.
    public func disableWebhookEndpoint(id: Int64, reason: String, now: Timestamp) throws {
        try write { db in
            try db.execute(sql: "UPDATE webhook_endpoint SET disabled_at = ?, disabled_reason = ? WHERE id = ?", arguments: [now, reason, id])
        }
    }
}
