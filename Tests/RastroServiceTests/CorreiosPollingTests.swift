import Foundation
import RastroCore
import RastroService
import RastroStore
import RastroTestSupport
import Synchronization
import Testing

/// The real `carriers/correios` script, driven by the scheduler against a loopback Correios.
@Suite("Correios through the scheduler", .serialized)
struct CorreiosPollingTests {
    /// A UPU S10 number with its mod-11 check digit.
    static func s10(_ serial: Int) -> String {
        let digits = String(format: "%08d", serial).compactMap(\.wholeNumberValue)
        let sum = zip(digits, [8, 6, 4, 2, 3, 5, 9, 7]).map(*).reduce(0, +)
        let check = { let c = 11 - sum % 11; return c == 10 ? 0 : c == 11 ? 5 : c }()
        return "AB\(String(format: "%08d", serial))\(check)BR"
    }

    static func objetos(_ codes: [String]) -> String {
        let list = codes.map { code -> [String: Any] in
            ["codObjeto": code, "eventos": [[
                "codigo": "PO", "tipo": "01", "dtHrCriado": "2026-11-20T10:15:00", "descricao": "Objeto postado",
                "unidade": ["endereco": ["cidade": "CURITIBA", "uf": "PR"], "tipo": "Agência dos Correios"],
            ]]]
        }
        let data = try! JSONSerialization.data(withJSONObject: ["objetos": list, "quantidade": codes.count, "versao": "1.2.0"])
        return String(decoding: data, as: UTF8.self)
    }

    @Test func fiftyNumbersDueTogetherGoOutAsOneRequestAndTheTokenIsReused() async throws {
        let codes = (1...50).map { Self.s10(47_624_800 + $0) }
        let server = try LoopbackCarrier(routes: [
            ["method": "POST", "path": "/token/v1/autentica/cartaopostagem", "status": 201,
             "body": #"{"token":"tok-1","expiraEm":"2030-01-01T00:00:00","zoneOffset":"-03:00"}"#],
            ["path": "/srorastro/v1/objetos", "require_headers": ["Authorization": "Bearer tok-1"], "body": Self.objetos(codes)],
        ])
        let source = try String(contentsOf: LoopbackCarrier.packageRoot.appendingPathComponent("carriers/correios/carrier.lua"), encoding: .utf8)
        let h = try ServiceHarness(carriers: ["correios": source], baseURLs: ["correios": server.baseURL],
                                   extraConfig: ["user": "loja", "access_code": "secret", "card": "0067599079"])
        for code in codes { try h.register("correios", code) }
        h.start()
        let (first, recording) = try #require(await h.nextRecording())
        #expect(first.outcome == "ok" && first.items.count == 50 && recording.newEvents == 50)
        // Everything is due again 6 h later; the token (valid until 2030) is not requested again.
        h.clock.advance(.seconds(7 * 3600))
        h.scheduler.wake()
        let (second, _) = try #require(await h.nextRecording())
        await h.stop()
        #expect(second.items.count == 50)
        let paths = server.requests().compactMap { $0["path"] as? String }.map { $0.components(separatedBy: "?")[0] }
        #expect(paths == ["/token/v1/autentica/cartaopostagem", "/srorastro/v1/objetos", "/srorastro/v1/objetos"])
        #expect(try h.store.shipments(trackingNumber: codes[0], merchantId: h.merchantId).first?.status == .inTransit)  // "Objeto postado": handed over at the counter
    }

    @Test func pollingAndConcurrentRegistrationsFromAnotherConnectionNeverSurfaceBusy() async throws {
        let codes = (1...200).map { Self.s10(10_000_000 + $0) }
        let server = try LoopbackCarrier(routes: [
            ["method": "POST", "path": "/token/v1/autentica/cartaopostagem", "status": 201, "body": #"{"token":"tok-1","expiraEm":"2030-01-01T00:00:00"}"#],
            ["path": "/srorastro/v1/objetos", "body": Self.objetos(codes)],
        ])
        let source = try String(contentsOf: LoopbackCarrier.packageRoot.appendingPathComponent("carriers/correios/carrier.lua"), encoding: .utf8)
        let h = try ServiceHarness(carriers: ["correios": source], baseURLs: ["correios": server.baseURL],
                                   extraConfig: ["user": "loja", "access_code": "secret", "card": "0067599079"])
        h.start()
        // An API-like writer on its own connection registers while the scheduler claims and records.
        let other = try Store.open(directory: h.directory.appendingPathComponent("data"))
        let merchantId = h.merchantId, now = h.clock.now, scheduler = h.scheduler
        try await Task.detached {
            for code in codes {
                _ = try other.registerShipment(NewShipment(carrier: "correios", trackingNumber: code), merchantId: merchantId, now: now)
                scheduler.wake()
            }
        }.value
        var recorded = 0
        while recorded < codes.count {
            let (report, _) = try #require(await h.nextRecording())
            recorded += report.items.count
        }
        await h.stop()
        #expect(recorded == codes.count)
        #expect(h.recordFailures.count == 0)
    }
}
