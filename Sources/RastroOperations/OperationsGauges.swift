import CoreMetrics
import Foundation
import Logging
import RastroCore
import RastroStore
import Synchronization

/// Gauges read from the database every few seconds (one `operationalSnapshot`):
/// per carrier `rastro_active_shipments`, `rastro_due_shipments`,
/// `rastro_queue_lag_seconds` (now − the oldest due poll, 0 when nothing is
/// overdue) and `rastro_last_successful_poll_timestamp_seconds`; per kind
/// `rastro_outbox_backlog` (pending), `rastro_outbox_failed` and
/// `rastro_outbox_lag_seconds`.
public final class OperationsGauges: Sendable {
    let store: Store
    let factory: any MetricsFactory
    let carriers: @Sendable () -> [String]
    let now: @Sendable () -> Timestamp
    let logger: Logger
    /// Carriers reported last time: one that disappears is set to zero, not left at its last value.
    private let reported = Mutex(Set<String>())

    /// `carriers`: ids to report even without active shipments (the loaded carriers).
    public init(store: Store, factory: any MetricsFactory, carriers: @escaping @Sendable () -> [String] = { [] },
                now: @escaping @Sendable () -> Timestamp, logger: Logger = Logger(label: "rastro.metrics")) {
        self.store = store
        self.factory = factory
        self.carriers = carriers
        self.now = now
        self.logger = logger
    }

    /// Reads one snapshot and sets every gauge from it.
    public func refresh() throws {
        let snapshot = try store.operationalSnapshot(now: now(), carriers: carriers())
        let current = Set(snapshot.carriers.map(\.id))
        for carrier in snapshot.carriers {
            set("rastro_active_shipments", carrier.id, Double(carrier.activeShipments))
            set("rastro_due_shipments", carrier.id, Double(carrier.dueShipments))
            set("rastro_queue_lag_seconds", carrier.id, Double(snapshot.queueLag(carrier).components.seconds))
            if let last = carrier.lastSuccessfulPoll {
                set("rastro_last_successful_poll_timestamp_seconds", carrier.id, Double(last.secondsSinceEpoch))
            }
        }
        for gone in reported.withLock({ old in defer { old = current }; return old.subtracting(current) }) {
            for name in ["rastro_active_shipments", "rastro_due_shipments", "rastro_queue_lag_seconds"] { set(name, gone, 0) }
        }
        for outbox in snapshot.outbox {
            let kind = [("kind", outbox.kind.rawValue)]
            Gauge(label: "rastro_outbox_backlog", dimensions: kind, factory: factory).record(outbox.pending)
            Gauge(label: "rastro_outbox_failed", dimensions: kind, factory: factory).record(outbox.failed)
            Gauge(label: "rastro_outbox_lag_seconds", dimensions: kind, factory: factory).record(snapshot.outboxLag(outbox).components.seconds)
        }
    }

    /// Refreshes every `interval` until the task is cancelled; a failed read is logged and retried next time.
    public func run(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try refresh()
            } catch {
                logger.warning("could not read the operational snapshot for metrics", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func set(_ name: String, _ carrier: String, _ value: Double) {
        Gauge(label: name, dimensions: [("carrier", carrier)], factory: factory).record(value)
    }
}
