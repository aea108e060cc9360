import Foundation
import RastroCore
import RastroStore

/// Each carrier's health as the store tells it, for `rastro status` and `GET /v1/carriers`.
/// Read-only: it works beside a running `rastro serve` or without one.
public struct CarrierStatusReport: Sendable {
    public struct Carrier: Sendable {
        public var id: String
        public var name: String
        public var state: CarrierState
        public var reason: String
        /// When the current state began (nil: healthy since ever).
        public var since: Timestamp?
        public var lastSuccess: Timestamp?
        /// The judged polls (up to the window) and their shares by class.
        public var polls: Int
        public var badShare: Double
        public var transientShare: Double
        /// The usual shape of a good answer.
        public var norm: String?
        public var active: Int
        public var stale: Int
        /// How late the most overdue poll is (0: nothing overdue).
        public var queueLag: Duration
        /// The script did not load (the previous version, if any, keeps running).
        public var loadError: String?
    }

    public var carriers: [Carrier]
    public var outboxPending: Int
    public var outboxFailed: Int
    public var outboxOldestDue: Timestamp?

    public static func build(store: Store, registry: CarrierRegistry, thresholds: HealthThresholds = .init(), now: Timestamp) throws -> Self {
        let states = try store.currentCarrierStates()
        let successes = try store.lastSuccessfulPolls()
        let stale = try store.staleShipments(staleBefore: now - thresholds.staleAfter)
        let problems = registry.problems
        var ids = Set(registry.all.map(\.id)).union(problems.keys)
        ids.formUnion(states.keys)
        var carriers: [Carrier] = []
        for id in ids.sorted() {
            var machine = CarrierHealth(carrier: id, thresholds: thresholds)
            if let stored = states[id] { machine.adopt(state: stored.to, reason: stored.reason, since: stored.since) }
            for observation in try store.healthObservations(carrier: id, limit: thresholds.window) { machine.replay(observation) }
            let judged = machine.observations
            let n = Double(max(judged.count, 1))
            let lag = try store.nextDue(carrier: id).map { max(Duration.zero, now - $0) } ?? .zero
            carriers.append(Carrier(
                id: id, name: registry.current(id)?.definition.name ?? id, state: machine.state, reason: machine.reason,
                since: machine.since, lastSuccess: successes[id], polls: judged.count,
                badShare: Double(judged.filter { $0.verdict.class == .bad }.count) / n,
                transientShare: Double(judged.filter { $0.verdict.class == .transient }.count) / n,
                norm: machine.norm, active: stale[id]?.active ?? 0, stale: stale[id]?.stale ?? 0, queueLag: lag,
                loadError: problems[id]))
        }
        let backlog = try store.outboxBacklog(now: now)
        return CarrierStatusReport(carriers: carriers, outboxPending: backlog.pending, outboxFailed: backlog.failed, outboxOldestDue: backlog.oldestDue)
    }
}

extension CarrierStatusReport.Carrier {
    /// The JSON of `GET /v1/carriers`' `health`.
    public var json: [String: Any] {
        func opt(_ v: Any?) -> Any { v ?? NSNull() }
        return [
            "state": state.rawValue, "reason": reason, "since": opt(since?.iso8601), "lastSuccess": opt(lastSuccess?.iso8601),
            "recentPolls": polls, "badShare": (badShare * 1000).rounded() / 1000, "transientShare": (transientShare * 1000).rounded() / 1000,
            "usualResponse": opt(norm), "activeShipments": active, "staleShipments": stale,
            "queueLagSeconds": queueLag.components.seconds, "loadError": opt(loadError),
        ]
    }
}
