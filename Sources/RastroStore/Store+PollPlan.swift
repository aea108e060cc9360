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
    /// One shipment's preparation, with what it was computed from.
    struct Entry: Sendable {
        /// The shipment row as read.
        var read: Shipment
        /// The answer the plan was made for.
        var outcome: CarrierOutcome
        /// How many events the shipment had, and the newest row id (events are only ever added).
        var events: EventMark
        var plan: PollItemPlan
        var change: ShipmentChange?
        var intents: [OutboxIntent]
    }

    var byShipment: [Int64: Entry] = [:]
    /// The poll's `now` and lease owner the plans were made with.
    var now: Timestamp
    var owner: String
    /// CPU time the preparation took (rules included), for the benchmark's split.
    public var cpuNanos: Int64 = 0

    /// The prepared plan, if the writer sees the shipment exactly as it was read.
    func plan(for shipment: Shipment, outcome: CarrierOutcome, events: EventMark, now: Timestamp, owner: String) -> Entry? {
        guard now == self.now, owner == self.owner, let id = shipment.id, let entry = byShipment[id], entry.read == shipment,
              entry.events == events, entry.outcome == outcome else { return nil }
        return entry
    }

    func intents(for change: ShipmentChange) -> [OutboxIntent]? {
        guard let id = change.shipment.id, let prepared = byShipment[id], prepared.change == change else { return nil }
        return prepared.intents
    }
}

/// A shipment's stored events in two numbers: equal marks mean the same events.
struct EventMark: Sendable, Hashable {
    var count: Int
    var newestId: Int64

    static func of(shipmentId: Int64, db: Database) throws -> EventMark {
        var statement = try RawStatement(db.cachedStatement(sql: "SELECT count(*), coalesce(max(id), 0) FROM event WHERE shipment_id = ?"))
        statement.bind(shipmentId)
        var mark = EventMark(count: 0, newestId: 0)
        try statement.forEachRow { row in mark = EventMark(count: row[0], newestId: row[1]) }
        return mark
    }

    init(count: Int, newestId: Int64) {
        self.count = count
        self.newestId = newestId
    }

    init(_ stored: [EventRecord.Stored]) {
        self.init(count: stored.count, newestId: stored.map(\.id).max() ?? 0)
    }
}

extension Store {
    /// Runs the rules for the changes `report` would make, on a reader (see `PreparedNotifications`).
    public func prepareNotifications(for report: PollReport, now: Timestamp,
                                     decide: @escaping @Sendable (Shipment, PollPolicy.Outcome) -> PollPolicy.Decision,
                                     notify: @escaping ChangeNotifier) async throws -> PreparedNotifications {
        // No snapshot needed: the writer takes a plan only if the shipment and its events are,
        // by content, what it was made from (`PreparedNotifications.plan(for:…)`).
        try await asyncRead(snapshot: false) { db in
            let cpuStart = CPUClock.thread()
            var prepared = PreparedNotifications(now: now, owner: report.owner)
            var merchants: [Int64: (Merchant, Set<String>)] = [:]
            let ids = report.items.map(\.shipmentId)
            let shipments = try Shipment.fetchSelected(db, ids: ids)
            let storedEvents = try EventRecord.storedEvents(shipmentIds: ids, db: db)
            for item in report.items {
                guard let shipment = shipments[item.shipmentId] else { continue }
                let stored = storedEvents[item.shipmentId] ?? []
                let plan = PollItemPlan(item.outcome, shipment: shipment, stored: stored, carrier: report.carrier, owner: report.owner,
                                        now: now, decide: decide)
                var entry = PreparedNotifications.Entry(read: shipment, outcome: item.outcome, events: EventMark(stored), plan: plan,
                                                        change: nil, intents: [])
                if plan.changed {
                    let (merchant, endpoints) = try merchants[shipment.merchantId] ?? Self.merchantAndEndpoints(shipment.merchantId, db: db)
                    merchants[shipment.merchantId] = (merchant, endpoints)
                    let change = plan.change(merchant: merchant, endpoints: endpoints, at: now)
                    entry.change = change
                    entry.intents = notify(change)
                }
                prepared.byShipment[item.shipmentId] = entry
            }
            prepared.cpuNanos = CPUClock.thread() - cpuStart
            return prepared
        }
    }

    static func merchantAndEndpoints(_ merchantId: Int64, db: Database) throws -> (Merchant, Set<String>) {
        // Raw statements (see `RawStatement`): every push and every poll batch reads its merchant.
        var statement = try RawStatement(db.cachedStatement(sql: "SELECT id, name, created_at, poll_every, poll_window, default_locale FROM merchant WHERE id = ?"))
        statement.bind(merchantId)
        var merchant: Merchant?
        try statement.forEachRow { row in
            merchant = Merchant(id: row[0] as Int64, name: row[1], createdAt: row[2], pollEvery: row[3], pollWindow: row[4], defaultLocale: row[5])
        }
        guard let merchant else { throw StoreError.notFound("merchant \(merchantId)") }
        return (merchant, try enabledEndpoints(merchantId: merchantId, db: db))
    }
}
