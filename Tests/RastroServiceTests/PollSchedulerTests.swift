import Foundation
import RastroCore
import RastroService
import RastroStore
import RastroTestSupport
import Testing

@Suite("Polling service", .serialized)
struct PollSchedulerTests {
    static let t0 = Timestamp(secondsSinceEpoch: 1_700_000_000)

    @Test func aParcelMovesThroughItsTimelineOnceAndPollingStopsAtDelivered() async throws {
        let transit = [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")]
        let ofd = [(at: "2023-11-15T08:00:00Z", status: "out_for_delivery", code: "OEC")] + transit
        let delivered = [(at: "2023-11-15T15:00:00Z", status: "delivered", code: "BDE")] + ofd
        let server = try LoopbackCarrier(routes: [["path": "/track", "sequence": [
            ["body": parcels([("AC1", transit)])], ["body": parcels([("AC1", ofd)])],
            ["body": parcels([("AC1", ofd)])], ["body": parcels([("AC1", delivered)])],
        ]]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme")], baseURLs: ["acme": server.baseURL])
        h.start()
        let s = try h.register("acme", "AC1")
        var statuses: [TrackingStatus] = []
        var newEvents: [Int] = []
        for _ in 0..<4 {
            let (_, recording) = try #require(await h.nextRecording())
            newEvents.append(recording.newEvents)
            let shipment = try h.shipment(s.id!)
            statuses.append(shipment.status)
            if let next = shipment.nextPollAt { h.clock.set(next); h.scheduler.wake() }
        }
        await h.stop()
        #expect(statuses == [.inTransit, .outForDelivery, .outForDelivery, .delivered])
        #expect(newEvents == [1, 1, 0, 1])
        #expect(try h.store.events(shipmentId: s.id!).map(\.code) == ["RO", "OEC", "BDE"])
        let final = try h.shipment(s.id!)
        #expect(final.nextPollAt == nil && final.leaseOwner == nil)
        #expect(server.requests().count == 4)
    }

    @Test func aShipmentThatNeverDeliversExpiresAtTheWindowsEndAndIsPolledNoMore() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/track", "body": parcels([("AC2", [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")])])]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme", every: "6h", window: "1d")], baseURLs: ["acme": server.baseURL])
        h.start()
        let s = try h.register("acme", "AC2", dispatchedAt: Self.t0)
        var polls = 0
        while polls < 20 {
            _ = try #require(await h.nextRecording())
            polls += 1
            let shipment = try h.shipment(s.id!)
            guard let next = shipment.nextPollAt else { break }
            #expect(next <= Self.t0 + .seconds(86400), "a poll was scheduled after the window")
            h.clock.set(next)
            h.scheduler.wake()
        }
        await h.stop()
        let final = try h.shipment(s.id!)
        #expect(final.status == .expired && final.expiryReason == "window_ended" && final.nextPollAt == nil)
        #expect(polls >= 5 && polls <= 6)  // at 0 h, about every 6 h, and at the window's end
        #expect(h.clock.now == Self.t0 + .seconds(86400))
    }

    @Test func aCarrierAnswering500sBacksOffExponentially() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/track", "status": 503, "body": "maintenance"]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme")], baseURLs: ["acme": server.baseURL])
        h.start()
        let s = try h.register("acme", "AC3")
        var gaps: [Int64] = []
        for _ in 0..<4 {
            let (report, _) = try #require(await h.nextRecording())
            #expect(report.outcome == "temporary")
            let shipment = try h.shipment(s.id!)
            let next = try #require(shipment.nextPollAt)
            gaps.append((next - h.clock.now).wholeSeconds)
            h.clock.set(next)
            h.scheduler.wake()
        }
        await h.stop()
        // Equal jitter on 60 s doubling: [30, 60], [60, 120], [120, 240], [240, 480].
        for (i, gap) in gaps.enumerated() {
            let ceiling = Int64(60 << i)
            #expect(gap >= ceiling / 2 && gap <= ceiling, "attempt \(i + 1): \(gap) s")
        }
        #expect(try h.shipment(s.id!).pollFailures == 4)
    }

    @Test func oneSlowCarrierDoesNotDelayAnother() async throws {
        let slow = try LoopbackCarrier(routes: [["path": "/track", "delay": 3, "body": parcels([])]])
        let fast = try LoopbackCarrier(routes: [["path": "/track", "body": parcels([("AC9", [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")])])]])
        let h = try ServiceHarness(carriers: ["slow": testCarrier(id: "slow", batch: 1, concurrency: 1), "fast": testCarrier(id: "fast")],
                                   baseURLs: ["slow": slow.baseURL, "fast": fast.baseURL])
        for i in 1...3 { try h.register("slow", "AC\(i)") }
        h.start()
        #expect(await slow.waitForRequests(1))  // the slow carrier's first request is out
        try h.register("fast", "AC9")
        let started = ContinuousClock.now
        let (first, _) = try #require(await h.nextRecording())
        #expect(first.carrier == "fast")
        #expect(ContinuousClock.now - started < .seconds(2))
        await h.stop()
    }

    @Test func fiftyCorreiosStyleNumbersDueTogetherGoOutAsOneRequest() async throws {
        let codes = (1...50).map { "AC\(1000 + $0)" }
        let body = parcels(codes.map { ($0, [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")]) })
        let server = try LoopbackCarrier(routes: [["path": "/track", "body": body]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme", batch: 50)], baseURLs: ["acme": server.baseURL])
        for code in codes { try h.register("acme", code) }
        h.start()
        let (report, recording) = try #require(await h.nextRecording())
        await h.stop()
        #expect(report.items.count == 50 && recording.newEvents == 50)
        #expect(server.requests().count == 1)
        #expect((server.requests().first?["path"] as? String)?.components(separatedBy: "n=").count == 51)
    }

    @Test func shuttingDownLetsAPollInFlightFinishAndRecord() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/track", "delay": 1, "body": parcels([("AC5", [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")])])]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme")], baseURLs: ["acme": server.baseURL])
        let s = try h.register("acme", "AC5")
        h.start()
        #expect(await server.waitForRequests(1))  // the poll is in flight (the server holds it 1 s)
        await h.stop()  // returns only once the poll in flight has been recorded
        let shipment = try h.shipment(s.id!)
        #expect(shipment.status == .inTransit && shipment.leaseOwner == nil)
    }
}

@Suite("Poll policy overrides", .serialized)
struct PollOverrideTests {
    @Test func aMerchantsCadenceAndWindowOverrideTheCarriers() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/track", "body": parcels([("AC1", [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")])])]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme", every: "6h", window: "12d12h")], baseURLs: ["acme": server.baseURL])
        _ = try h.store.setMerchantPolling(name: "loja", every: 3600, window: 2 * 86400, now: h.clock.now)
        let s = try h.register("acme", "AC1", dispatchedAt: h.clock.now)
        h.start()
        _ = try #require(await h.nextRecording())
        let next = try #require(try h.shipment(s.id!).nextPollAt)
        let gap = (next - h.clock.now).wholeSeconds
        #expect(gap >= 3240 && gap <= 3960, "merchant cadence 1 h ± 10 %, got \(gap) s")
        h.clock.set(h.clock.now + .seconds(2 * 86400))
        h.scheduler.wake()
        _ = try #require(await h.nextRecording())
        await h.stop()
        #expect(try h.shipment(s.id!).status == .expired)
    }

    @Test func aCarrierScriptsCadenceOverridesThePlatformDefault() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/track", "body": parcels([("AC1", [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")])])]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme", every: "2h")], baseURLs: ["acme": server.baseURL])
        let s = try h.register("acme", "AC1")
        h.start()
        _ = try #require(await h.nextRecording())
        await h.stop()
        let gap = (try #require(try h.shipment(s.id!).nextPollAt) - h.clock.now).wholeSeconds
        #expect(gap >= 6480 && gap <= 7920, "carrier cadence 2 h ± 10 %, got \(gap) s")
    }
}
