import Foundation
import GRDB
import RastroCore

/// A shipment claimed for a poll.
public struct DuePoll: Sendable, Hashable {
    public var shipmentId: Int64
    public var merchantId: Int64
    public var trackingNumber: String
    public var dispatchedAt: Timestamp
    public var status: TrackingStatus
    public var pollFailures: Int
    /// The previous poll of this shipment was claimed but never recorded (the process died).
    public var interrupted: Bool
    /// The merchant's cadence/window overrides, in seconds.
    public var merchantPollEvery: Int64?
    public var merchantPollWindow: Int64?
}

/// Everything one carrier request produced, recorded in one transaction.
public struct PollReport: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]
        public init(status: Int, headers: [String: String], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public var carrier: String
    public var scriptVersion: String
    /// The lease owner that claimed the shipments.
    public var owner: String
    public var startedAt: Timestamp
    public var durationMs: Int64
    /// nil when no response arrived (connection refused, timeout, script error before the request).
    public var response: Response?
    /// `ok`, or what failed for the whole request.
    public var outcome: String
    public var error: String?
    /// One outcome per shipment the request covered.
    public var items: [(shipmentId: Int64, trackingNumber: String, outcome: CarrierOutcome)]

    /// What the request said about the integration, for carrier health: the whole
    /// request's failure, else the worst of its shipments' outcomes.
    /// (`unchanged` and `new_events` can't be told apart before the store dedupes events;
    /// `recordPoll` refines it.)
    public var verdict: PollVerdict? {
        if outcome != "ok" { return PollVerdict(rawValue: outcome) ?? .broken }
        return PollVerdict.aggregate(items.map { item in
            switch item.outcome {
            case .tracked: .unchanged
            case .failed(let f): PollVerdict(rawValue: f.kind.rawValue) ?? .broken
            }
        })
    }

    /// The response's outline (`JSON {parcels}`, `HTML`, `HTTP 401 JSON {error}`, `no response`).
    public var shape: String {
        guard let response else { return ResponseShape.noResponse }
        let type = response.headers.first { $0.key.lowercased() == "content-type" }?.value
        return ResponseShape.describe(status: response.status, contentType: type, body: response.body)
    }

    public init(carrier: String, scriptVersion: String, owner: String, startedAt: Timestamp, durationMs: Int64,
                response: Response?, outcome: String, error: String?, items: [(shipmentId: Int64, trackingNumber: String, outcome: CarrierOutcome)]) {
        self.carrier = carrier
        self.scriptVersion = scriptVersion
        self.owner = owner
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.response = response
        self.outcome = outcome
        self.error = error
        self.items = items
    }
}

/// A shipment whose status moved, with the events that moved it: what rules see.
public struct ShipmentChange: Sendable, Hashable {
    public var shipment: Shipment
    public var merchant: Merchant
    public var from: TrackingStatus
    public var to: TrackingStatus
    /// Events stored for the first time by this change, newest first (as carriers list them).
    public var newEvents: [TrackingEvent]
    /// Their identities when the store already computed them (the change key reuses them).
    var newEventIdentities: [String]?
    /// The merchant's enabled webhook endpoints when the store looked them up; nil when
    /// unknown. Rules skip building bodies for endpoints that don't exist (the outbox
    /// would drop them anyway).
    public var webhookEndpoints: Set<String>?
    /// The shipment's effective timeline after the change, oldest first.
    public var timeline: [TrackingEvent]
    /// When the change was recorded (the `now` of the poll or push that made it).
    public var at: Timestamp

    public init(shipment: Shipment, merchant: Merchant, from: TrackingStatus, to: TrackingStatus, newEvents: [TrackingEvent],
                timeline: [TrackingEvent], at: Timestamp) {
        self.init(shipment: shipment, merchant: merchant, from: from, to: to, newEvents: newEvents, newEventIdentities: nil, timeline: timeline, at: at)
    }

