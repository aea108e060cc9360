import Foundation
import RastroTestSupport
import Testing

@Suite("rastro serve --config", .serialized)
struct ConfigFileTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-config-\(UUID().uuidString)")
    var carriers: URL { root.appendingPathComponent("carriers") }

    init() throws {
        try FileManager.default.createDirectory(at: carriers.appendingPathComponent("acme"), withIntermediateDirectories: true)
        try e2eCarrier(every: "1h").write(to: carriers.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
    }

    func write(_ text: String, to name: String) throws -> URL {
        let file = root.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func aConfigurationFileSetsThePortTheDataFolderTheLogFormatAndTurnsMetricsOff() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let port = unusedLoopbackPort()
        let data = root.appendingPathComponent("elsewhere")
        let config = try write("""
        [server]
        port = \(port)
        [paths]
        data = "\(data.path)"
        carriers = "\(carriers.path)"
        [log]
        format = "json"
        [metrics]
        enabled = false
        """, to: "rastro.toml")
        let serve = try ServeProcess(logIn: root, arguments: ["--config", config.path])
        #expect(serve.port == port)
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("rastro.sqlite").path))
        #expect(try await get(port: port, "/health").status == 200)
        #expect(try await get(port: port, "/metrics").status == 404)
        #expect(serve.stop() == 0)

        // Every line rastro wrote is one JSON object with the four fixed fields.
        let lines = serve.logText.split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["timestamp"] is String && object?["level"] is String && object?["label"] is String && object?["message"] is String,
                    "not a JSON log line: \(line)")
        }
        let listening = try #require(lines.first { $0.contains("\"message\":\"listening\"") })
        #expect(listening.contains("\"config\":\"\(config.path)\"") && listening.contains("\"metrics\":\"off\""))
    }

    @Test func aFlagBeatsTheFileAndRASTRO_CONFIGNamesTheFile() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let config = try write("[server]\nport = \(unusedLoopbackPort())\n[paths]\ndata = \"\(data.path)\"\ncarriers = \"\(carriers.path)\"\n",
                               to: "rastro.toml")
        let serve = try ServeProcess(logIn: root, arguments: ["--port", "0"], environment: ["RASTRO_CONFIG": config.path])
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("rastro.sqlite").path))
        #expect(try await get(port: serve.port, "/health").status == 200)
        #expect(serve.stop() == 0)
    }

    @Test func aMistakeInTheFileStopsServeNamingTheFileLineAndKey() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let config = try write("[server]\nprot = 8080\n", to: "bad.toml")
        let result = try RastroBinary.run(["serve", "--config", config.path])
        #expect(result.status != 0)
        #expect(result.output.contains("\(config.path):2: unknown key 'prot' in [server] (known: host, port)"), "\(result.output)")
    }
}
