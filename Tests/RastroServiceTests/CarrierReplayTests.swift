import Foundation
import RastroCore
import RastroService
import RastroStore
import RastroTestSupport
import Testing

/// A carrier whose parcels carry their scans under `key`; any other shape is `broken`.
func shapeCarrier(reading keys: [String]) -> String {
    let lookups = keys.map { "p.\($0)" }.joined(separator: " or ")
    return """
    return {
      id = "acme", name = "Acme", api = 1, hosts = { "api.acme.test" },
      limits = { batch = 10, concurrency = 2, per_second = 1000 },
      validate = function(code) return code:match("^AC%d+$") ~= nil end,
      request = function(codes, config, ctx) return { url = config.base_url .. "/track?" .. url.query{ n = codes } } end,
      parse = function(response, codes, ctx)
        local doc = json.decode(response.body)
        if type(doc) ~= "table" or type(doc.parcels) ~= "table" then return failure.broken("no parcels in the response") end
        local out = {}
        for _, p in ipairs(doc.parcels) do
          local list = \(lookups)
          if type(list) ~= "table" then return failure.broken("parcel " .. tostring(p.number) .. " has no scans") end
          local events = {}
          for _, e in ipairs(list) do
            events[#events + 1] = { occurred_at = time.parse(e.at, "iso", "UTC"), status = e.status, code = e.code, description = e.code }
          end
          out[p.number] = { events = events }
        end
        for _, code in ipairs(codes) do out[code] = out[code] or failure.not_found() end
        return out
      end,
    }
    """
}

/// The carrier's body with the scans under `key` (the carrier renamed `events` to `history`).
func shapedBody(_ number: String, key: String, _ events: [(at: String, status: String, code: String)]) -> String {
    let parcel: [String: Any] = ["number": number, key: events.map { ["at": $0.at, "status": $0.status, "code": $0.code] }]
    return String(decoding: try! JSONSerialization.data(withJSONObject: ["parcels": [parcel]]), as: UTF8.self)
}

@Suite("Replaying stored carrier responses", .serialized)
struct CarrierReplayTests {
    static let transit = [(at: "2026-11-02T10:00:00Z", status: "in_transit", code: "RO")]
    static let outForDelivery = [(at: "2026-11-03T08:00:00Z", status: "out_for_delivery", code: "OEC")] + transit

    /// Two real polls through the scheduler: the first in the shape the script reads, the second
    /// after the carrier renamed `events` to `history` (recorded broken). Stops the scheduler.
    static func polledAcrossAShapeChange() async throws -> (ServiceHarness, LoopbackCarrier, Shipment, Timestamp) {
        let server = try LoopbackCarrier(routes: [["path": "/track", "sequence": [
            ["body": shapedBody("AC1", key: "events", transit), "headers": ["content-type": "application/json"]],
            ["body": shapedBody("AC1", key: "history", outForDelivery), "headers": ["content-type": "application/json"]],
        ]]])
        let h = try ServiceHarness(carriers: ["acme": shapeCarrier(reading: ["events"])], baseURLs: ["acme": server.baseURL],
                                   start: Timestamp(iso8601: "2026-11-02T12:00:00Z")!)
        h.start()
        let shipment = try h.register("acme", "AC1", dispatchedAt: Timestamp(iso8601: "2026-11-01T09:00:00Z")!)
        let (first, _) = try #require(await h.nextRecording())
        #expect(first.outcome == "ok")
        let next = try #require(try h.shipment(shipment.id!).nextPollAt)
        h.clock.set(next)
        h.scheduler.wake()
        let (second, _) = try #require(await h.nextRecording())
        #expect(second.outcome == "broken")
        await h.stop()
        return (h, server, shipment, next)
    }

