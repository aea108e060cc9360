import Foundation
import RastroCore
import RastroTestSupport
import RastroTransport
import Testing

/// A GET to the serve process, without a key.
func get(port: Int, _ path: String) async throws -> (status: Int, body: String, contentType: String?) {
    let response = try await CurlHTTPClient().perform(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)\(path)", headers: [:], body: nil, timeout: 20),
                                                      policy: EgressPolicy(hosts: ["127.0.0.1"]))
    return (response.status, String(decoding: response.body, as: UTF8.self), response.headers["content-type"])
}

/// The families of a Prometheus exposition as the reference parser (prometheus_client) reads them.
struct Exposition {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }
    var types: [String: String] = [:]
    var samples: [Sample] = []

    init(types: [String: String], samples: [Sample]) {
        self.types = types
        self.samples = samples
    }

    init(_ text: String) throws {
        let (status, output) = try PythonHelper.run("prometheus_parse.py", input: Data(text.utf8))
        guard status == 0, let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let families = json["families"] as? [[String: Any]] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "the parser refused /metrics: \(output)\n\(text)"])
        }
        for family in families {
            types[family["name"] as? String ?? ""] = family["type"] as? String
            for s in family["samples"] as? [[String: Any]] ?? [] {
                samples.append(Sample(name: s["name"] as? String ?? "", labels: s["labels"] as? [String: String] ?? [:],
                                      value: (s["value"] as? NSNumber)?.doubleValue ?? .nan))
            }
        }
    }

    /// The sum of a sample's values over the series whose labels include `labels`.
    func total(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.map(\.value).reduce(0, +)
    }
}

@Suite("GET /metrics", .serialized)
struct MetricsEndpointTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-metrics-\(UUID().uuidString)")
    var data: URL { root.appendingPathComponent("data") }
    var carriers: URL { root.appendingPathComponent("carriers") }

    func scrape(_ serve: ServeProcess) async throws -> Exposition {
        let reply = try await get(port: serve.port, "/metrics")
        #expect(reply.status == 200 && reply.contentType?.hasPrefix("text/plain") == true)
        return try Exposition(reply.body)
    }

    @Test func metricsParseAsPrometheusTextAndThePollCountersMoveWithPolls() async throws {
        try FileManager.default.createDirectory(at: carriers.appendingPathComponent("acme"), withIntermediateDirectories: true)
        try e2eCarrier(every: "2s").write(to: carriers.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: root) }
        let server = try LoopbackCarrier(routes: [["path": "/track",
                                                   "body": body([("AC1", [("2026-01-05T10:00:00Z", "in_transit", "RO")]), ("AC2", [])])]])
        let serve = try ServeProcess(data: data, carriers: carriers,
                                     environment: ["RASTRO_ACME_BASE_URL": server.baseURL, "RASTRO_METRICS_REFRESH_EVERY": "0.2"])
        for code in ["AC1", "AC2", "AC3"] {
            #expect(try RastroBinary.run(["shipment", "add", "acme", code, "--data", data.path, "--carriers", carriers.path]).status == 0)
        }
        var first = Exposition.empty
        // Until each of the three has been polled at least once (AC3 may be registered after AC1's first poll).
        #expect(try await eventuallyAsync {
            first = try await scrape(serve)
            return first.total("rastro_poll_items_total", ["carrier": "acme", "outcome": "not_found"]) >= 1
                && first.total("rastro_poll_items_total", ["carrier": "acme", "outcome": "new_events"]) >= 1
        }, "\(serve.logText)")
        #expect(first.types["rastro_polls"] == "counter" && first.types["rastro_parse_seconds"] == "histogram")
        #expect(first.types["rastro_poll_seconds"] == "histogram" && first.types["rastro_queue_lag_seconds"] == "gauge")
        #expect(first.total("rastro_polls_total", ["carrier": "acme", "outcome": "ok"]) >= 1)
        // AC1 has an event, AC2 an empty timeline, AC3 is unknown to the carrier.
        #expect(first.total("rastro_poll_items_total", ["carrier": "acme", "outcome": "new_events"]) == 1)
        #expect(first.total("rastro_poll_items_total", ["carrier": "acme", "outcome": "not_found"]) >= 1)
        #expect(first.total("rastro_parse_seconds_count", ["carrier": "acme"]) >= 1)
        #expect(try await eventuallyAsync { try await scrape(serve).total("rastro_active_shipments", ["carrier": "acme"]) == 3 })
        let gauges = try await scrape(serve)
        for name in ["rastro_due_shipments", "rastro_outbox_backlog", "rastro_outbox_failed", "rastro_outbox_lag_seconds"] {
            #expect(gauges.types[name] == "gauge", "\(name) is not exposed as a gauge")
        }
        // The scrapes before this one were counted, by route template.
        #expect(gauges.total("rastro_http_requests_total", ["route": "/metrics", "status": "200"]) >= 2)

        // More polls (every 2 s): the counters only grow.
        let requests = server.requests().count
        #expect(await server.waitForRequests(requests + 2, timeout: .seconds(30)))
        var second = Exposition.empty
        #expect(try await eventuallyAsync {
            second = try await scrape(serve)
            return second.total("rastro_polls_total", ["carrier": "acme"]) > first.total("rastro_polls_total", ["carrier": "acme"])
        })
        #expect(second.total("rastro_poll_items_total", ["carrier": "acme"]) > first.total("rastro_poll_items_total", ["carrier": "acme"]))
        #expect(second.total("rastro_parse_seconds_count", ["carrier": "acme"]) > first.total("rastro_parse_seconds_count", ["carrier": "acme"]))
        #expect(serve.stop() == 0)
    }
}

extension Exposition {
    static let empty = Exposition(types: [:], samples: [])
}

/// Waits for `condition`, checking every 100 ms, up to `timeout` seconds.
func eventuallyAsync(timeout: TimeInterval = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
