import Foundation
import RastroTestSupport
import Testing

@Suite("rastro carrier test and rastro track, through the binary")
struct CarrierCommandTests {
    @Test("rastro carrier test correios passes its fixtures and every Correios corpus case",
          .enabled(if: RastroBinary.corpusPresent, "no corpus at ../shared/corpus"))
    func correiosPassesFixturesAndCorpus() throws {
        let result = try RastroBinary.run(["carrier", "test", "correios", "--corpus", RastroBinary.corpus.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok    corpus/correios/prodis_sro_many_objects.xml"))
        #expect(result.output.contains("ok    carriers/correios/tests/rest_delivered.json"))
        // every corpus body of the carrier is a case
        let bodies = try FileManager.default.contentsOfDirectory(atPath: RastroBinary.corpus.appendingPathComponent("correios").path)
            .filter { !$0.hasSuffix(".expected.json") }
        #expect(result.output.components(separatedBy: "ok    corpus/correios/").count - 1 == bodies.count)
        #expect(result.output.contains(" 0 failed"))
    }

    @Test("a deliberately wrong expectation fails with a readable diff")
    func wrongExpectationFailsWithDiff() throws {
        let work = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let carriers = work.appendingPathComponent("carriers")
        try FileManager.default.copyItem(at: RastroBinary.root.appendingPathComponent("carriers/correios"), to: carriers.appendingPathComponent("correios"))
        let caseFile = carriers.appendingPathComponent("correios/tests/rest_delivered.case.json")
        let original = try String(contentsOf: caseFile, encoding: .utf8)
        let broken = original.replacingOccurrences(of: "\"status\": \"delivered\"", with: "\"status\": \"in_transit\"")
        #expect(broken != original)
        try broken.write(to: caseFile, atomically: true, encoding: .utf8)

        let result = try RastroBinary.run(["carrier", "test", "correios", "--carriers", carriers.path], in: work)
        #expect(result.status != 0)
        #expect(result.output.contains("FAIL  carriers/correios/tests/rest_delivered.json"))
        #expect(result.output.contains("status: expected \"in_transit\", got \"delivered\""), "\(result.output)")
        #expect(result.output.contains("1 failed"))
    }

    @Test("a carrier with a syntax error fails the run, naming the file")
    func syntaxErrorFailsRun() throws {
        let work = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let folder = work.appendingPathComponent("carriers/bad")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "return { id = 'bad', ".write(to: folder.appendingPathComponent("carrier.lua"), atomically: true, encoding: .utf8)
        let result = try RastroBinary.run(["carrier", "test", "--carriers", work.appendingPathComponent("carriers").path], in: work)
        #expect(result.status != 0)
        #expect(result.output.contains("carrier.lua: does not compile"), "\(result.output)")
    }

    @Test("rastro track correios polls a loopback Correios: token, batch request, timeline")
    func trackCorreiosOnLoopback() throws {
        let body = try String(contentsOf: RastroBinary.root.appendingPathComponent("carriers/correios/tests/rest_in_transit.json"), encoding: .utf8)
        let server = try LoopbackCarrier(routes: [
            ["method": "POST", "path": "/token/v1/autentica/cartaopostagem", "status": 201,
             "require_headers": ["Authorization": "Basic " + Data("store:secret".utf8).base64EncodedString()],
             "body": #"{"token":"tk-123","expiraEm":"2099-01-01T00:00:00"}"#],
            ["method": "GET", "path": "/srorastro/v1/objetos", "status": 200,
             "require_headers": ["Authorization": "Bearer tk-123"],
             "headers": ["content-type": "application/json"], "body": body],
        ])
        let codes = try codesIn(body)
        #expect(codes.count >= 2)
        let result = try RastroBinary.run(["track", "correios"] + codes, environment: [
            "RASTRO_CORREIOS_BASE_URL": server.baseURL, "RASTRO_CORREIOS_USER": "store",
            "RASTRO_CORREIOS_ACCESS_CODE": "secret", "RASTRO_CORREIOS_CARD": "0067599079",
        ])
        #expect(result.status == 0, "\(result.output)")
        for code in codes { #expect(result.output.contains(code)) }
        let requests = server.requests()
        #expect(requests.count == 2)
        let query = (requests.last?["path"] as? String) ?? ""
        for code in codes { #expect(query.contains("codigosObjetos=\(code)")) } // one request for the whole batch
    }

    @Test("rastro track refuses a number that fails the carrier's check digit, before any request")
    func trackRefusesInvalidNumber() throws {
        let result = try RastroBinary.run(["track", "correios", "SI047624826BR"])
        #expect(result.status != 0)
        #expect(result.output.contains("not a valid Correios number"), "\(result.output)")
    }

    /// A fresh folder with an empty carriers/ inside.
    func temporaryFolder() throws -> URL {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("carriers"), withIntermediateDirectories: true)
        return work
    }

    func codesIn(_ body: String) throws -> [String] {
        let doc = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return ((doc?["objetos"] as? [[String: Any]]) ?? []).compactMap { $0["codObjeto"] as? String }
    }
}
