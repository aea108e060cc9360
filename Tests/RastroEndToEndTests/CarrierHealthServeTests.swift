import Foundation
import RastroCore
import RastroTestSupport
import RastroTransport
import Testing

@Suite("Carrier health through rastro serve", .serialized)
struct CarrierHealthServeTests {
    @Test func aCarrierServingAMaintenancePageIsRaisedOnceByEmailWebhookStatusAndTheAPI() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-health-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let carriers = root.appendingPathComponent("carriers"), data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: carriers.appendingPathComponent("acme"), withIntermediateDirectories: true)
        try e2eCarrier(batch: 1, concurrency: 2).write(to: carriers.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
        let rules = RastroBinary.root.appendingPathComponent("rules").path
        func cli(_ arguments: [String]) throws -> RastroBinary.Result {
            try RastroBinary.run(arguments + ["--data", data.path])
        }

        let server = try LoopbackCarrier(routes: [["path": "/track", "headers": ["content-type": "text/html"],
                                                   "body": "<html><body><h1>Scheduled maintenance</h1></body></html>"]])
        let receiver = try LoopbackCarrier(routes: [["method": "POST", "path": "/alerts", "status": 204]])
        let smtp = try LoopbackSMTP()
        let hook = try cli(["merchant", "webhook", "_operator", "alerts", "--url", receiver.baseURL + "/alerts"])
        #expect(hook.status == 0, "\(hook.output)")
        for i in 1...12 {
            let add = try cli(["shipment", "add", "acme", "AC\(i)", "--carriers", carriers.path])
            #expect(add.status == 0, "\(add.output)")
        }
        let serve = try ServeProcess(data: data, carriers: carriers, extra: ["--rules", rules], environment: [
            "RASTRO_ACME_BASE_URL": server.baseURL, "RASTRO_SMTP_URL": smtp.url, "RASTRO_WEBHOOKS_ALLOW_PRIVATE": "1",
            "RASTRO_OPERATOR_EMAIL": "ops@example.com",
        ])
        let line = try serve.waitForLog(containing: "carrier broken", timeout: 30)
        #expect(line?.contains("returned HTML that the script no longer understands") == true, "\(serve.logText)")
        func alerts() -> [String] {
            smtp.messages().compactMap { String(data: $0, encoding: .utf8) }.filter { $0.contains("X-Rastro-Template: carrier_alert") }
        }
        #expect(eventually(timeout: 30) { alerts().count == 1 && receiver.requests().count == 1 }, "\(serve.logText)")
        #expect(alerts().first?.contains("Subject: [rastro] Acme is broken") == true)
        let webhook = try #require(receiver.requests().first)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data((webhook["body"] as? String ?? "").utf8)) as? [String: Any])
        #expect(payload["type"] as? String == "carrier.broken")

        // The operator's view: `rastro status` and the API.
        let status = try cli(["status", "--carriers", carriers.path, "--check"])
        #expect(status.status == 2, "\(status.output)")
        #expect(status.output.contains("acme") && status.output.contains("broken") && status.output.contains("HTML"), "\(status.output)")
        let key = try #require(try cli(["merchant", "key", "--operator"]).output.split(separator: " ").last.map(String.init)?
            .trimmingCharacters(in: .whitespacesAndNewlines))
        let response = try await CurlHTTPClient().perform(
            HTTPRequest(url: "http://127.0.0.1:\(serve.port)/v1/carriers", headers: ["Authorization": "Bearer \(key)"], timeout: 20),
            policy: EgressPolicy(hosts: ["127.0.0.1"]))
        let list = try #require((try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["carriers"] as? [[String: Any]])
        let health = try #require(list.first { $0["id"] as? String == "acme" }?["health"] as? [String: Any])
        #expect(health["state"] as? String == "broken" && health["activeShipments"] as? Int == 12, "\(health)")

        // More failing polls (shipments back off, none is dropped), still one alert.
        #expect(server.requests().count >= 10)
        #expect(serve.stop() == 0)
        #expect(alerts().count == 1 && receiver.requests().count == 1)
        let shown = try cli(["shipment", "list"]).output.split(separator: "\n").filter { $0.contains("\tAC") }
        #expect(shown.count == 12 && shown.allSatisfy { $0.contains("next poll") }, "\(shown)")
    }
}
