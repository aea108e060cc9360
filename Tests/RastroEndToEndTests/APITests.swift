import Foundation
import RastroCore
import RastroServer
import RastroTestSupport
import RastroTransport
import Testing

/// `rastro serve` with two merchants, called over HTTP as integrations would.
final class LiveAPI {
    let root: URL
    let data: URL
    let carriers: URL
    let serve: ServeProcess
    let keyA: String, keyB: String, operatorKey: String
    let client = CurlHTTPClient()
    let receiver: LoopbackCarrier

    init() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-api-\(UUID().uuidString)")
        let data = root.appendingPathComponent("data"), carriers = root.appendingPathComponent("carriers")
        self.root = root
        self.data = data
        self.carriers = carriers
        try FileManager.default.createDirectory(at: carriers.appendingPathComponent("acme"), withIntermediateDirectories: true)
        try e2eCarrier(every: "1h").write(to: carriers.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
        func key(_ args: [String]) throws -> String {
            let out = try RastroBinary.run(args + ["--data", data.path]).output
            return String(out.split(separator: "\n").first { $0.contains("(shown once): ") }!.split(separator: " ").last!)
        }
        keyA = try key(["merchant", "add", "loja-a"])
        keyB = try key(["merchant", "add", "loja-b"])
        operatorKey = try key(["merchant", "key", "--operator"])
        receiver = try LoopbackCarrier(routes: [["method": "POST", "path": "/hooks", "status": 200]])
        _ = try RastroBinary.run(["merchant", "webhook", "loja-a", "marketplace", "--url", receiver.baseURL + "/hooks", "--data", data.path])
        serve = try ServeProcess(data: data, carriers: carriers,
                                 extra: ["--rules", RastroBinary.root.appendingPathComponent("rules").path],
                                 environment: ["RASTRO_ACME_BASE_URL": "http://127.0.0.1:9", "RASTRO_WEBHOOKS_ALLOW_PRIVATE": "1"])
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var json: [String: Any]
        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    }

    func call(_ method: String, _ path: String, key: String?, body: Any? = nil, raw: [UInt8]? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var h = headers
        if let key { h["Authorization"] = "Bearer \(key)" }
        var payload = raw
        if let body { payload = Array(try JSONSerialization.data(withJSONObject: body)); h["Content-Type"] = "application/json" }
        let response = try await client.perform(HTTPRequest(method: method, url: "http://127.0.0.1:\(serve.port)\(path)", headers: h, body: payload, timeout: 20),
                                                policy: EgressPolicy(hosts: ["127.0.0.1"]))
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        return Reply(status: response.status, headers: response.headers, json: json)
    }

    deinit {
        _ = serve.stop()
        try? FileManager.default.removeItem(at: root)
    }
}

@Suite("HTTP API", .serialized)
struct APITests {
    static var register: [String: Any] { ["orderId": "1042-01", "invoiceNumber": "4587", "carrier": "acme", "trackingNumber": "AC100",
                                          "customer": ["email": "ana@example.com.br", "name": "Ana", "locale": "pt-BR"]] }

    @Test func aMissingBadOrRevokedKeyIs401() async throws {
        let api = try LiveAPI()
        #expect(try await api.call("GET", "/v1/shipments", key: nil).status == 401)
        #expect(try await api.call("GET", "/v1/shipments", key: "rk_000000000000_00000000000000000000000000000000").status == 401)
        #expect(try await api.call("GET", "/v1/shipments", key: "not-a-key").status == 401)
        #expect(try await api.call("GET", "/v1/shipments", key: api.keyA).status == 200)
        let prefix = api.keyA.split(separator: "_")[1]
        #expect(try RastroBinary.run(["merchant", "revoke", String(prefix), "--data", api.data.path]).status == 0)
        let revoked = try await api.call("GET", "/v1/shipments", key: api.keyA)
        #expect(revoked.status == 401 && (revoked.error["message"] as? String)?.contains("revoked") == true)
        #expect(try await api.call("GET", "/health", key: nil).status == 200)
    }

    @Test func registeringReturnsTheShipmentAndValidationErrorsNameTheField() async throws {
        let api = try LiveAPI()
        let created = try await api.call("POST", "/v1/shipments", key: api.keyA, body: Self.register)
        #expect(created.status == 201 && created.json["status"] as? String == "pending" && created.json["carrier"] as? String == "acme")
        let detected = try await api.call("POST", "/v1/shipments", key: api.keyA, body: ["trackingNumber": "ac 200", "orderId": "9"])
        #expect(detected.status == 201 && detected.json["carrier"] as? String == "acme" && detected.json["trackingNumber"] as? String == "AC200")
        let missing = try await api.call("POST", "/v1/shipments", key: api.keyA, body: ["orderId": "x"])
        #expect(missing.status == 422 && missing.error["field"] as? String == "trackingNumber")
        let invalid = try await api.call("POST", "/v1/shipments", key: api.keyA, body: ["carrier": "acme", "trackingNumber": "ZZ1"])
        #expect(invalid.status == 422 && invalid.error["field"] as? String == "trackingNumber")
        let badEmail = try await api.call("POST", "/v1/shipments", key: api.keyA, body: ["trackingNumber": "AC300", "customer": ["email": "nope"]])
        #expect(badEmail.status == 422 && badEmail.error["field"] as? String == "customer.email")
        let duplicate = try await api.call("POST", "/v1/shipments", key: api.keyA, body: Self.register)
        #expect(duplicate.status == 409)
        let notJSON = try await api.call("POST", "/v1/shipments", key: api.keyA, raw: Array("{oops".utf8))
        #expect(notJSON.status == 400)
    }