    init(shipment: Shipment, merchant: Merchant, from: TrackingStatus, to: TrackingStatus, newEvents: [TrackingEvent],
         newEventIdentities: [String]?, webhookEndpoints: Set<String>? = nil, timeline: [TrackingEvent], at: Timestamp) {
        self.newEventIdentities = newEventIdentities
        self.webhookEndpoints = webhookEndpoints
        self.at = at
        self.shipment = shipment
        self.merchant = merchant
        self.from = from
        self.to = to
        self.newEvents = newEvents
        self.timeline = timeline
    }

    /// What makes this change this change: the transition and the events that caused it.
    /// The same change seen twice has the same key, so its notifications are written once.
    public func key(carrier: String) -> String {
        "\(from.rawValue)>\(to.rawValue)|" + (newEventIdentities ?? newEvents.map { $0.identity(carrier: carrier) }).sorted().joined(separator: ",")
    }
}

/// Turns a change into the notifications to send; runs inside the transaction that stores the change.
public typealias ChangeNotifier = @Sendable (ShipmentChange) -> [OutboxIntent]

/// What the store recorded for one poll.
public struct PollRecording: Sendable {
    public var pollId: Int64
    public var newEvents: Int
    public var changes: [ShipmentChange]
    /// Outbox rows written with the poll.
    public var notifications: Int
    /// What the poll said about the integration (nil for a poll that covered no shipment).
    public var verdict: PollVerdict?
    public var shape: String
    /// CPU time the writer spent recording it (rules included; the shared commit not).
    public var cpuNanos: Int64 = 0
}

extension Store {
    /// The earliest next poll among a carrier's shipments (nil: nothing scheduled).
    public func nextDue(carrier: String) throws -> Timestamp? {
        try read { db in
            try Timestamp.fetchOne(db, sql: "SELECT min(next_poll_at) FROM shipment WHERE carrier = ? AND next_poll_at IS NOT NULL", arguments: [carrier])
        }
    }

    /// Claims up to `limit` of a carrier's due shipments, oldest due first.
    ///
    /// The claim moves `next_poll_at` to the lease's end and records the owner: no
    /// other poller sees the shipment until then, and if this process dies the
    /// shipment is due again when the lease ends — no separate recovery pass.
    public func claimDue(carrier: String, limit: Int, owner: String, leaseUntil: Timestamp, now: Timestamp) throws -> [DuePoll] {
        guard limit > 0 else { return [] }
        return try write { db in try Self.claim(carrier: carrier, limit: limit, owner: owner, leaseUntil: leaseUntil, now: now, db: db) }
    }

    /// `claimDue` for async callers (the scheduler): its own transaction, as soon as the
    /// writer is free, on a GCD thread. Not on a Swift concurrency thread: waiting there
    /// for the writer (a group commit's fsync) took one of the two threads from the polls.
    /// Not in a group commit either: waiting for the next one left slots idle longer.
    public func claimDueOffPool(carrier: String, limit: Int, owner: String, leaseUntil: Timestamp, now: Timestamp) async throws -> [DuePoll] {
        guard limit > 0 else { return [] }
        return try await Self.run(on: Self.claimQueue) {
            try self.write { db in try Self.claim(carrier: carrier, limit: limit, owner: owner, leaseUntil: leaseUntil, now: now, db: db) }
        }
    }

    private static let claimQueue = DispatchQueue(label: "rastro.store.claim")

