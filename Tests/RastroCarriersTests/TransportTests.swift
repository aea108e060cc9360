import Foundation
import RastroTestSupport
import RastroCore
import Testing
@testable import RastroCarriers
@testable import RastroScripting
@testable import RastroTransport

@Suite("Transport and live polls on loopback")
struct TransportTests {
    @Test("a live poll runs auth, request and parse against a loopback carrier")
    func livePollWithAuth() async throws {
        let server = try LoopbackCarrier(routes: [
            ["method": "POST", "path": "/token", "status": 201, "require_headers": ["Authorization": "Basic dTpw"],
             "body": #"{"token":"t0k","expires_in":3600}"#],
            ["method": "GET", "path": "/track", "require_headers": ["Authorization": "Bearer t0k"], "status": 200,
             "headers": ["content-type": "application/json"],
             "body": #"{"parcels":[{"number":"AC1","events":[{"at":"2024-01-02T10:00:00","status":"out_for_delivery","code":"O","text":"Out"}]}]}"#],
        ])
        let source = minimalCarrier
            .replacingOccurrences(of: "headers = { Accept = \"application/json\" }", with: "headers = { Authorization = 'Bearer ' .. ctx.token }")
            .replacingOccurrences(of: "  request = function", with: """
                auth = function(config) return { method = "POST", url = config.base_url .. "/token", headers = { Authorization = "Basic " .. base64.encode(config.user .. ":" .. config.password) }, body = "{}" } end,
                parse_auth = function(response) local t = json.decode(response.body) return { token = t.token, expires_in = t.expires_in } end,
                request = function
              """)
        let vm = try LuaVM.sandboxed()
        let carrier = try CarrierScript.load(source: source, file: "carriers/acme/carrier.lua", folderID: "acme", on: vm)
        let poll = LivePoll(carrier: carrier, client: CurlHTTPClient(), config: ["base_url": server.baseURL, "user": "u", "password": "p"])
        let output = try await poll.track(["AC1"], now: Timestamp(secondsSinceEpoch: 1_700_000_000))
        guard case .tracked(let result) = output.outcome(for: "AC1") else { Issue.record("\(output)"); return }
        #expect(result.status == .outForDelivery)
        #expect(server.requests().map { $0["path"] as? String } == ["/token", "/track?n=AC1"])
    }

    @Test("a host outside the carrier's allow-list is refused before any connection")
    func hostNotAllowed() async throws {
        let client = CurlHTTPClient()
        await #expect(throws: TransportError.self) {
            try await client.perform(HTTPRequest(url: "http://127.0.0.1:9/x"), policy: EgressPolicy(hosts: ["api.correios.com.br"]))
        }
        #expect(!EgressPolicy(hosts: ["api.correios.com.br"]).allows("file:///etc/passwd"))
        #expect(!EgressPolicy(hosts: ["api.correios.com.br"]).allows("https://api.correios.com.br.evil.test/"))
        #expect(EgressPolicy(hosts: ["api.correios.com.br"]).allows("https://API.correios.com.br/srorastro/v1/objetos"))
    }

    @Test("many slow requests are in flight at once on the one transfer thread")
    func slowRequestsRunConcurrently() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/slow", "delay": 2, "body": "ok"]])
        let client = CurlHTTPClient(), base = server.baseURL
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<16 {
                group.addTask { try await client.perform(HTTPRequest(url: base + "/slow?i=\(i)"), policy: EgressPolicy(hosts: ["127.0.0.1"])).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 16))
        // The server counts requests it holds at once: one-at-a-time transfers would never exceed 1.
        // (Not a wall-clock check: other tests share the machine.)
        let overlap = server.requests().compactMap { $0["in_flight"] as? Int }.max() ?? 0
        #expect(overlap >= 4, "at most \(overlap) requests were in flight together")
    }

    @Test("a request that outlives its timeout fails as a timeout")
    func timeoutIsTyped() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/hang", "delay": 3, "body": "late"]])
        do {
            _ = try await CurlHTTPClient().perform(HTTPRequest(url: server.baseURL + "/hang", timeout: 0.3), policy: EgressPolicy(hosts: ["127.0.0.1"]))
            Issue.record("a hanging server did not time out")
        } catch let e as TransportError {
            #expect(e.kind == .timeout)
        }
    }

    @Test("a response over the size cap is refused")
    func oversizedResponseRefused() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/big", "body": String(repeating: "x", count: 100_000)]])
        let client = CurlHTTPClient(maxResponseBytes: 10_000)
        do {
            _ = try await client.perform(HTTPRequest(url: server.baseURL + "/big"), policy: EgressPolicy(hosts: ["127.0.0.1"]))
            Issue.record("accepted an oversized body")
        } catch let e as TransportError {
            #expect(e.kind == .tooLarge)
        }
    }

    @Test("redirects are not followed")
    func redirectsNotFollowed() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/moved", "status": 301, "headers": ["Location": "/elsewhere"]]])
        let response = try await CurlHTTPClient().perform(HTTPRequest(url: server.baseURL + "/moved"), policy: EgressPolicy(hosts: ["127.0.0.1"]))
        #expect(response.status == 301)
        #expect(response.headers["location"] == "/elsewhere")
        #expect(server.requests().count == 1)
    }

    @Test("configuration comes from RASTRO_<CARRIER>_<KEY> and a base_url joins the allow-list")
    func configFromEnvironment() throws {
        let config = CarrierConfig.fromEnvironment(carrier: "correios", environment: [
            "RASTRO_CORREIOS_BASE_URL": "http://127.0.0.1:8080", "RASTRO_CORREIOS_USER": "me", "RASTRO_OTHER_USER": "no",
        ])
        #expect(config == ["base_url": "http://127.0.0.1:8080", "user": "me"])
    }
}
