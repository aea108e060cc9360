import GRDB
import RastroCore

/// What one shipment's answer in a poll does to it, computed from the shipment and
/// its stored events alone: the writer computes it to record the poll, and
/// `prepareNotifications` computes it ahead, off the writer, to run the rules.
struct PollItemPlan: Sendable {
    /// The shipment as the poll leaves it.
    var shipment: Shipment
    var before: TrackingStatus
    var merge: EventMerge
    /// The word counted in `carrier_outcome` (`unchanged`, `new_events`, a failure kind).
    var outcome: String

    var changed: Bool { shipment.status != before || !merge.added.isEmpty }

    init(_ outcome: CarrierOutcome, shipment: Shipment, stored: [EventRecord.Stored], carrier: String, owner: String, now: Timestamp,
         decide: (Shipment, PollPolicy.Outcome) -> PollPolicy.Decision) {
        var shipment = shipment
        before = shipment.status
        let policyOutcome: PollPolicy.Outcome
        switch outcome {
        case .tracked(let result):
            merge = Store.merge(result.events, stored: stored, carrier: carrier, into: &shipment)
            if let eta = result.estimatedDelivery { shipment.estimatedDelivery = eta }
            if let signedAt = result.deliveredAt { shipment.deliveredAt = signedAt }
            policyOutcome = .answered
            self.outcome = merge.added.isEmpty ? "unchanged" : "new_events"
        case .failed(let failure):
            merge = EventMerge(added: [], addedIdentities: [], timeline: Store.derive(&shipment, from: Store.newestFirst(stored)))
            switch failure.kind {
            case .notFound, .invalidNumber: policyOutcome = .answered
            case .rateLimited: policyOutcome = .failed(retryAfter: failure.retryAfter.map { .seconds(Int64($0.rounded(.up))) })
            case .auth, .temporary, .broken: policyOutcome = .failed(retryAfter: nil)
            }
            self.outcome = failure.kind.rawValue
        }
        if case .answered = policyOutcome { shipment.pollFailures = 0 } else { shipment.pollFailures += 1 }
        shipment.lastPolledAt = now
        shipment.lastOutcome = outcome.label(newEvents: !merge.added.isEmpty)
        // Scheduling belongs to the lease holder; a stale poll still contributes its events.
        if shipment.leaseOwner == owner && shipment.cancelledAt == nil {
            shipment.leaseOwner = nil
            switch decide(shipment, policyOutcome) {
            case .pollAt(let at): shipment.nextPollAt = at
            case .stop: shipment.nextPollAt = nil
            case .expire(let reason):
                shipment.nextPollAt = nil
                shipment.status = .expired
                shipment.expiryReason = reason.rawValue
            }
        }
        if shipment.status != before { shipment.statusChangedAt = now }
        self.shipment = shipment
    }

    func change(merchant: Merchant, endpoints: Set<String>, at now: Timestamp) -> ShipmentChange {
        ShipmentChange(shipment: shipment, merchant: merchant, from: before, to: shipment.status, newEvents: merge.added,
                       newEventIdentities: merge.addedIdentities, webhookEndpoints: endpoints, timeline: merge.timeline, at: now)
    }
}

/// Notifications worked out before a poll is recorded, off the writer.
///
/// The rules are most of the CPU of recording a change, and the writer is the one
/// thing every poll and push waits for. So a poll's changes are computed first on a
/// reader, and the rules run there; the writer then computes the changes again (cheap)
/// and uses a prepared answer only when its change is *equal* to the one the rules saw.
/// A shipment that moved in between (a push, another poll) is simply run inline.
public struct PreparedNotifications: Sendable {
    var byShipment: [Int64: (change: ShipmentChange, intents: [OutboxIntent])] = [:]
    /// CPU time the preparation took (rules included), for the benchmark's split.
    public var cpuNanos: Int64 = 0

    func intents(for change: ShipmentChange) -> [OutboxIntent]? {
        guard let id = change.shipment.id, let prepared = byShipment[id], prepared.change == change else { return nil }
        return prepared.intents
    }
}

extension Store {
    /// Runs the rules for the changes `report` would make, on a reader (see `PreparedNotifications`).
    public func prepareNotifications(for report: PollReport, now: Timestamp,
                                     decide: @escaping @Sendable (Shipment, PollPolicy.Outcome) -> PollPolicy.Decision,
                                     notify: @escaping ChangeNotifier) async throws -> PreparedNotifications {
        try await asyncRead { db in
            let cpuStart = CPUClock.thread()
            var prepared = PreparedNotifications()
            var merchants: [Int64: (Merchant, Set<String>)] = [:]
            for item in report.items {
                guard let shipment = try Shipment.fetchOne(db.cachedStatement(sql: "SELECT * FROM shipment WHERE id = ?"),
                                                           arguments: [item.shipmentId]) else { continue }
                let plan = PollItemPlan(item.outcome, shipment: shipment, stored: try EventRecord.storedEvents(shipmentId: item.shipmentId, db: db),
                                        carrier: report.carrier, owner: report.owner, now: now, decide: decide)
                guard plan.changed else { continue }
                let (merchant, endpoints) = try merchants[shipment.merchantId] ?? Self.merchantAndEndpoints(shipment.merchantId, db: db)
                merchants[shipment.merchantId] = (merchant, endpoints)
                let change = plan.change(merchant: merchant, endpoints: endpoints, at: now)
                prepared.byShipment[item.shipmentId] = (change, notify(change))
            }
            prepared.cpuNanos = CPUClock.thread() - cpuStart
            return prepared
        }
    }

    static func merchantAndEndpoints(_ merchantId: Int64, db: Database) throws -> (Merchant, Set<String>) {
        guard let merchant = try Merchant.fetchOne(db.cachedStatement(sql: "SELECT * FROM merchant WHERE id = ?"), arguments: [merchantId]) else { throw StoreError.notFound("merchant \(merchantId)") }
        return (merchant, try enabledEndpoints(merchantId: merchantId, db: db))
    }
}
