import CoreMetrics
import RastroCore
import RastroService
import RastroStore

/// Poll counters and durations, fed by the scheduler's `onEvent`:
/// `rastro_polls_total{carrier,outcome}` (one per carrier request: `ok` or the
/// failure kind), `rastro_poll_items_total{carrier,outcome}` (one per shipment:
/// `new_events`, `unchanged` or the failure kind), `rastro_poll_seconds{carrier}`
/// (the whole request: auth, HTTP and parse) and
/// `rastro_poll_record_failures_total{carrier}` (polls the database did not take).
public struct PollMetrics: Sendable {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    public func record(_ event: PollScheduler.Event) {
        switch event {
        case .recorded(let report, let recording):
            count(report)
            let withNewEvents = Set(recording.changes.filter { !$0.newEvents.isEmpty }.compactMap(\.shipment.id))
            var items: [String: Int] = [:]
            for item in report.items {
                switch item.outcome {
                case .tracked: items[withNewEvents.contains(item.shipmentId) ? "new_events" : "unchanged", default: 0] += 1
                case .failed(let failure): items[failure.kind.rawValue, default: 0] += 1
                }
            }
            for (outcome, n) in items {
                Counter(label: "rastro_poll_items_total", dimensions: [("carrier", report.carrier), ("outcome", outcome)], factory: factory)
                    .increment(by: n)
            }
        case .recordFailed(let report, _):
            count(report)
            Counter(label: "rastro_poll_record_failures_total", dimensions: [("carrier", report.carrier)], factory: factory).increment()
        case .released:
            break
        }
    }

    private func count(_ report: PollReport) {
        Counter(label: "rastro_polls_total", dimensions: [("carrier", report.carrier), ("outcome", report.outcome)], factory: factory).increment()
        CoreMetrics.Timer(label: "rastro_poll_seconds", dimensions: [("carrier", report.carrier)], factory: factory)
            .recordMilliseconds(report.durationMs)
    }
}
