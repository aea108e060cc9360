import Testing
@testable import RastroCore

@Suite("Status machine")
struct ShipmentStatusTests {
    static let t0 = Timestamp(secondsSinceEpoch: 1_700_000_000)

    static func event(_ minutes: Int64, _ status: TrackingStatus, _ code: String = "X", retracts: Bool = false) -> TrackingEvent {
        TrackingEvent(occurredAt: Timestamp(secondsSinceEpoch: t0.secondsSinceEpoch + minutes * 60), status: status,
                      code: code, description: code, retractsPrevious: retracts)
    }

    @Test func theNewestEventWins() {
        let events = [Self.event(30, .outForDelivery), Self.event(10, .inTransit), Self.event(0, .infoReceived)]
        #expect(ShipmentStatus.derive(from: events) == .outForDelivery)
    }

    @Test func noEventsMeansPending() {
        #expect(ShipmentStatus.derive(from: []) == .pending)
    }

    @Test func deliveredOutranksALaterOutForDeliveryScan() {
        let events = [Self.event(50, .outForDelivery), Self.event(40, .delivered), Self.event(30, .outForDelivery)]
        #expect(ShipmentStatus.derive(from: events) == .delivered)
    }

    @Test func aDeclaredReversalRetractsThePreviousEvent() {
        let events = [Self.event(20, .exception, "EST", retracts: true), Self.event(10, .delivered, "BDE"), Self.event(0, .inTransit, "RO")]
        #expect(ShipmentStatus.derive(from: events) == .inTransit)
    }

    // Properties over random timelines (seeded, so a failure names its seed).
    static func randomTimeline(_ rng: inout SplitMix64) -> [TrackingEvent] {
        let statuses: [TrackingStatus] = [.infoReceived, .inTransit, .outForDelivery, .attemptFailed, .delivered, .exception, .availableForPickup]
        let count = Int.random(in: 0...12, using: &rng)
        // Distinct times: ties are ordered by the carrier's listing, which shuffling would change.
        var minutes = Set<Int64>()
        while minutes.count < count { minutes.insert(Int64.random(in: 0...10_000, using: &rng)) }
        return minutes.map { Self.event($0, statuses.randomElement(using: &rng)!, "C\($0 % 7)") }
    }

    @Test func orderOfArrivalDoesNotChangeTheStatus() {
        for seed in 0..<500 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            let events = Self.randomTimeline(&rng)
            let expected = ShipmentStatus.derive(from: events)
            for _ in 0..<5 {
                #expect(ShipmentStatus.derive(from: events.shuffled(using: &rng)) == expected, "seed \(seed)")
            }
        }
    }

    @Test func seeingEventsAgainDoesNotChangeTheStatus() {
        for seed in 0..<500 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            let events = Self.randomTimeline(&rng)
            let repeated = events + events.filter { _ in Bool.random(using: &rng) }
            #expect(ShipmentStatus.derive(from: repeated.shuffled(using: &rng)) == ShipmentStatus.derive(from: events), "seed \(seed)")
            #expect(ShipmentStatus.effectiveTimeline(repeated).count == events.count, "seed \(seed)")
        }
    }

    @Test func theStatusIsTheNewestEventsUnlessADeliveryCameBefore() {
        for seed in 0..<500 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            let events = Self.randomTimeline(&rng)
            guard let newest = events.max(by: { $0.occurredAt < $1.occurredAt }) else { continue }
            let status = ShipmentStatus.derive(from: events)
            if newest.status == .outForDelivery && events.contains(where: { $0.status == .delivered }) {
                #expect(status == .delivered, "seed \(seed)")
            } else {
                #expect(status == newest.status, "seed \(seed)")
            }
        }
    }

    @Test func theSameScanHasTheSameIdentityAndAnotherScanAnother() {
        let a = Self.event(10, .inTransit, "RO")
        var b = a
        b.description = "re-worded by a newer API"
        #expect(a.identity(carrier: "correios") == b.identity(carrier: "correios"))
        #expect(a.identity(carrier: "correios") != a.identity(carrier: "dhl"))
        var moved = a
        moved.location = EventLocation(city: "Curitiba")
        #expect(a.identity(carrier: "correios") != moved.identity(carrier: "correios"))
        #expect(a.identity(carrier: "x") != Self.event(11, .inTransit, "RO").identity(carrier: "x"))
        #expect(a.identity(carrier: "x").count == 16)
    }
}