    static func write(_ source: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("candidate-\(UUID().uuidString).lua")
        try source.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func replayOfTheOldScriptReportsTheNewShapeAsBrokenAndNothingAsChanged() async throws {
        let (h, _, _, _) = try await Self.polledAcrossAShapeChange()
        let stored = try h.store.recordedResponses(carrier: "acme")
        #expect(stored.count == 2)
        #expect(stored.map(\.poll.outcome) == ["ok", "broken"])
        #expect(stored[1].shipments["AC1"]?.events.map(\.code) == ["RO"], "events as of the second poll")

        let report = try CarrierReplay(carrier: "acme", carriersDirectory: h.carriers).replay(stored)
        #expect(report.responses.map(\.replayedOutcome) == ["tracked", "broken"])
        #expect(report.responses[1].replayedError == "parcel AC1 has no scans")
        #expect(report.responses.allSatisfy { !$0.changed }, "\(report.renderedText())")
        let s = report.summary
        #expect((s.replayed, s.unchanged, s.brokenBefore, s.brokenAfter, s.worse) == (2, 2, 1, 1, false))
        #expect(report.scriptVersion == stored[0].poll.scriptVersion, "the live script is the version the polls recorded")
    }

    @Test func replayOfAFixedScriptReportsTheEventsItWouldAddAndIsBetter() async throws {
        let (h, _, _, secondPoll) = try await Self.polledAcrossAShapeChange()
        let fixed = try Self.write(shapeCarrier(reading: ["events", "history"]))
        defer { try? FileManager.default.removeItem(at: fixed) }
        let report = try CarrierReplay(carrier: "acme", carriersDirectory: h.carriers, candidate: fixed)
            .replay(try h.store.recordedResponses(carrier: "acme"))

        #expect(!report.responses[0].changed, "the old shape still reads the same")
        let fixedResponse = report.responses[1]
        #expect((fixedResponse.recordedOutcome, fixedResponse.replayedOutcome) == ("broken", "tracked"))
        let code = try #require(fixedResponse.codes.first)
        #expect(code.wouldAdd.map(\.code) == ["OEC"] && code.wouldLose.isEmpty)
        #expect((code.recordedStatus, code.replayedStatus) == ("in_transit", "out_for_delivery"))
        let s = report.summary
        #expect((s.trackedBefore, s.trackedAfter, s.brokenBefore, s.brokenAfter, s.eventsWouldAdd, s.worse) == (1, 2, 1, 0, 1, false))
        let text = report.renderedText()
        #expect(text.contains("broken → tracked") && text.contains("would add  2026-11-03T08:00:00Z out_for_delivery OEC"), "\(text)")

        // --since: only what arrived from the second poll on.
        let recent = try h.store.recordedResponses(carrier: "acme", since: secondPoll)
        #expect(recent.count == 1 && recent[0].poll.outcome == "broken")
    }

    @Test(arguments: [
        ("raises", "parse = function() error('boom') end"),
        ("loops", "parse = function() while true do end end"),
        ("returns garbage", "parse = function() return 42 end"),
    ])
    func aCandidateThatFailsIsBrokenForEveryResponseWithoutStoppingTheReplay(_ name: String, _ parse: String) async throws {
        let (h, _, _, _) = try await Self.polledAcrossAShapeChange()
        let source = shapeCarrier(reading: ["events"]).replacingOccurrences(of: "  parse = function(response, codes, ctx)", with: "  \(parse),\n  old_parse = function(response, codes, ctx)")
        let candidate = try Self.write(source)
        defer { try? FileManager.default.removeItem(at: candidate) }
        let report = try CarrierReplay(carrier: "acme", carriersDirectory: h.carriers, candidate: candidate)
            .replay(try h.store.recordedResponses(carrier: "acme"))
        #expect(report.responses.map(\.replayedOutcome) == ["broken", "broken"], "\(name)")
        #expect(report.responses[0].changed && report.summary.worse, "\(name): tracked 1 → 0 is worse")
        #expect(report.responses[0].codes.first?.wouldLose.isEmpty == true, "a failure stores nothing, so it loses nothing")
    }

    @Test func aCandidateThatDoesNotLoadIsAnErrorNamingTheFile() throws {
        let carriers = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-replay-\(UUID().uuidString)")
        let candidate = try Self.write("return { id = 'acme', ")
        defer { try? FileManager.default.removeItem(at: candidate) }
        #expect {
            try CarrierReplay(carrier: "acme", carriersDirectory: carriers, candidate: candidate)
        } throws: { error in
            "\(error)".contains("did not load") && "\(error)".contains(candidate.path)
        }
    }
}
