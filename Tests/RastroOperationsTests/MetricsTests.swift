import Foundation
import Synchronization
import Prometheus
import RastroCore
import RastroNotify
import RastroService
@testable import RastroStore
import Testing
@testable import RastroOperations

/// The samples of a registry's exposition, by `name{labels}` as written.
func samples(_ registry: PrometheusCollectorRegistry) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in registry.emitToString().split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        out[String(line[..<space])] = value
    }
    return out
}

@Suite("Metrics")
struct MetricsTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-metrics-\(UUID().uuidString)")
    let store: Store
    let registry = PrometheusCollectorRegistry()
    let t0 = Timestamp(secondsSinceEpoch: 1_700_000_000)
    let merchantId: Int64

    init() throws {
        store = try Store.open(directory: directory)
        merchantId = try store.ensureMerchant(name: "m", now: t0).id!
    }

    func register(_ carrier: String, _ numbers: [String], at time: Timestamp? = nil) throws -> [Shipment] {
        try numbers.map { try store.registerShipment(NewShipment(carrier: carrier, trackingNumber: $0), merchantId: merchantId, now: time ?? t0) }
    }

    /// Polls `shipments` once: the first gets a new event, the second nothing new, the rest the given failure.
    func poll(_ shipments: [Shipment], failure: CarrierFailureKind = .notFound, seen: [TrackingEvent] = []) async throws -> PollScheduler.Event {
        let carrier = shipments[0].carrier
        _ = try store.claimDue(carrier: carrier, limit: shipments.count, owner: "p", leaseUntil: t0 + .seconds(60), now: t0)
        let event = TrackingEvent(occurredAt: t0, status: .inTransit, code: "RO", description: "in transit")
        let items = shipments.enumerated().map { index, s -> (shipmentId: Int64, trackingNumber: String, outcome: CarrierOutcome) in
            let outcome: CarrierOutcome = switch index {
            case 0: .tracked(TrackingResult(status: .inTransit, events: [event]))
            case 1: .tracked(TrackingResult(status: .inTransit, events: seen))
            default: .failed(CarrierFailure(kind: failure))
            }
            return (s.id!, s.trackingNumber, outcome)
        }
        let report = PollReport(carrier: carrier, scriptVersion: "v1", owner: "p", startedAt: t0, durationMs: 1500, response: nil,
                                outcome: "ok", error: nil, items: items)
        return .recorded(report, try await store.recordPoll(report, now: t0 + .seconds(2)) { _, _ in .pollAt(t0 + .seconds(3600)) })
    }

    @Test func aRecordedPollCountsTheRequestAndEachShipmentByOutcome() async throws {
        let metrics = PollMetrics(factory: PrometheusMetricsFactory.rastro(registry: registry))
        metrics.record(try await poll(try register("acme", ["A1", "A2", "A3", "A4"])))
        let s = samples(registry)
        #expect(s[#"rastro_polls_total{carrier="acme",outcome="ok"}"#] == 1)
        #expect(s[#"rastro_poll_items_total{carrier="acme",outcome="new_events"}"#] == 1)
        #expect(s[#"rastro_poll_items_total{carrier="acme",outcome="unchanged"}"#] == 1)
        #expect(s[#"rastro_poll_items_total{carrier="acme",outcome="not_found"}"#] == 2)
        #expect(s[#"rastro_poll_seconds_count{carrier="acme"}"#] == 1)
        #expect(s[#"rastro_poll_seconds_sum{carrier="acme"}"#] == 1.5)
        #expect(s[#"rastro_poll_seconds_bucket{carrier="acme",le="2.5"}"#] == 1 && s[#"rastro_poll_seconds_bucket{carrier="acme",le="1.0"}"#] == 0)
    }

    @Test func aFailedRequestCountsUnderItsKindAndAnUnrecordedPollIsCountedToo() throws {
        let metrics = PollMetrics(factory: PrometheusMetricsFactory.rastro(registry: registry))
        let report = PollReport(carrier: "acme", scriptVersion: "v1", owner: "p", startedAt: t0, durationMs: 10, response: nil,
                                outcome: "temporary", error: "HTTP 503", items: [])
        metrics.record(.recordFailed(report, "database is locked"))
        metrics.record(.recordFailed(report, "database is locked"))
        let s = samples(registry)
        #expect(s[#"rastro_polls_total{carrier="acme",outcome="temporary"}"#] == 2)
        #expect(s[#"rastro_poll_record_failures_total{carrier="acme"}"#] == 2)
    }

    @Test func deliveriesAreCountedByKindAndOutcome() throws {
        let metrics = DeliveryMetrics(factory: PrometheusMetricsFactory.rastro(registry: registry))
        let row = OutboxRecord(messageId: "m", dedupeKey: "d", merchantId: 1, shipmentId: nil, kind: .webhook, template: nil, recipient: nil,
                               locale: nil, endpoint: "marketplace", event: "shipment.delivered", payload: "{}", status: .pending, attempts: 0,
                               nextAttemptAt: t0, createdAt: t0)
        metrics.record(.attempted(row, .retry(at: t0, error: "503"), at: t0))
        metrics.record(.attempted(row, .retry(at: t0, error: "503"), at: t0))
        metrics.record(.attempted(row, .sent, at: t0))
        let s = samples(registry)
        #expect(s[#"rastro_outbox_deliveries_total{kind="webhook",outcome="retry"}"#] == 2)
        #expect(s[#"rastro_outbox_deliveries_total{kind="webhook",outcome="sent"}"#] == 1)
        #expect(s[#"rastro_outbox_deliveries_total{kind="webhook",outcome="failed"}"#] == nil)
    }

    @Test func gaugesFollowTheDatabaseAndACarrierWithNothingLeftDropsToZero() async throws {
        let clock = Mutex(t0 + .seconds(90))
        let gauges = OperationsGauges(store: store, factory: PrometheusMetricsFactory.rastro(registry: registry), carriers: { ["idle"] },
                                      now: { clock.withLock { $0 } })
        let acme = try register("acme", ["A1", "A2"])
        let late = try register("late", ["L1"], at: t0 + .seconds(30))
        try gauges.refresh()
        var s = samples(registry)
        #expect(s[#"rastro_active_shipments{carrier="acme"}"#] == 2 && s[#"rastro_due_shipments{carrier="acme"}"#] == 2)
        #expect(s[#"rastro_queue_lag_seconds{carrier="acme"}"#] == 90)
        #expect(s[#"rastro_queue_lag_seconds{carrier="late"}"#] == 60)
        #expect(s[#"rastro_active_shipments{carrier="idle"}"#] == 0)
        #expect(s[#"rastro_outbox_backlog{kind="email"}"#] == 0 && s[#"rastro_outbox_failed{kind="webhook"}"#] == 0)

        _ = try await poll(acme)
        _ = try store.cancelShipment(id: late[0].id!, merchantId: merchantId, now: t0)
        try gauges.refresh()
        s = samples(registry)
        #expect(s[#"rastro_due_shipments{carrier="acme"}"#] == 0 && s[#"rastro_queue_lag_seconds{carrier="acme"}"#] == 0)
        #expect(s[#"rastro_last_successful_poll_timestamp_seconds{carrier="acme"}"#] == Double(t0.secondsSinceEpoch + 2))
        #expect(s[#"rastro_active_shipments{carrier="late"}"#] == 0 && s[#"rastro_queue_lag_seconds{carrier="late"}"#] == 0)
    }
}
