import Testing
@testable import RastroCore

@Suite("Carrier health")
struct CarrierHealthTests {
    static let t0 = Timestamp(secondsSinceEpoch: 1_763_900_000)
    static let json = "JSON {parcels}"

    /// Feeds `count` polls one minute apart from `start`; returns the transitions.
    static func feed(_ machine: inout CarrierHealth, _ verdict: PollVerdict, shape: String = json, count: Int,
                     from start: inout Timestamp, every: Duration = .seconds(60)) -> [HealthTransition] {
        var out: [HealthTransition] = []
        for _ in 0..<count {
            if let t = machine.record(HealthObservation(at: start, verdict: verdict, shape: shape)) { out.append(t) }
            start = start + every
        }
        return out
    }

    @Test func aQuietCarrierThatAnswersValidlyIsNeverFlagged() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        let transitions = Self.feed(&machine, .unchanged, count: 2_000, from: &t, every: .seconds(600))
            + Self.feed(&machine, .notFound, count: 30, from: &t)
        #expect(transitions.isEmpty)
        #expect(machine.state == .healthy)
        _ = machine.updateStale(active: 10, stale: 10, now: t)   // fewer than the minimum: not judged
        #expect(machine.state == .healthy)
    }

    @Test func tenBadPollsInARowBreakTheCarrierWithOneTransitionThatSaysWhatChanged() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        #expect(Self.feed(&machine, .newEvents, count: 30, from: &t).isEmpty)
        let switched = t
        let nine = Self.feed(&machine, .broken, shape: "HTML", count: 9, from: &t)
        #expect(nine.isEmpty, "a run shorter than brokenRun is undecided")
        let tenth = Self.feed(&machine, .broken, shape: "HTML", count: 1, from: &t)
        let transition = try! #require(tenth.first)
        #expect(transition.from == .healthy && transition.to == .broken && transition.since == switched)
        #expect(transition.reason.contains("returned HTML instead of JSON {parcels}"), "\(transition.reason)")
        #expect(Self.feed(&machine, .broken, shape: "HTML", count: 100, from: &t).isEmpty, "broken is alerted once")
    }

    @Test func refusedCredentialsBreakACarrierToo() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        _ = Self.feed(&machine, .unchanged, count: 20, from: &t)
        let transitions = Self.feed(&machine, .auth, shape: "HTTP 401 JSON {error}", count: 12, from: &t)
        #expect(transitions.map(\.to) == [.broken])
        #expect(transitions.first?.reason.contains("refused") == true)
    }

    @Test func aBlipShorterThanTheRunRaisesNothing() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        _ = Self.feed(&machine, .unchanged, count: 40, from: &t)
        let transitions = Self.feed(&machine, .broken, shape: "HTML", count: 6, from: &t) + Self.feed(&machine, .unchanged, count: 40, from: &t)
        #expect(transitions.isEmpty)
    }

    @Test func recoveryTakesFiveGoodPollsInARowAndIsOneTransition() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        _ = Self.feed(&machine, .unchanged, count: 20, from: &t)
        _ = Self.feed(&machine, .broken, shape: "JSON {data}", count: 30, from: &t)
        #expect(machine.state == .broken)
        // Good answers between failures do not end a breakage.
        for _ in 0..<5 {
            #expect(Self.feed(&machine, .unchanged, count: 4, from: &t).isEmpty)
            #expect(Self.feed(&machine, .broken, shape: "JSON {data}", count: 1, from: &t).isEmpty)
        }
        let recovered = Self.feed(&machine, .unchanged, count: 5, from: &t)
        #expect(recovered.map(\.to) == [.healthy])
        #expect(recovered.first?.reason.hasPrefix("recovered") == true)
        #expect(Self.feed(&machine, .unchanged, count: 100, from: &t).isEmpty)
    }

    @Test func anOutageLongerThanTheLimitBreaksACarrierEvenWhenEveryFailureIsPassing() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        _ = Self.feed(&machine, .unchanged, count: 20, from: &t)
        // 503s every 10 minutes: undecided for an hour, then broken at once (no degraded on the way).
        let transitions = Self.feed(&machine, .temporary, shape: "HTTP 503 HTML", count: 8, from: &t, every: .seconds(600))
        #expect(transitions.map(\.to) == [.broken])
        #expect(transitions.first?.reason.contains("no valid answer for 1 h") == true, "\(transitions.first?.reason ?? "")")
    }

    @Test func scatteredFailuresDegradeACarrierAndHysteresisKeepsItFromFlapping() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        var transitions: [HealthTransition] = []
        // One bad poll in four: 25% ≥ 20%.
        for _ in 0..<15 {
            transitions += Self.feed(&machine, .unchanged, count: 3, from: &t)
            transitions += Self.feed(&machine, .broken, count: 1, from: &t)
        }
        #expect(transitions.map(\.to) == [.degraded])
        // One in seven (14%): under the threshold but over half of it — still degraded.
        for _ in 0..<10 {
            transitions += Self.feed(&machine, .unchanged, count: 6, from: &t)
            transitions += Self.feed(&machine, .broken, count: 1, from: &t)
        }
        #expect(transitions.map(\.to) == [.degraded])
        transitions += Self.feed(&machine, .unchanged, count: 60, from: &t)
        #expect(transitions.map(\.to) == [.degraded, .healthy])
    }

    @Test func mostActiveShipmentsGoingStaleDegradesACarrier() {
        var machine = CarrierHealth(carrier: "acme")
        var t = Self.t0
        _ = Self.feed(&machine, .unchanged, count: 20, from: &t)
        #expect(machine.updateStale(active: 100, stale: 50, now: t) == nil)
        let transition = machine.updateStale(active: 100, stale: 85, now: t)
        #expect(transition?.to == .degraded)
        #expect(transition?.reason == "85% of 100 active shipments have had no new event for 5 days")
        #expect(machine.updateStale(active: 100, stale: 10, now: t)?.to == .healthy)
    }

    @Test func transitionsChainAndEveryLongBadRunEndsBroken() {
        // Property: over random poll sequences, each transition starts where the last ended,
        // never "changes" to the same state, and brokenRun bad polls in a row always mean broken.
        for seed in 1...30 as ClosedRange<UInt64> {
            var rng = SplitMix64(seed: seed)
            var machine = CarrierHealth(carrier: "acme")
            var t = Self.t0
            var state = CarrierState.healthy
            var badRun = 0
            for _ in 0..<250 {
                let verdict = PollVerdict.allCases.randomElement(using: &rng)!
                let repeats = Int.random(in: 1...(Bool.random(using: &rng) ? 1 : 15), using: &rng)
                for _ in 0..<repeats {
                    if let tr = machine.record(HealthObservation(at: t, verdict: verdict, shape: "S\(verdict.rawValue)")) {
                        #expect(tr.from == state && tr.to != tr.from && tr.since <= tr.at)
                        state = tr.to
                    }
                    badRun = verdict.class == .good ? 0 : badRun + (verdict.class == .bad ? 1 : 0)
                    if badRun >= machine.thresholds.brokenRun { #expect(machine.state == .broken) }
                    t = t + .seconds(Int64.random(in: 1...120, using: &rng))
                }
            }
            #expect(machine.state == state)
        }
    }

    @Test func responseShapesNameTheKindAndOutline() {
        func shape(_ status: Int, _ type: String?, _ body: String) -> String {
            ResponseShape.describe(status: status, contentType: type, body: Array(body.utf8))
        }
        #expect(shape(200, "application/json; charset=utf-8", #"{"parcels":[{"a":1}],"meta":{"x":"}"}}"#) == "JSON {meta,parcels}")
        #expect(shape(200, nil, #" [1,2]"#) == "JSON […]")
        #expect(shape(200, "text/html", "<html><body>Down for maintenance</body></html>") == "HTML")
        #expect(shape(200, "text/plain", "<!DOCTYPE html><html>") == "HTML")
        #expect(shape(200, "application/xml", #"<?xml version="1.0"?><!-- hi --><ns:TrackResponse a="1"/>"#) == "XML <TrackResponse>")
        #expect(shape(401, "application/json", #"{"error":"invalid_token","message":"x"}"#) == "HTTP 401 JSON {error,message}")
        #expect(shape(200, "application/json", "") == "JSON")
        #expect(shape(502, nil, "") == "HTTP 502 an empty body")
        #expect(shape(204, nil, "") == "an empty body")
    }
}
