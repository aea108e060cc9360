import Foundation
import RastroTestSupport
import Testing

/// A carrier for the binary's tests: polls every 2 s, GET <base_url>/track?n=...
func e2eCarrier(every: String = "2s", batch: Int = 10, concurrency: Int = 4) -> String {
    """
    return {
      id = "acme", name = "Acme", api = 1, hosts = { "api.acme.test" },
      poll = { every = "\(every)", window = "1d" },
      limits = { batch = \(batch), concurrency = \(concurrency), per_second = 100 },
      validate = function(code) return code:match("^AC%d+$") ~= nil, "AC and digits" end,
      request = function(codes, config, ctx) return { url = config.base_url .. "/track?" .. url.query{ n = codes }, timeout = 10 } end,
      parse = function(response, codes, ctx)
        if response.status >= 500 then return failure.temporary("HTTP " .. response.status) end
        local doc = json.decode(response.body)
        if type(doc) ~= "table" then return failure.broken("not JSON") end
        local out = {}
        for _, p in ipairs(doc.parcels or {}) do
          local events = {}
          for _, e in ipairs(p.events) do
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

func body(_ parcels: [(String, [(String, String, String)])]) -> String {
    let list = parcels.map { p in ["number": p.0, "events": p.1.map { ["at": $0.0, "status": $0.1, "code": $0.2] }] as [String: Any] }
    return String(decoding: try! JSONSerialization.data(withJSONObject: ["parcels": list]), as: UTF8.self)
}

@Suite("rastro serve", .serialized)
struct ServeTests {
    let root: URL
    let carriers: URL
    let data: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-e2e-\(UUID().uuidString)")
        carriers = root.appendingPathComponent("carriers")
        data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: carriers.appendingPathComponent("acme"), withIntermediateDirectories: true)
    }

    func writeCarrier(_ source: String) throws {
        try source.write(to: carriers.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
    }

    func cli(_ arguments: [String]) throws -> RastroBinary.Result {
        try RastroBinary.run(arguments + ["--data", data.path])
    }

    func show(_ code: String) throws -> [String: Any] {
        let result = try cli(["shipment", "show", code, "--json"])
        return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func serveStoresEachEventOnceMovesTheStatusAndStopsPollingAtDelivered() throws {
        try writeCarrier(e2eCarrier())
        let t = [("2026-01-05T10:00:00Z", "in_transit", "RO")]
        let o = [("2026-01-06T08:00:00Z", "out_for_delivery", "OEC")] + t
        let d = [("2026-01-06T15:00:00Z", "delivered", "BDE")] + o
        let server = try LoopbackCarrier(routes: [["path": "/track", "sequence": [
            ["body": body([("AC1", t)])], ["body": body([("AC1", t)])], ["body": body([("AC1", o)])], ["body": body([("AC1", d)])],
        ]]])
        let serve = try ServeProcess(data: data, carriers: carriers, environment: ["RASTRO_ACME_BASE_URL": server.baseURL])
        let add = try RastroBinary.run(["shipment", "add", "acme", "ac1", "--order", "o-1", "--data", data.path, "--carriers", carriers.path])
        #expect(add.status == 0, "\(add.output)")
        var statuses: [String] = []
        let delivered = try eventually(timeout: 40) {
            let status = try show("AC1")["status"] as? String ?? "?"
            if statuses.last != status { statuses.append(status) }
            return status == "delivered"
        }
        #expect(delivered, "\(statuses)\n\(serve.logText)")
        #expect(statuses.filter { $0 != "pending" } == ["in_transit", "out_for_delivery", "delivered"])
        let shipment = try show("AC1")
        #expect((shipment["events"] as? [[String: Any]])?.map { $0["code"] as? String } == ["BDE", "OEC", "RO"])
        #expect(shipment["nextPollAt"] is NSNull)
        let requests = server.requests().count
        #expect(serve.stop() == 0)
        #expect(server.requests().count == requests, "polled after delivery")
        #expect(requests == 4)
    }

    @Test func killDashNineDuringPollingLosesNothingAndStoresNothingTwice() throws {
        // Every request takes 2 s, so the kill lands while polls are in flight.
        try writeCarrier(e2eCarrier(every: "1h", batch: 1, concurrency: 8))
        let codes = (1...6).map { "AC\(100 + $0)" }
        let routes: [[String: Any]] = codes.map { code in
            ["path": "/track", "query_contains": "n=\(code)", "delay": 2,
             "body": body([(code, [("2026-01-05T10:00:00Z", "in_transit", "RO"), ("2026-01-05T08:00:00Z", "info_received", "PO")])])]
        }
        let server = try LoopbackCarrier(routes: routes)
        for code in codes {
            #expect(try RastroBinary.run(["shipment", "add", "acme", code, "--data", data.path, "--carriers", carriers.path]).status == 0)
        }
        let env = ["RASTRO_ACME_BASE_URL": server.baseURL]
        let first = try ServeProcess(data: data, carriers: carriers, extra: ["--lease", "5"], environment: env)
        #expect(eventually(timeout: 20) { server.requests().count >= codes.count })
        first.kill9()
        let second = try ServeProcess(data: data, carriers: carriers, extra: ["--lease", "5"], environment: env)
        let allPolled = try eventually(timeout: 40) {
            try codes.allSatisfy { (try show($0)["status"] as? String) == "in_transit" }
        }
        #expect(allPolled, "\(second.logText)")
        for code in codes {
            let events = try show(code)["events"] as? [[String: Any]] ?? []
            #expect(events.count == 2, "\(code): \(events)")
        }
        #expect(second.logText.contains("retrying a poll that was interrupted"))
        #expect(second.stop() == 0)
        let integrity = try RastroBinary.run(["shipment", "list", "--data", data.path])
        #expect(integrity.status == 0)
    }

    @Test func sigtermLetsAPollInFlightFinishBeforeExiting() throws {
        try writeCarrier(e2eCarrier())
        let server = try LoopbackCarrier(routes: [["path": "/track", "delay": 2, "body": body([("AC7", [("2026-01-05T10:00:00Z", "in_transit", "RO")])])]])
        let serve = try ServeProcess(data: data, carriers: carriers, environment: ["RASTRO_ACME_BASE_URL": server.baseURL])
        #expect(try RastroBinary.run(["shipment", "add", "acme", "AC7", "--data", data.path, "--carriers", carriers.path]).status == 0)
        #expect(eventually(timeout: 20) { server.requests().count >= 1 })
        #expect(serve.stop(signal: SIGTERM) == 0, "\(serve.logText)")
        let shipment = try show("AC7")
        #expect(shipment["status"] as? String == "in_transit", "the poll in flight was not recorded:\n\(serve.logText)")
    }

    @Test func aBrokenCarrierEditIsLoggedAndTheOldVersionKeepsPolling() throws {
        try writeCarrier(e2eCarrier())
        let t = [("2026-01-05T10:00:00Z", "in_transit", "RO")]
        let o = [("2026-01-06T08:00:00Z", "out_for_delivery", "OEC")] + t
        let server = try LoopbackCarrier(routes: [["path": "/track", "sequence": [["body": body([("AC8", t)])], ["body": body([("AC8", o)])]]]])
        let serve = try ServeProcess(data: data, carriers: carriers, environment: ["RASTRO_ACME_BASE_URL": server.baseURL])
        #expect(try RastroBinary.run(["shipment", "add", "acme", "AC8", "--data", data.path, "--carriers", carriers.path]).status == 0)
        // The log, not `show`: the second poll may come before a `show` process starts on a loaded machine.
        #expect(try serve.waitForLog(containing: "to=in_transit", timeout: 20) != nil, "\(serve.logText)")
        try writeCarrier("return { id = 'acme', name = ")
        #expect(try serve.waitForLog(containing: "carrier did not load", timeout: 10)?.contains("previous version keeps running") == true)
        // Polls after the broken edit still run the version that loaded.
        let before = server.requests().count
        #expect(eventually(timeout: 20) { server.requests().count > before }, "\(serve.logText)")
        #expect(try eventually(timeout: 20) { (try show("AC8")["status"] as? String) == "out_for_delivery" }, "\(serve.logText)")
        #expect(serve.stop() == 0)
    }

    @Test func pollNowReachesARunningServeAndHasACooldown() throws {
        try writeCarrier(e2eCarrier(every: "1h"))
        let server = try LoopbackCarrier(routes: [["path": "/track", "body": body([("AC9", [("2026-01-05T10:00:00Z", "in_transit", "RO")])])]])
        let serve = try ServeProcess(data: data, carriers: carriers, environment: ["RASTRO_ACME_BASE_URL": server.baseURL])
        #expect(try RastroBinary.run(["shipment", "add", "acme", "AC9", "--data", data.path, "--carriers", carriers.path]).status == 0)
        #expect(eventually(timeout: 20) { server.requests().count == 1 })
        let now = try cli(["shipment", "poll", "AC9"])
        #expect(now.status == 0 && now.output.contains("poll due now"), "\(now.output)")
        #expect(eventually(timeout: 20) { server.requests().count == 2 }, "\(serve.logText)")
        let again = try cli(["shipment", "poll", "AC9"])
        #expect(again.status != 0 && again.output.contains("next allowed at"), "\(again.output)")
        #expect(serve.stop() == 0)
    }

    @Test func aParcelsChangesReachTheCustomerByEmailOverSMTPAndTheMarketplaceByWebhook() throws {
        try writeCarrier(e2eCarrier())
        let t = [("2026-01-05T10:00:00Z", "in_transit", "RO")]
        let o = [("2026-01-06T11:00:00Z", "out_for_delivery", "OEC")] + t
        let server = try LoopbackCarrier(routes: [["path": "/track", "sequence": [["body": body([("AC5", t)])], ["body": body([("AC5", o)])]]]])
        let receiver = try LoopbackCarrier(routes: [["method": "POST", "path": "/hooks", "status": 204]])
        let smtp = try LoopbackSMTP()
        let rules = RastroBinary.root.appendingPathComponent("rules").path
        let hook = try cli(["merchant", "webhook", "default", "marketplace", "--url", receiver.baseURL + "/hooks"])
        #expect(hook.output.contains("signing secret (shown once): whsec_"), "\(hook.output)")
        let serve = try ServeProcess(data: data, carriers: carriers, extra: ["--rules", rules], environment: [
            "RASTRO_ACME_BASE_URL": server.baseURL, "RASTRO_SMTP_URL": smtp.url, "RASTRO_WEBHOOKS_ALLOW_PRIVATE": "1",
        ])
        let add = try RastroBinary.run(["shipment", "add", "acme", "AC5", "--order", "1042-01", "--invoice", "4587", "--email", "ana@example.com.br",
                                        "--locale", "pt-BR", "--data", data.path, "--carriers", carriers.path, "--rules", rules])
        #expect(add.status == 0, "\(add.output)")
        // order_invoiced at registration, order_shipped at the first scan, out_for_delivery at the second.
        #expect(eventually(timeout: 30) { smtp.messages().count >= 3 }, "\(serve.logText)")
        let subjects = smtp.messages().compactMap { String(data: $0, encoding: .utf8) }
        #expect(subjects.contains { $0.contains("X-Rastro-Template: out_for_delivery") && $0.contains("Content-Language: pt-BR") })
        #expect(eventually(timeout: 20) { receiver.requests().count >= 2 })
        #expect(receiver.requests().allSatisfy { ($0["headers"] as? [String: String])?["webhook-signature"]?.hasPrefix("v1,") == true })
        let list = try cli(["outbox", "list"])
        #expect(list.output.components(separatedBy: "\tsent\t").count - 1 >= 5, "\(list.output)")
        #expect(serve.stop() == 0)
    }

    @Test func rulesSimulatePrintsWhoWouldBeToldWhatWithoutSendingAnything() throws {
        let timeline = root.appendingPathComponent("timeline.json")
        try #"[{"at":"2024-03-14T11:55:03Z","status":"out_for_delivery","code":"OEC","description":"Objeto saiu para entrega","city":"São Paulo","state":"SP","zone":"America/Sao_Paulo"},{"at":"2024-03-14T18:42:10Z","status":"delivered","code":"BDE","description":"Objeto entregue ao destinatário","zone":"America/Sao_Paulo"}]"#
            .write(to: timeline, atomically: true, encoding: .utf8)
        let result = try RastroBinary.run(["rules", "simulate", "--timeline", timeline.path, "--locale", "es", "--email", "lucia@example.com.ar",
                                           "--rules", RastroBinary.root.appendingPathComponent("rules").path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("email out_for_delivery to lucia@example.com.ar in es"))
        #expect(result.output.contains("email delivered to lucia@example.com.ar in es"))
        #expect(result.output.contains("webhook marketplace shipment.delivered"))
        let bad = try RastroBinary.run(["rules", "simulate", "--timeline", timeline.path + ".missing"])
        #expect(bad.status != 0 && bad.output.contains("cannot read"))
    }
}