    @Test func noEndpointShowsOneMerchantsShipmentToAnother() async throws {
        let api = try LiveAPI()
        let created = try await api.call("POST", "/v1/shipments", key: api.keyA, body: Self.register)
        let id = try #require(created.json["id"] as? Int)
        #expect(try await api.call("GET", "/v1/shipments/\(id)", key: api.keyB).status == 404)
        #expect(try await api.call("POST", "/v1/shipments/\(id)/poll", key: api.keyB).status == 404)
        #expect(try await api.call("POST", "/v1/shipments/\(id)/delivered", key: api.keyB, body: ["by": "mallory"]).status == 404)
        #expect(try await api.call("POST", "/v1/shipments/\(id)/cancel", key: api.keyB).status == 404)
        #expect((try await api.call("GET", "/v1/shipments?orderId=1042-01", key: api.keyB).json["shipments"] as? [Any])?.isEmpty == true)
        #expect((try await api.call("GET", "/v1/shipments?orderId=1042-01", key: api.keyA).json["shipments"] as? [Any])?.count == 1)
        let push = try await api.call("PUT", "/api/oms/pvt/orders/1042-01/invoice/4587/tracking", key: api.keyB,
                                      body: ["isDelivered": true, "deliveredDate": "2026-01-06 15:00", "events": []])
        #expect(push.status == 404)
        #expect(try await api.call("GET", "/v1/shipments/\(id)", key: api.keyA).json["status"] as? String == "pending")
        // The operator reads everyone's, writes nothing.
        #expect(try await api.call("GET", "/v1/shipments/\(id)", key: api.operatorKey).status == 200)
        #expect(try await api.call("POST", "/v1/shipments", key: api.operatorKey, body: Self.register).status == 422)
    }

    @Test func aPushMovesTheShipmentAndNotifiesOnceEvenWhenSentTwice() async throws {
        let api = try LiveAPI()
        _ = try await api.call("POST", "/v1/shipments", key: api.keyA, body: Self.register)
        let body: [String: Any] = ["isDelivered": false, "deliveredDate": NSNull(), "events": [
            ["city": "Curitiba", "state": "PR", "description": "Objeto postado", "date": "2026-01-05 10:00"],
            ["city": "São Paulo", "state": "SP", "description": "Objeto saiu para entrega ao destinatário", "date": "2026-01-06 08:55"],
        ]]
        let first = try await api.call("PUT", "/api/oms/pvt/orders/1042-01/invoice/4587/tracking", key: api.keyA, body: body)
        #expect(first.status == 200 && first.json["orderId"] as? String == "1042-01" && (first.json["receipt"] as? String)?.count == 32)
        #expect(first.json["date"] is String)
        #expect(eventually(timeout: 20) { api.receiver.requests().count == 1 })
        let again = try await api.call("PUT", "/api/oms/pvt/orders/1042-01/invoice/4587/tracking", key: api.keyA, body: body)
        #expect(again.status == 200)
        let list = try await api.call("GET", "/v1/shipments?orderId=1042-01", key: api.keyA)
        let shipment = try #require((list.json["shipments"] as? [[String: Any]])?.first)
        #expect(shipment["status"] as? String == "in_transit")
        // One order_invoiced at registration and one for the change; the repeat added nothing.
        #expect(eventually(timeout: 20) { ((try? RastroBinary.run(["outbox", "list", "--data", api.data.path, "--merchant", "loja-a"]).output) ?? "").split(separator: "\n").count == 3 })
        #expect(api.receiver.requests().count == 1)
        let delivered = try await api.call("PUT", "/api/oms/pvt/orders/1042-01/invoice/4587/tracking", key: api.keyA,
                                           body: ["isDelivered": true, "deliveredDate": "2026-01-06 15:42", "events": []])
        #expect(delivered.status == 200)
        let id = try #require(shipment["id"] as? Int)
        let after = try await api.call("GET", "/v1/shipments/\(id)", key: api.keyA)
        #expect(after.json["status"] as? String == "delivered" && after.json["nextPollAt"] is NSNull)
        let badDate = try await api.call("PUT", "/api/oms/pvt/orders/1042-01/invoice/4587/tracking", key: api.keyA,
                                         body: ["events": [["description": "x", "date": "yesterday"]]])
        #expect(badDate.status == 422 && badDate.error["field"] as? String == "events[0].date")
    }

