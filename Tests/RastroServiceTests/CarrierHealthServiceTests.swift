import Foundation
import RastroCore
import RastroNotify
import RastroService
import RastroStore
import RastroTestSupport
import Synchronization
import Testing

/// The test carrier, strict about its shape the way a carrier script should be:
/// a body it does not recognise is `broken`, not "no parcels found".
func strictCarrier(id: String) -> String {
    testCarrier(id: id, batch: 1, concurrency: 1).replacingOccurrences(
        of: #"if type(doc) ~= "table" then return failure.broken("not JSON: " .. tostring(err)) end"#,
        with: #"if type(doc) ~= "table" or type(doc.parcels) ~= "table" then return failure.broken("no parcels list: " .. tostring(err)) end"#)
}

@Suite("Carrier health through the scheduler", .serialized)
struct CarrierHealthServiceTests {
    static let codes = (1...12).map { "AC\($0)" }
    static var good: [[String: Any]] { [["path": "/track", "headers": ["content-type": "application/json"],
                                         "body": parcels(codes.map { ($0, [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")]) })]] }

    enum Breakage: String, CaseIterable, CustomTestStringConvertible {
        case maintenancePage, unknownJSONShape, refusedCredentials
        var testDescription: String { rawValue }
        var routes: [[String: Any]] {
            switch self {
            case .maintenancePage:
                [["path": "/track", "headers": ["content-type": "text/html"], "body": "<html><body>Down for maintenance</body></html>"]]
            case .unknownJSONShape:
                [["path": "/track", "headers": ["content-type": "application/json"], "body": #"{"data":{"shipments":[]},"version":2}"#]]
            case .refusedCredentials:
                [["path": "/track", "status": 401, "headers": ["content-type": "application/json"], "body": #"{"error":"invalid_token"}"#]]
            }
        }
        var expectedReason: String {
            switch self {
            case .maintenancePage: "returned HTML instead of JSON {parcels}"
            case .unknownJSONShape: "returned JSON {data,version} instead of JSON {parcels}"
            case .refusedCredentials: "were refused (authentication failed: HTTP 401 JSON {error})"
            }
        }
    }

    /// A harness whose polls feed carrier health, with the repository's rules and an operator email and webhook.
    static func harness(_ server: LoopbackCarrier) throws -> (ServiceHarness, CarrierHealthService, operatorId: Int64) {
        let h = try ServiceHarness(carriers: ["acme": strictCarrier(id: "acme")], baseURLs: ["acme": server.baseURL])
        let rules = RuleRegistry(directory: LoopbackCarrier.packageRoot.appendingPathComponent("rules"))
        rules.reload()
        let engine = try RulesEngine(registry: rules) { _ in .init(name: "Acme", trackingURL: nil) }
        let clock = h.clock
        let health = CarrierHealthService(store: h.store, routing: engine.carrierAlertRouting(operatorEmail: "ops@example.com"), now: { clock.now })
        h.listeners.append { health.observe($0) }
        let ops = try h.store.ensureMerchant(name: Store.operatorMerchant, now: h.clock.now)
        _ = try h.store.upsertWebhookEndpoint(merchantId: ops.id!, name: "alerts", url: "https://alerts.example.com/hook", secret: "whsec_dGVzdA==", now: h.clock.now)
        for code in codes { try h.register("acme", code) }
        return (h, health, ops.id!)
    }

    /// Waits for one recorded poll, then moves the clock to the next due shipment.
    static func pollOnce(_ h: ServiceHarness) async throws -> PollReport {
        let (report, _) = try #require(await h.nextRecording())
        if let due = try h.store.nextDue(carrier: "acme"), due > h.clock.now { h.clock.set(due) }
        h.scheduler.wake()
        return report
    }

    @Test(arguments: Breakage.allCases)
    func aCarrierThatChangesUnderUsIsBrokenWithinTenPollsAlertedOnceAndRecoveredOnce(_ breakage: Breakage) async throws {
        let server = try LoopbackCarrier(routes: Self.good)
        let (h, health, operatorId) = try Self.harness(server)
        // Polls keep going while shipments are due, so the switch may land mid-poll: count, as
        // each poll is recorded, the failing polls in a row when the carrier turned broken and
        // the good ones in a row when it recovered.
        let runs = Mutex((failing: 0, good: 0, atBreak: Int?.none, atRecovery: Int?.none))
        h.listeners.append { event in
            guard case .recorded(_, let recording) = event, let verdict = recording.verdict else { return }
            let state = health.health("acme").state
            runs.withLock { r in
                if verdict.class == .good { r.good += 1; r.failing = 0 } else { r.failing += 1; r.good = 0 }
                if state == .broken, r.atBreak == nil { r.atBreak = r.failing }
                if state == .healthy, r.atBreak != nil, r.atRecovery == nil { r.atRecovery = r.good }
            }
        }
        h.start()
        for _ in 0..<20 { _ = try await Self.pollOnce(h) }
        #expect(health.health("acme").state == .healthy)

        try server.replaceRoutes(breakage.routes)
        var polls = 0
        while try h.store.carrierTransitions(carrier: "acme").isEmpty, polls < 40 {
            _ = try await Self.pollOnce(h)
            polls += 1
        }
        #expect(runs.withLock { $0.atBreak } == 10, "broken after \(runs.withLock { $0.atBreak } ?? -1) failing polls; the documented run is 10")
        for _ in 0..<15 { _ = try await Self.pollOnce(h) }
        let transitions = try h.store.carrierTransitions(carrier: "acme")
        #expect(transitions.map(\.to) == [.broken], "exactly one alert while broken")
        #expect(transitions.first?.reason.contains(breakage.expectedReason) == true, "\(transitions.first?.reason ?? "")")

        // Polling goes on, backing off, and no shipment is dropped.
        let during = try Self.codes.indices.map { try h.shipment(Int64($0 + 1)) }
        #expect(during.allSatisfy { $0.nextPollAt != nil && $0.status == .inTransit })
        #expect(during.contains { $0.pollFailures >= 2 })
        // A restarted process knows the carrier is broken and does not alert again.
        let restarted = CarrierHealthService(store: h.store, routing: nil, now: { h.clock.now })
        #expect(restarted.health("acme").state == .broken)

        try server.replaceRoutes(Self.good)
        polls = 0
        while try h.store.carrierTransitions(carrier: "acme").count < 2, polls < 40 {
            _ = try await Self.pollOnce(h)
            polls += 1
        }
        for _ in 0..<10 { _ = try await Self.pollOnce(h) }
        await h.stop()
        #expect(runs.withLock { $0.atRecovery } == 5, "recovered after \(runs.withLock { $0.atRecovery } ?? -1) good polls; the documented run is 5")
        #expect(try h.store.carrierTransitions(carrier: "acme").map(\.to) == [.healthy, .broken])

        let alerts = try h.store.outbox(merchantId: operatorId).sorted { $0.id! < $1.id! }
        #expect(alerts.map { $0.template ?? $0.event ?? "" } == ["carrier.broken", "carrier_alert", "carrier.healthy", "carrier_alert"])
        #expect(alerts.filter { $0.kind == .email }.allSatisfy { $0.recipient == "ops@example.com" })
        let after = try Self.codes.indices.map { try h.shipment(Int64($0 + 1)) }
        #expect(after.allSatisfy { $0.nextPollAt != nil && $0.status == .inTransit })
        for s in after { #expect(try h.store.events(shipmentId: s.id!).count == 1) }
    }

    @Test func aQuietCarrierAnsweringValidlyIsNotFlagged() async throws {
        let server = try LoopbackCarrier(routes: Self.good)
        let (h, health, operatorId) = try Self.harness(server)
        h.start()
        for _ in 0..<60 { _ = try await Self.pollOnce(h) }
        await h.stop()
        #expect(health.health("acme").state == .healthy)
        #expect(try h.store.carrierTransitions(carrier: "acme").isEmpty)
        #expect(try h.store.outbox(merchantId: operatorId).isEmpty)
        let report = try CarrierStatusReport.build(store: h.store, registry: h.registry, now: h.clock.now)
        let acme = try #require(report.carriers.first { $0.id == "acme" })
        #expect(acme.state == .healthy && acme.polls == 50 && acme.badShare == 0 && acme.norm == "JSON {parcels}" && acme.lastSuccess != nil)
        #expect(acme.active == 12)
    }

    @Test func aMerchantsRulesCanTellCustomersTheirTrackingIsDelayed() async throws {
        let server = try LoopbackCarrier(routes: Self.good)
        let (h, health, _) = try Self.harness(server)
        // example_store's rules email customers when a carrier breaks.
        let shop = try h.store.ensureMerchant(name: "example_store", now: h.clock.now)
        let s = try h.store.registerShipment(NewShipment(carrier: "acme", trackingNumber: "AC99", customerEmail: "ana@example.com"),
                                             merchantId: shop.id!, now: h.clock.now)
        h.start()
        try server.replaceRoutes(Breakage.maintenancePage.routes)
        while try h.store.carrierTransitions(carrier: "acme").isEmpty { _ = try await Self.pollOnce(h) }
        await h.stop()
        #expect(health.health("acme").state == .broken)
        let mails = try h.store.outbox(merchantId: shop.id!).filter { $0.template == "tracking_delayed" }
        #expect(mails.count == 1 && mails.first?.recipient == "ana@example.com" && mails.first?.shipmentId == s.id)
        // The default rules say nothing to other merchants' customers.
        #expect(try h.store.outbox(merchantId: h.merchantId).filter { $0.template == "tracking_delayed" }.isEmpty)
    }
}
