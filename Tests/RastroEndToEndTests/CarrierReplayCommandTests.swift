import Foundation
import RastroTestSupport
import Testing

/// The e2e carrier reading its scans under the given keys; a parcel without them is `broken`.
func scansCarrier(keys: [String]) -> String {
    e2eCarrier().replacingOccurrences(of: "for _, e in ipairs(p.events) do", with: """
    local scans = \(keys.map { "p.\($0)" }.joined(separator: " or "))
          if type(scans) ~= "table" then return failure.broken("parcel " .. tostring(p.number) .. " has no scans") end
          for _, e in ipairs(scans) do
    """)
}

@Suite("rastro carrier replay and export, through the binary", .serialized)
struct CarrierReplayCommandTests {
    let root: URL
    let carriers: URL
    let data: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-replay-e2e-\(UUID().uuidString)")
        carriers = root.appendingPathComponent("carriers")
        data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: carriers.appendingPathComponent("acme"), withIntermediateDirectories: true)
        try scansCarrier(keys: ["events"]).write(to: carriers.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
    }

    func cli(_ arguments: [String]) throws -> RastroBinary.Result {
        let scripts = arguments.first == "replay" ? ["--carriers", carriers.path] : []
        return try RastroBinary.run(["carrier"] + arguments + ["--data", data.path] + scripts)
    }

    /// `rastro serve` polls a carrier that answers once in the shape the script reads (with the
    /// recipient's personal data in it) and then renames `events` to `history`.
    func serveAcrossAShapeChange() throws {
        let recipient: [String: Any] = ["name": "Maria da Silva", "cpf": "123.456.789-09", "phone": "(11) 98765-4321",
                                        "address": ["street": "Rua das Flores 12", "postalCode": "01310-100", "city": "SAO PAULO"]]
        func shaped(_ key: String, _ events: [[String: String]]) -> String {
            let parcel: [String: Any] = ["number": "AC1", "recipient": recipient, key: events]
            return String(decoding: try! JSONSerialization.data(withJSONObject: ["parcels": [parcel]]), as: UTF8.self)
        }
        let ro = ["at": "2026-11-02T10:00:00Z", "status": "in_transit", "code": "RO"]
        let oec = ["at": "2026-11-03T08:00:00Z", "status": "out_for_delivery", "code": "OEC"]
        let json = ["content-type": "application/json"]
        let server = try LoopbackCarrier(routes: [["path": "/track", "sequence": [
            ["body": shaped("events", [ro]), "headers": json], ["body": shaped("history", [oec, ro]), "headers": json],
        ]]])
        let serve = try ServeProcess(data: data, carriers: carriers, environment: ["RASTRO_ACME_BASE_URL": server.baseURL])
        let add = try RastroBinary.run(["shipment", "add", "acme", "AC1", "--data", data.path, "--carriers", carriers.path])
        #expect(add.status == 0, "\(add.output)")
        // The carrier polls every 2 s (broken polls back off to the same cadence): wait for three answers.
        let polled = eventually(timeout: 40) { server.requests().count >= 3 }
        #expect(polled, "\(serve.logText)")
        #expect(serve.stop() == 0)
    }

    @Test func theLiveScriptReplaysNoWorseAndTheFixedScriptTurnsBrokenIntoTracked() throws {
        try serveAcrossAShapeChange()
        let live = try cli(["replay", "acme"])
        #expect(live.status == 0, "\(live.output)")
        #expect(live.output.contains("0 differing"), "\(live.output)")
        #expect(live.output.range(of: #"broken (\d+) → \1"#, options: .regularExpression) != nil, "\(live.output)")

        let fixed = root.appendingPathComponent("fixed.lua")
        try scansCarrier(keys: ["events", "history"]).write(to: fixed, atomically: true, encoding: .utf8)
        let better = try cli(["replay", "acme", "--script", fixed.path])
        #expect(better.status == 0, "\(better.output)")
        #expect(better.output.contains("broken → tracked"), "\(better.output)")
        #expect(better.output.contains("would add  2026-11-03T08:00:00Z out_for_delivery OEC"), "\(better.output)")
        #expect(better.output.contains("status in_transit → out_for_delivery"), "\(better.output)")
        #expect(better.output.range(of: #"tracked 1 → \d+, broken [1-9]\d* → 0;"#, options: .regularExpression) != nil, "\(better.output)")

        let lines = try cli(["replay", "acme", "--script", fixed.path, "--json"]).output.split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count && objects.count >= 4, "every line is JSON: \(lines)")
        let summary = try #require(objects.last?["summary"] as? [String: Any])
        #expect(objects.last?["type"] as? String == "summary" && summary["worse"] as? Bool == false)
        #expect((summary["broken_after"] as? Int) == 0 && (summary["events_would_add"] as? Int ?? 0) >= 1, "\(summary)")
        let response = try #require(objects.dropLast().last?["response"] as? [String: Any])
        #expect(response["recorded_outcome"] as? String == "broken" && response["replayed_outcome"] as? String == "tracked")

        let raising = root.appendingPathComponent("raising.lua")
        try scansCarrier(keys: ["events"]).replacingOccurrences(of: "local doc = json.decode(response.body)", with: "error('boom')")
            .write(to: raising, atomically: true, encoding: .utf8)
        let worse = try cli(["replay", "acme", "--script", raising.path])
        #expect(worse.status == 2, "a worse replay fails the deploy gate: \(worse.output)")
        #expect(worse.output.contains("tracked → broken") && worse.output.contains("boom") && worse.output.contains("WORSE"), "\(worse.output)")
    }

    @Test func exportWritesRedactedFixturesTheLiveScriptStillParses() throws {
        try serveAcrossAShapeChange()
        let out = root.appendingPathComponent("fixtures")
        let export = try cli(["export", "acme", "--out", out.path, "--limit", "1"])
        #expect(export.status == 0, "\(export.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files.count == 2, "\(files)")
        let bodyFile = try #require(files.first { !$0.hasSuffix("-meta.json") })
        let metaFile = try #require(files.first { $0.hasSuffix("-meta.json") })
        let body = try String(contentsOf: out.appendingPathComponent(bodyFile), encoding: .utf8)
        for gone in ["Maria da Silva", "123.456.789-09", "98765-4321", "Rua das Flores", "01310-100"] {
            #expect(!body.contains(gone), "\(gone) was exported: \(body)")
        }
        #expect(body.contains("SAO PAULO") && body.contains("2026-11-02T10:00:00Z") && body.contains("\"RO\""))
        let meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(metaFile))) as? [String: Any])
        #expect(meta["http_status"] as? Int == 200 && meta["codes"] as? [String] == ["AC1"] && meta["redacted"] as? Bool == true, "\(meta)")
        #expect(meta["content_type"] as? String == "application/json")

        // The redacted body is a working fixture: the live script reads the same timeline from it.
        let tests = carriers.appendingPathComponent("acme/tests")
        try FileManager.default.createDirectory(at: tests, withIntermediateDirectories: true)
        try body.write(to: tests.appendingPathComponent("exported.json"), atomically: true, encoding: .utf8)
        let expected = #"{"http_status": 200, "codes": ["AC1"], "expected": {"results": {"AC1": {"status": "in_transit", "events": [{"occurred_at": "2026-11-02T10:00:00Z", "status": "in_transit", "code": "RO", "description": "RO"}]}}}}"#
        try expected.write(to: tests.appendingPathComponent("exported.case.json"), atomically: true, encoding: .utf8)
        let test = try RastroBinary.run(["carrier", "test", "acme", "--carriers", carriers.path, "--corpus", root.path])
        #expect(test.status == 0, "\(test.output)")

        let none = try cli(["replay", "acme", "--since", "2099-01-01T00:00Z"])
        #expect(none.status != 0 && none.output.contains("no stored responses for carrier 'acme' since 2099-01-01T00:00:00Z"), "\(none.output)")
    }
}
