import Testing
@testable import RastroCore

@Suite("Timestamp")
struct TimestampTests {
    @Test("ISO-8601 round-trips through UTC")
    func roundTrip() throws {
        let t = try #require(Timestamp(iso8601: "2016-12-26T17:22:00Z"))
        #expect(t.iso8601 == "2016-12-26T17:22:00Z")
        #expect(Timestamp(iso8601: "2016-12-26T15:22:00-02:00") == t)
        #expect(Timestamp(iso8601: "2016-12-26T17:22:00.123Z") == t)
    }

    @Test("malformed times are refused", arguments: ["", "2016-12-26", "2016-13-01T00:00:00Z", "2016-02-30T00:00:00Z", "2016-12-26T17:22:00", "x016-12-26T17:22:00Z"])
    func malformedRefused(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test("every day from 1900 to 2100 survives the civil calendar round trip")
    func civilCalendarRoundTrip() {
        for days in stride(from: -25567, to: 47482, by: 1) {
            let (y, m, d) = Timestamp.civilFromDays(Int64(days))
            #expect(Timestamp.daysFromCivil(year: y, month: m, day: d) == days)
        }
    }

    @Test("components shift to a local offset")
    func localComponents() throws {
        let t = try #require(Timestamp(iso8601: "2016-12-26T01:30:00Z"))
        let local = t.components(offsetSeconds: -3 * 3600)
        #expect(local.date == "2016-12-25")
        #expect(local.time == "22:30")
    }
}

@Suite("Shipment status from events")
struct ShipmentStatusTests {
    func event(_ at: String, _ status: TrackingStatus, _ code: String = "X", retracts: Bool = false) -> TrackingEvent {
        TrackingEvent(occurredAt: Timestamp(iso8601: at)!, status: status, code: code, description: code, retractsPrevious: retracts)
    }

    @Test("no events means pending")
    func noEventsPending() { #expect(ShipmentStatus.derive(from: []) == .pending) }

    @Test("the newest event wins whatever the input order")
    func newestWinsInAnyOrder() {
        let events = [event("2024-01-01T10:00:00Z", .inTransit), event("2024-01-03T10:00:00Z", .availableForPickup),
                      event("2024-01-02T10:00:00Z", .outForDelivery)]
        // every permutation gives the same answer
        for p in permutations(events) { #expect(ShipmentStatus.derive(from: p) == .availableForPickup) }
    }

    @Test("delivered outranks a later out-for-delivery scan")
    func deliveredOutranksLateScan() {
        let events = [event("2024-01-02T12:00:00Z", .outForDelivery), event("2024-01-02T11:00:00Z", .delivered)]
        #expect(ShipmentStatus.derive(from: events) == .delivered)
    }

    @Test("a declared reversal retracts the previous event")
    func reversalRetracts() {
        let events = [event("2024-01-02T12:00:00Z", .inTransit, "EST", retracts: true),
                      event("2024-01-02T11:00:00Z", .delivered, "BDE"), event("2024-01-01T11:00:00Z", .outForDelivery, "OEC")]
        #expect(ShipmentStatus.derive(from: events) == .outForDelivery)
    }

    @Test("the same event seen twice counts once")
    func duplicatesCountOnce() {
        let e = event("2024-01-02T11:00:00Z", .inTransit)
        #expect(ShipmentStatus.effectiveTimeline([e, e, e]).count == 1)
    }

    func permutations<T>(_ a: [T]) -> [[T]] {
        guard a.count > 1 else { return [a] }
        return a.indices.flatMap { i -> [[T]] in
            var rest = a
            let x = rest.remove(at: i)
            return permutations(rest).map { [x] + $0 }
        }
    }
}