    @Test func theInvoiceCallRegistersTheShipmentThePushesFollow() async throws {
        let api = try LiveAPI()
        let invoice = try await api.call("POST", "/api/oms/pvt/orders/77-01/invoice", key: api.keyA, body: [
            "type": "Output", "invoiceNumber": "NF-9", "courier": "Acme", "trackingNumber": "AC777", "trackingUrl": "", "dispatchedDate": "2026-01-05 09:00"])
        #expect(invoice.status == 200 && invoice.json["orderId"] as? String == "77-01")
        let found = try await api.call("GET", "/v1/shipments?orderId=77-01", key: api.keyA)
        #expect((found.json["shipments"] as? [[String: Any]])?.first?["invoiceNumber"] as? String == "NF-9")
    }

    @Test func idempotencyKeysReplayTheFirstAnswerAndRefuseAnotherBody() async throws {
        let api = try LiveAPI()
        // The same bytes twice (a dictionary serialised twice may order its keys differently).
        let bytes = Array(try JSONSerialization.data(withJSONObject: Self.register, options: .sortedKeys))
        let json = ["Idempotency-Key": "k-1", "Content-Type": "application/json"]
        let first = try await api.call("POST", "/v1/shipments", key: api.keyA, raw: bytes, headers: json)
        let replay = try await api.call("POST", "/v1/shipments", key: api.keyA, raw: bytes, headers: json)
        #expect(first.status == 201 && replay.status == 201 && replay.json["id"] as? Int == first.json["id"] as? Int)
        #expect(replay.headers["idempotent-replayed"] == "true")
        var other = Self.register
        other["trackingNumber"] = "AC101"
        let conflict = try await api.call("POST", "/v1/shipments", key: api.keyA, body: other, headers: ["Idempotency-Key": "k-1"])
        #expect(conflict.status == 422 && conflict.error["field"] as? String == "Idempotency-Key")
        // Keys are per merchant.
        #expect(try await api.call("POST", "/v1/shipments", key: api.keyB, body: other, headers: ["Idempotency-Key": "k-1"]).status == 201)
    }

    @Test func aBodyOver64KiBIs413() async throws {
        let api = try LiveAPI()
        let big = Array(repeating: UInt8(ascii: "x"), count: 70 * 1024)
        let reply = try await api.call("POST", "/v1/shipments", key: api.keyA, raw: big, headers: ["Content-Type": "application/json"])
        #expect(reply.status == 413 && reply.error["code"] as? String == "too_large")
    }

    @Test func pollNowHasACooldownAndDeliveryCanBeConfirmedByHand() async throws {
        let api = try LiveAPI()
        let id = try #require(try await api.call("POST", "/v1/shipments", key: api.keyA, body: Self.register).json["id"] as? Int)
        #expect(try await api.call("POST", "/v1/shipments/\(id)/poll", key: api.keyA).status == 202)
        let second = try await api.call("POST", "/v1/shipments/\(id)/poll", key: api.keyA)
        #expect(second.status == 429 && Int(second.headers["retry-after"] ?? "") ?? 0 > 0)
        let delivered = try await api.call("POST", "/v1/shipments/\(id)/delivered", key: api.keyA, body: ["by": "store clerk", "at": "2026-01-06T18:00:00Z"])
        #expect(delivered.status == 200 && delivered.json["status"] as? String == "delivered")
        #expect(((delivered.json["timeline"] as? [[String: Any]])?.first?["description"] as? String)?.contains("store clerk") == true)
        let cancelled = try await api.call("POST", "/v1/shipments/\(id)/cancel", key: api.keyA)
        #expect(cancelled.status == 200 && cancelled.json["cancelledAt"] is String)
        #expect(try await api.call("GET", "/v1/carriers", key: api.keyA).json["carriers"] is [Any])
    }

    @Test func theOpenAPIDocumentValidatesAndListsEveryRoute() async throws {
        let api = try LiveAPI()
        let reply = try await api.call("GET", "/openapi.json", key: nil)
        #expect(reply.status == 200)
        let paths = try #require(reply.json["paths"] as? [String: [String: Any]])
        for route in APIServer.routes {
            #expect(paths[route.path]?[route.method.lowercased()] != nil, "\(route.method) \(route.path) is not in the OpenAPI document")
        }
        let file = api.root.appendingPathComponent("openapi.json")
        try JSONSerialization.data(withJSONObject: reply.json).write(to: file)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-m", "openapi_spec_validator", file.path]
        let out = Pipe()
        check.standardOutput = out
        check.standardError = out
        try check.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "\(text)")
    }
}
