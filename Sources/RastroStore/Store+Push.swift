import Foundation
import GRDB
import RastroCore

extension Store {
    /// Which shipment pushed events are for: its id, or the merchant's order and invoice
    /// (the platform's push names those). Always within one merchant.
    public enum ShipmentLookup: Sendable, Hashable {
        case id(Int64)
        case order(orderId: String, invoiceNumber: String)
    }

    /// Events that arrived by push (an ERP or a carrier calling the API) or by hand:
    /// the same status machine, rules and outbox as a poll, in one transaction.
    /// The same push again stores nothing and notifies nobody.
    ///
    /// The work is done first on a reader: find the shipment, merge the events, run the
    /// rules. The writer uses that plan when the shipment and its events are still as the
    /// reader saw them (as polls do, see `PreparedNotifications`), so it only writes.
    /// nil: the merchant has no such shipment.
    public func recordEvents(_ events: [TrackingEvent], for lookup: ShipmentLookup, merchantId: Int64, source: EventRecord.Source,
                             now: Timestamp, notify: ChangeNotifier? = nil) async throws -> (shipment: Shipment, change: ShipmentChange?)? {
        // A failed preparation only means the writer does the work itself.
        let prepared = try? await preparePush(events, for: lookup, merchantId: merchantId, now: now, notify: notify)
        return try await recordEvents(events, for: lookup, merchantId: merchantId, source: source, now: now, notify: notify, prepared: prepared)
    }

    /// The push worked out on a reader: the shipment, the merge, the change and its intents.
    /// On a GCD thread (`asyncRead`), not the request's: the rules are merchants' Lua, and
    /// one that runs to its 50 ms limit must not hold one of Swift concurrency's threads.
    func preparePush(_ events: [TrackingEvent], for lookup: ShipmentLookup, merchantId: Int64, now: Timestamp,
                     notify: ChangeNotifier?) async throws -> PreparedPush? {
        // No snapshot needed: the writer takes the plan only if the shipment and its events
        // are, by content, what it was made from.
        try await asyncRead(snapshot: false) { db -> PreparedPush? in
            guard let read = try Self.findShipment(lookup, merchantId: merchantId, db: db) else { return nil }
            let stored = try EventRecord.storedEvents(shipmentId: read.id!, db: db)
            let planned = try Self.planEvents(events, shipment: read, stored: stored, merchantId: merchantId, now: now, db: db)
            return PreparedPush(read: read, events: EventMark(stored), plan: planned.plan, change: planned.change,
                                intents: planned.change.flatMap { change in notify.map { $0(change) } })
        }
    }

    func recordEvents(_ events: [TrackingEvent], for lookup: ShipmentLookup, merchantId: Int64, source: EventRecord.Source,
                      now: Timestamp, notify: ChangeNotifier?, prepared: PreparedPush?) async throws -> (shipment: Shipment, change: ShipmentChange?)? {
        return try await groupWrite { db in
            guard let shipment = try Self.findShipment(lookup, merchantId: merchantId, db: db) else { return nil }
            let shipmentId = shipment.id!
            let plan: (shipment: Shipment, merge: EventMerge), change: ShipmentChange?
            if let prepared, prepared.read == shipment, try EventMark.of(shipmentId: shipmentId, db: db) == prepared.events {
                (plan, change) = (prepared.plan, prepared.change)
            } else {
                let stored = try EventRecord.storedEvents(shipmentId: shipmentId, db: db)
                (plan, change) = try Self.planEvents(events, shipment: shipment, stored: stored, merchantId: merchantId, now: now, db: db)
            }
            try Self.insertAdded(plan.merge, shipmentId: shipmentId, source: source, pollId: nil, now: now, db: db)
            try plan.shipment.updateRow(db, from: shipment, lastEventAt: plan.merge.added.isEmpty ? nil : now)
            guard let change else { return (plan.shipment, nil) }
            if let notify {
                let intents = prepared.flatMap { $0.change == change ? $0.intents : nil } ?? notify(change)
                _ = try Self.insertOutbox(intents, changeKey: change.key(carrier: plan.shipment.carrier), merchantId: merchantId,
                                          shipmentId: shipmentId, now: now, db: db)
            }
            return (plan.shipment, change)
        }
    }

    /// A push worked out on a reader, with what it was worked out from.
    struct PreparedPush: Sendable {
        var read: Shipment
        var events: EventMark
        var plan: (shipment: Shipment, merge: EventMerge)
        var change: ShipmentChange?
        var intents: [OutboxIntent]?
    }

    /// `recordEvents(_:for:…)` by shipment id; a missing shipment is `StoreError.notFound`.
    public func recordEvents(_ events: [TrackingEvent], shipmentId: Int64, merchantId: Int64, source: EventRecord.Source,
                             now: Timestamp, notify: ChangeNotifier? = nil) async throws -> (shipment: Shipment, change: ShipmentChange?) {
        guard let recorded = try await recordEvents(events, for: .id(shipmentId), merchantId: merchantId, source: source, now: now, notify: notify) else {
            throw StoreError.notFound("shipment \(shipmentId)")
        }
        return recorded
    }

