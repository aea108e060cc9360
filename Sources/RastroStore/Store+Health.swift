import Foundation
import GRDB
import RastroCore

/// One recorded change of a carrier's state (a row of `carrier_transition`).
public struct CarrierTransitionRecord: Sendable, Hashable {
    public var id: Int64
    public var carrier: String
    public var from: CarrierState
    public var to: CarrierState
    public var reason: String
    public var since: Timestamp
    public var at: Timestamp
    public var notifications: Int

    init(row: Row) {
        id = row["id"]
        carrier = row["carrier"]
        from = CarrierState(rawValue: row["from_state"]) ?? .healthy
        to = CarrierState(rawValue: row["to_state"]) ?? .healthy
        reason = row["reason"]
        since = row["since"]
        at = row["at"]
        notifications = row["notifications"]
    }
}

/// Who hears about a carrier's change of state, asked inside the transaction that records it.
public struct CarrierAlertRouting: Sendable {
    /// The operator's notifications (rules' `on_carrier_alert` without a shipment).
    public var operatorIntents: @Sendable (HealthTransition) -> [OutboxIntent]
    /// Whether a merchant's rules react to carrier alerts (then they are asked once per active shipment).
    public var merchantReacts: @Sendable (Merchant) -> Bool
    public var shipmentIntents: @Sendable (HealthTransition, Shipment, Merchant) -> [OutboxIntent]

    public init(operatorIntents: @escaping @Sendable (HealthTransition) -> [OutboxIntent],
                merchantReacts: @escaping @Sendable (Merchant) -> Bool = { _ in false },
                shipmentIntents: @escaping @Sendable (HealthTransition, Shipment, Merchant) -> [OutboxIntent] = { _, _, _ in [] }) {
        self.operatorIntents = operatorIntents
        self.merchantReacts = merchantReacts
        self.shipmentIntents = shipmentIntents
    }
}

extension Store {
    /// The reserved merchant that owns operator alerts in the outbox (its webhook endpoints are the operator's).
    public static let operatorMerchant = "_operator"

    /// A carrier's most recent polls as health observations, oldest first.
    public func healthObservations(carrier: String, limit: Int) throws -> [HealthObservation] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT started_at, verdict, shape FROM poll WHERE carrier = ? AND verdict IS NOT NULL ORDER BY id DESC LIMIT ?
                """, arguments: [carrier, limit])
            return rows.reversed().compactMap { row in
                guard let verdict = PollVerdict(rawValue: row["verdict"]) else { return nil }
                return HealthObservation(at: row["started_at"], verdict: verdict, shape: row["shape"] ?? ResponseShape.noResponse)
            }
        }
    }

    /// The latest transition of each carrier that has had one: its current state.
    public func currentCarrierStates() throws -> [String: CarrierTransitionRecord] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT t.* FROM carrier_transition t
                WHERE t.id = (SELECT max(id) FROM carrier_transition WHERE carrier = t.carrier)
                """)
            return Dictionary(rows.map { ($0["carrier"] as String, CarrierTransitionRecord(row: $0)) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// A carrier's transitions, newest first.
    public func carrierTransitions(carrier: String, limit: Int = 20) throws -> [CarrierTransitionRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM carrier_transition WHERE carrier = ? ORDER BY id DESC LIMIT ?", arguments: [carrier, limit])
                .map(CarrierTransitionRecord.init(row:))
        }
    }

    /// The last poll with a valid answer, per carrier.
    public func lastSuccessfulPolls() throws -> [String: Timestamp] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT carrier, max(finished_at) AS at FROM poll
                WHERE verdict IN ('new_events', 'unchanged', 'not_found', 'invalid_number') GROUP BY carrier
                """)
            return Dictionary(rows.map { ($0["carrier"] as String, $0["at"] as Timestamp) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Active shipments per carrier, and how many have learned nothing new since `staleBefore`.
    public func staleShipments(staleBefore: Timestamp) throws -> [String: (active: Int, stale: Int)] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT carrier, count(*) AS active, sum(coalesce(last_event_at, created_at) < ?) AS stale
                FROM shipment WHERE next_poll_at IS NOT NULL GROUP BY carrier
                """, arguments: [staleBefore])
            return Dictionary(rows.map { ($0["carrier"] as String, (active: $0["active"] as Int, stale: $0["stale"] as Int)) },
                              uniquingKeysWith: { a, _ in a })
        }
    }

    /// Records a carrier's change of state with its alerts, all or nothing — once:
    /// if the stored state is no longer `transition.from` (another process got there
    /// first, or this one already recorded it before it died), nothing is written
    /// and nil comes back.
    public func recordTransition(_ transition: HealthTransition, routing: CarrierAlertRouting?) throws -> CarrierTransitionRecord? {
        try write { db in
            let current = try String.fetchOne(db, sql: "SELECT to_state FROM carrier_transition WHERE carrier = ? ORDER BY id DESC LIMIT 1",
                                              arguments: [transition.carrier]).flatMap(CarrierState.init(rawValue:)) ?? .healthy
            guard current == transition.from else { return nil }
            try db.execute(sql: """
                INSERT INTO carrier_transition (carrier, from_state, to_state, reason, since, at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [transition.carrier, transition.from.rawValue, transition.to.rawValue, transition.reason, transition.since, transition.at])
            let id = db.lastInsertedRowID
            var written = 0
            if let routing {
                let changeKey = "carrier-alert|\(transition.carrier)|\(id)"
                let operatorId = try Self.ensureMerchant(Self.operatorMerchant, now: transition.at, db: db)
                written += try Self.insertOutbox(routing.operatorIntents(transition), changeKey: changeKey, merchantId: operatorId,
                                                 shipmentId: nil, now: transition.at, db: db)
                for merchant in try Merchant.fetchAll(db) where merchant.name != Self.operatorMerchant && routing.merchantReacts(merchant) {
                    let shipments = try Shipment.fetchAll(db, sql: """
                        SELECT * FROM shipment WHERE merchant_id = ? AND carrier = ? AND next_poll_at IS NOT NULL
                        """, arguments: [merchant.id, transition.carrier])
                    for shipment in shipments {
                        written += try Self.insertOutbox(routing.shipmentIntents(transition, shipment, merchant), changeKey: changeKey,
                                                         merchantId: merchant.id!, shipmentId: shipment.id, now: transition.at, db: db)
                    }
                }
                try db.execute(sql: "UPDATE carrier_transition SET notifications = ? WHERE id = ?", arguments: [written, id])
            }
            return try Row.fetchOne(db, sql: "SELECT * FROM carrier_transition WHERE id = ?", arguments: [id]).map(CarrierTransitionRecord.init(row:))
        }
    }

    static func ensureMerchant(_ name: String, now: Timestamp, db: Database) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM merchant WHERE name = ?", arguments: [name]) { return id }
        var merchant = Merchant(name: name, createdAt: now)
        try merchant.insert(db)
        return merchant.id!
    }
}