    static func claim(carrier: String, limit: Int, owner: String, leaseUntil: Timestamp, now: Timestamp, db: Database) throws -> [DuePoll] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT s.id, s.merchant_id, s.tracking_number, s.dispatched_at, s.status, s.poll_failures, s.lease_owner,
                   m.poll_every, m.poll_window
            FROM shipment s JOIN merchant m ON m.id = s.merchant_id
            WHERE s.carrier = ? AND s.next_poll_at IS NOT NULL AND s.next_poll_at <= ?
            ORDER BY s.next_poll_at LIMIT ?
            """), arguments: [carrier, now, limit])
        guard !rows.isEmpty else { return [] }
        let ids: [Int64] = rows.map { $0["id"] }
        try db.execute(sql: "UPDATE shipment SET next_poll_at = ?, lease_owner = ? WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                       arguments: StatementArguments([leaseUntil.databaseValue, owner.databaseValue] + ids.map(\.databaseValue)))
        return rows.map { row in
            DuePoll(shipmentId: row["id"], merchantId: row["merchant_id"], trackingNumber: row["tracking_number"],
                    dispatchedAt: row["dispatched_at"], status: row["status"], pollFailures: row["poll_failures"],
                    interrupted: (row["lease_owner"] as String?) != nil,
                    merchantPollEvery: row["poll_every"], merchantPollWindow: row["poll_window"])
        }
    }

    /// Gives back claimed shipments that were never polled (shutdown): due again at `now`.
    public func releaseLeases(owner: String, shipmentIds: [Int64], now: Timestamp) throws {
        guard !shipmentIds.isEmpty else { return }
        try write { db in
            try db.execute(sql: "UPDATE shipment SET next_poll_at = ?, lease_owner = NULL WHERE lease_owner = ? AND id IN (\(shipmentIds.map { _ in "?" }.joined(separator: ",")))",
                           arguments: StatementArguments([now.databaseValue, owner.databaseValue] + shipmentIds.map(\.databaseValue)))
        }
    }

    /// Records a poll: the request, the raw response, new events, statuses and next polls,
    /// and the outcome counters — all or nothing.
    ///
    /// `decide` is the scheduler's pure policy, called inside the transaction with the
    /// shipment as it will be after this poll (new status, failure count).
    ///
    /// Asynchronous and group-committed: polls finishing together share one
    /// transaction and one fsync, and no caller's thread blocks on the writer
    /// (blocking the two threads of the cooperative pool stalled everything else).
    ///
    /// `prepared`: the rules' answers worked out ahead by `prepareNotifications`; used
    /// for each change equal to the one they were made for, else `notify` runs here.
    public func recordPoll(_ report: PollReport, now: Timestamp,
                           decide: @escaping @Sendable (Shipment, PollPolicy.Outcome) -> PollPolicy.Decision,
                           notify: ChangeNotifier? = nil, prepared: PreparedNotifications? = nil) async throws -> PollRecording {
        // What needs no database is done before the transaction: the writer is what
        // every poll and push waits for (the shape scans the body; the body is compressed).
        let reportVerdict = report.verdict, shape = report.shape
        let raw = report.response.map { response in
            (status: response.status, body: Deflate.deflate(response.body), size: response.body.count,
             headers: (try? JSONEncoder().encode(response.headers)).map { String(decoding: $0, as: UTF8.self) } ?? "{}",
             codes: report.items.map(\.trackingNumber).joined(separator: ","))
        }
        return try await groupWrite { db in
            let cpuStart = CPUClock.thread()
            var poll = PollRecord(carrier: report.carrier, scriptVersion: report.scriptVersion, startedAt: report.startedAt,
                                  finishedAt: now, durationMs: report.durationMs, httpStatus: report.response?.status,
                                  outcome: report.outcome, error: report.error,
                                  verdict: reportVerdict?.rawValue, shape: shape)
            try poll.insert(db)
            let pollId = poll.id!
            if let raw {
                var record = RawResponseRecord(pollId: pollId, carrier: report.carrier, receivedAt: now, httpStatus: raw.status,
                                               headers: raw.headers, body: raw.body, bodySize: raw.size, codes: raw.codes)
                try record.insert(db)
            }
            var changes: [ShipmentChange] = []
            var newEventCount = 0
            var notifications = 0
            var merchants: [Int64: (Merchant, Set<String>)] = [:]
            var outcomes: [String: Int] = [:]
            var shipments = try Shipment.fetchSelected(db, ids: report.items.map(\.shipmentId))
            for item in report.items {
                guard let shipment = shipments[item.shipmentId] else { continue }
                // The prepared plan when the shipment and its events are as they were read
                // (then the merge is not done twice); else worked out here.
                let reused = try prepared?.plan(for: shipment, outcome: item.outcome, events: EventMark.of(shipmentId: item.shipmentId, db: db),
                                                now: now, owner: report.owner)
                let plan = try reused?.plan ?? PollItemPlan(item.outcome, shipment: shipment,
                                                            stored: EventRecord.storedEvents(shipmentId: item.shipmentId, db: db),
                                                            carrier: report.carrier, owner: report.owner, now: now, decide: decide)
                try Self.insertAdded(plan.merge, shipmentId: item.shipmentId, source: .poll, pollId: pollId, now: now, db: db)
                try plan.shipment.updateRow(db, from: shipment, lastEventAt: plan.merge.added.isEmpty ? nil : now)
                shipments[item.shipmentId] = plan.shipment  // as written, should the batch name it twice
                outcomes[plan.outcome, default: 0] += 1
                newEventCount += plan.merge.added.count
                guard plan.changed else { continue }
                let (merchant, endpoints) = try merchants[shipment.merchantId] ?? Self.merchantAndEndpoints(shipment.merchantId, db: db)
                merchants[shipment.merchantId] = (merchant, endpoints)
                let change: ShipmentChange, preparedIntents: [OutboxIntent]?
                if let reused, let seen = reused.change, seen.merchant == merchant, seen.webhookEndpoints == endpoints {
                    (change, preparedIntents) = (seen, reused.intents)
                } else {
                    change = plan.change(merchant: merchant, endpoints: endpoints, at: now)
                    preparedIntents = prepared?.intents(for: change)
                }
                changes.append(change)
                if let notify {
                    let intents = preparedIntents ?? notify(change)
                    notifications += try Self.insertOutbox(intents, changeKey: change.key(carrier: report.carrier),
                                                           merchantId: shipment.merchantId, shipmentId: shipment.id, now: now, db: db)
                }
            }
            var verdict = reportVerdict
            if verdict == .unchanged, newEventCount > 0 {
                verdict = .newEvents
                try db.execute(sql: "UPDATE poll SET verdict = ? WHERE id = ?", arguments: [verdict?.rawValue, pollId])
            }
            let hour = now.secondsSinceEpoch - now.secondsSinceEpoch % 3600
            for (outcome, count) in outcomes {
                try db.execute(sql: """
                    INSERT INTO carrier_outcome (carrier, hour, outcome, count) VALUES (?, ?, ?, ?)
                    ON CONFLICT (carrier, hour, outcome) DO UPDATE SET count = count + excluded.count
                    """, arguments: [report.carrier, hour, outcome, count])
            }
            return PollRecording(pollId: pollId, newEvents: newEventCount, changes: changes, notifications: notifications,
                                 verdict: verdict, shape: shape, cpuNanos: CPUClock.thread() - cpuStart)
        }
    }

    /// Poll outcomes of a carrier since `since`, by outcome (the material of carrier health).
    public func outcomeCounts(carrier: String, since: Timestamp) throws -> [String: Int] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT outcome, sum(count) AS n FROM carrier_outcome WHERE carrier = ? AND hour >= ? GROUP BY outcome",
                                        arguments: [carrier, since.secondsSinceEpoch - since.secondsSinceEpoch % 3600])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["outcome"], $0["n"]) })
        }
    }

    /// Raw responses stored for a carrier, oldest first.
    public func rawResponses(carrier: String, since: Timestamp? = nil, limit: Int = 1000) throws -> [RawResponseRecord] {
        try read { db in
            var request = RawResponseRecord.filter(Column("carrier") == carrier)
            if let since { request = request.filter(Column("received_at") >= since) }
            return try request.order(Column("id")).limit(limit).fetchAll(db)
        }
    }
}

extension CarrierOutcome {
    /// The word stored as a shipment's last outcome.
    func label(newEvents: Bool) -> String {
        switch self {
        case .tracked: newEvents ? "new_events" : "unchanged"
        case .failed(let failure): failure.kind.rawValue
        }
    }
}