    /// What pushed events do to a shipment, from the shipment and its stored events alone;
    /// the change, when there is one.
    static func planEvents(_ events: [TrackingEvent], shipment: Shipment, stored: [EventRecord.Stored], merchantId: Int64, now: Timestamp,
                           db: Database) throws -> (plan: (shipment: Shipment, merge: EventMerge), change: ShipmentChange?) {
        var shipment = shipment
        let before = shipment.status
        let merge = merge(events, stored: stored, carrier: shipment.carrier, into: &shipment)
        if shipment.status.isTerminal && shipment.leaseOwner == nil { shipment.nextPollAt = nil }
        if shipment.status != before { shipment.statusChangedAt = now }
        guard shipment.status != before || !merge.added.isEmpty else { return ((shipment, merge), nil) }
        let (merchant, endpoints) = try merchantAndEndpoints(merchantId, db: db)
        let change = ShipmentChange(shipment: shipment, merchant: merchant, from: before, to: shipment.status, newEvents: merge.added,
                                    newEventIdentities: merge.addedIdentities, webhookEndpoints: endpoints, timeline: merge.timeline, at: now)
        return ((shipment, merge), change)
    }

    // Cached statements on every per-request lookup: a query-interface request compiles its
    // SQL (and runs GRDB's authorizer) on every call, a tenth of a push's CPU.
    static func findShipment(_ lookup: ShipmentLookup, merchantId: Int64, db: Database) throws -> Shipment? {
        switch lookup {
        case .id(let id):
            return try Shipment.fetchSelected(db, "WHERE id = ? AND merchant_id = ?") { s in
                s.bind(id)
                s.bind(merchantId)
            }.first
        case .order(let orderId, let invoiceNumber):
            // The newest, should an order have been invoiced twice under one number.
            return try Shipment.fetchSelected(db, "WHERE merchant_id = ? AND order_id = ? AND invoice_number = ? ORDER BY id DESC LIMIT 1") { s in
                s.bind(merchantId)
                s.bind(orderId)
                s.bind(invoiceNumber)
            }.first
        }
    }

    /// The shipment a platform push names: the merchant's order and invoice.
    public func shipment(orderId: String, invoiceNumber: String, merchantId: Int64) async throws -> Shipment? {
        try await asyncRead(snapshot: false) { db in try Self.findShipment(.order(orderId: orderId, invoiceNumber: invoiceNumber), merchantId: merchantId, db: db) }
    }

    // MARK: API keys

    public func addAPIKey(merchantId: Int64?, name: String, prefix: String, hash: [UInt8], now: Timestamp) throws -> APIKey {
        let key = try write { db in
            var key = APIKey(merchantId: merchantId, prefix: prefix, hash: hash, name: name, createdAt: now)
            try key.insert(db)
            return key
        }
        // A new key is in no server's cache, so telling them is only tidiness; failing here
        // would lose a key that is shown once.
        try? markAPIKeysChanged()
        return key
    }

    public func apiKey(prefix: String) async throws -> APIKey? {
        try pointRead { db in try APIKey.fetchOne(db.cachedStatement(sql: "SELECT * FROM api_key WHERE prefix = ?"), arguments: [prefix]) }
    }

    /// Revokes the key, then tells every process serving this database (`apiKeysVersion`).
    public func revokeAPIKey(prefix: String, now: Timestamp) throws -> Bool {
        let revoked = try write { db in
            try db.execute(sql: "UPDATE api_key SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL", arguments: [now, prefix])
            return db.changesCount > 0
        }
        // After the commit: a server that reloads its keys on seeing the mark must find the revocation.
        do { try markAPIKeysChanged() } catch {
            throw StoreError.invalid("""
                the key is revoked in the database, but running servers could not be told (\(error)); \
                they stop accepting it within \(Int(Self.apiKeyCacheLifetime.components.seconds)) s, or at once if restarted
                """)
        }
        return revoked
    }

    // MARK: API keys seen across processes

    /// How long a server may keep a key it has read. Revocations by this store reach servers
    /// at once (`apiKeysVersion`); this bounds anything else (a restored backup, say).
    public static let apiKeyCacheLifetime: Duration = .seconds(60)

    /// The state of the API keys as every process using this database sees it: changes when
    /// a key is added or revoked. A file beside the database (`rastro.sqlite-keys`), replaced
    /// on each change, so one `stat` per request tells a server whether its keys are stale.
    public struct APIKeysVersion: Sendable, Hashable {
        var inode: UInt64
        var modified: Int64
    }

    var apiKeysMarker: String { path + "-keys" }

    /// nil: no key has changed since the marker was introduced (or it was removed).
    public func apiKeysVersion() -> APIKeysVersion? {
        var info = stat()
        guard stat(apiKeysMarker, &info) == 0 else { return nil }
        return APIKeysVersion(inode: UInt64(info.st_ino), modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    /// Replaces the marker (a new file each time, so even two changes within one clock tick differ).
    func markAPIKeysChanged() throws {
        try Data(UUID().uuidString.utf8).write(to: URL(fileURLWithPath: apiKeysMarker), options: .atomic)
    }

    // MARK: Idempotency

    public struct StoredResponse: Sendable, Hashable {
        public var requestHash: String
        public var status: Int
        public var body: [UInt8]
        public init(requestHash: String, status: Int, body: [UInt8]) {
            self.requestHash = requestHash
            self.status = status
            self.body = body
        }
    }

    public func idempotentResponse(merchantId: Int64, key: String) async throws -> StoredResponse? {
        try await asyncRead(snapshot: false) { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT request_hash, status, body FROM idempotency WHERE merchant_id = ? AND key = ?"),
                             arguments: [merchantId, key])
                .map { StoredResponse(requestHash: $0["request_hash"], status: $0["status"], body: [UInt8]($0["body"] as Data)) }
        }
    }

    /// Keeps the first answer; a concurrent duplicate loses the race and gets the stored one next time.
    public func storeIdempotentResponse(merchantId: Int64, key: String, response: StoredResponse, now: Timestamp) async throws {
        try await groupWrite { db in
            try db.execute(sql: "INSERT INTO idempotency (merchant_id, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           arguments: [merchantId, key, response.requestHash, response.status, Data(response.body), now])
        }
    }
}
