import Foundation
import Logging
import RastroCore
import RastroStore
import Synchronization

/// Carrier health as a service: every recorded poll is fed to its carrier's
/// `CarrierHealth`; now and then the share of stale shipments is too. A change of
/// state is recorded with its alerts in one transaction (so it is alerted once,
/// even across restarts) and logged.
///
/// The judgement lives in `CarrierHealth` (pure, in RastroCore); this type only
/// loads history, persists transitions and keeps one machine per carrier.
public final class CarrierHealthService: Sendable {
    public let thresholds: HealthThresholds
    let store: Store
    let routing: CarrierAlertRouting?
    let now: @Sendable () -> Timestamp
    let logger: Logger
    let onTransition: @Sendable (CarrierTransitionRecord) -> Void
    private let machines = Mutex<[String: CarrierHealth]>([:])

    public init(store: Store, thresholds: HealthThresholds = .init(), routing: CarrierAlertRouting?,
                now: @escaping @Sendable () -> Timestamp, logger: Logger = Logger(label: "rastro.health"),
                onTransition: @escaping @Sendable (CarrierTransitionRecord) -> Void = { _ in }) {
        self.store = store
        self.thresholds = thresholds
        self.routing = routing
        self.now = now
        self.logger = logger
        self.onTransition = onTransition
    }

    /// The scheduler's event hook: feeds recorded polls in.
    public func observe(_ event: PollScheduler.Event) {
        guard case .recorded(let report, let recording) = event, let verdict = recording.verdict else { return }
        observe(carrier: report.carrier, HealthObservation(at: report.startedAt, verdict: verdict, shape: recording.shape))
    }

    public func observe(carrier: String, _ observation: HealthObservation) {
        update(carrier) { $0.record(observation) } onFailure: { $0.replay(observation) }
    }

    /// Counts stale shipments of every carrier and lets each machine judge them.
    public func refreshStale() {
        let current = now()
        let counts: [String: (active: Int, stale: Int)]
        do { counts = try store.staleShipments(staleBefore: current - thresholds.staleAfter) } catch {
            logger.error("could not count stale shipments", metadata: ["error": "\(error)"])
            return
        }
        for (carrier, count) in counts {
            update(carrier) { $0.updateStale(active: count.active, stale: count.stale, now: current) } onFailure: { _ in }
        }
    }

    /// Refreshes the stale counts every `every` until cancelled.
    public func run(every: Duration = .seconds(60)) async {
        while !Task.isCancelled {
            refreshStale()
            try? await Task.sleep(for: every)
        }
    }

    /// A carrier's machine as it stands (loaded from the store on first use).
    public func health(_ carrier: String) -> CarrierHealth {
        machines.withLock { machines in
            if let machine = machines[carrier] { return machine }
            let machine = load(carrier)
            machines[carrier] = machine
            return machine
        }
    }

    /// Applies `change` to a copy; the copy replaces the machine only once its
    /// transition (if any) is recorded. If recording fails, the observation is kept
    /// without judging and the next one judges again — the alert is late, never lost.
    private func update(_ carrier: String, _ change: (inout CarrierHealth) -> HealthTransition?,
                        onFailure: (inout CarrierHealth) -> Void) {
        machines.withLock { machines in
            let old = machines[carrier] ?? load(carrier)
            var next = old
            guard let transition = change(&next) else { machines[carrier] = next; return }
            do {
                if let record = try store.recordTransition(transition, routing: routing) {
                    log(transition)
                    onTransition(record)
                } else if let stored = try store.currentCarrierStates()[carrier] {
                    // Another process (or this one before a restart) recorded it first.
                    next.adopt(state: stored.to, reason: stored.reason, since: stored.since)
                }
                machines[carrier] = next
            } catch {
                logger.error("could not record a carrier's change of state; judging again on its next poll", metadata: [
                    "carrier": "\(carrier)", "to": "\(transition.to.rawValue)", "error": "\(error)",
                ])
                var kept = old
                onFailure(&kept)
                machines[carrier] = kept
            }
        }
    }

    private func load(_ carrier: String) -> CarrierHealth {
        var machine = CarrierHealth(carrier: carrier, thresholds: thresholds)
        do {
            if let stored = try store.currentCarrierStates()[carrier] {
                machine.adopt(state: stored.to, reason: stored.reason, since: stored.since)
            }
            for observation in try store.healthObservations(carrier: carrier, limit: thresholds.window) {
                machine.replay(observation)
            }
        } catch {
            logger.error("could not load a carrier's health history; starting afresh", metadata: ["carrier": "\(carrier)", "error": "\(error)"])
        }
        return machine
    }

    private func log(_ t: HealthTransition) {
        let metadata: Logger.Metadata = ["carrier": "\(t.carrier)", "from": "\(t.from.rawValue)", "to": "\(t.to.rawValue)",
                                         "since": "\(t.since.iso8601)", "reason": "\(t.reason)"]
        switch t.to {
        case .broken: logger.error("carrier broken", metadata: metadata)
        case .degraded: logger.warning("carrier degraded", metadata: metadata)
        case .healthy: logger.notice("carrier recovered", metadata: metadata)
        }
    }
}
