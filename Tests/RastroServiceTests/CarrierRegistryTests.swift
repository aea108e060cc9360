import Foundation
import RastroCore
import RastroService
import RastroStore
import RastroTestSupport
import Synchronization
import Testing

@Suite("Carrier hot reload", .serialized)
struct CarrierRegistryTests {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func anEditedCarrierIsPickedUpOnTheNextReload() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ServiceHarness.write(testCarrier(id: "acme", marker: "v1"), id: "acme", in: dir)
        let registry = CarrierRegistry(directory: dir)
        #expect(registry.reload().loaded == ["acme"])
        let first = try #require(registry.current("acme"))
        #expect(registry.reload().changed == false)
        try ServiceHarness.write(testCarrier(id: "acme", marker: "v2"), id: "acme", in: dir)
        #expect(registry.reload().loaded == ["acme"])
        #expect(registry.current("acme")?.hash != first.hash)
    }

    @Test func aBrokenEditKeepsThePreviousVersionRunningAndSaysWhy() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ServiceHarness.write(testCarrier(id: "acme"), id: "acme", in: dir)
        let registry = CarrierRegistry(directory: dir)
        registry.reload()
        let good = try #require(registry.current("acme"))
        try ServiceHarness.write("return { id = 'acme', name = ", id: "acme", in: dir)
        let report = registry.reload()
        #expect(report.failed["acme"]?.contains("carrier.lua") == true)
        #expect(registry.current("acme")?.hash == good.hash)
        #expect(registry.problems["acme"] != nil)
        // Reported once, not on every scan.
        #expect(registry.reload().failed.isEmpty)
        try ServiceHarness.write(testCarrier(id: "acme", marker: "fixed"), id: "acme", in: dir)
        #expect(registry.reload().loaded == ["acme"])
        #expect(registry.problems["acme"] == nil)
    }

    @Test func aLibraryEditReachesTheCarriersThatUseIt() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("_lib"), withIntermediateDirectories: true)
        try "return { marker = 'L1' }".write(to: dir.appendingPathComponent("_lib/shared.lua"), atomically: true, encoding: .utf8)
        try ServiceHarness.write(testCarrier(id: "acme").replacingOccurrences(of: "return {\n", with: "local shared = carriers.library('shared')\nreturn {\n"), id: "acme", in: dir)
        let registry = CarrierRegistry(directory: dir)
        #expect(registry.reload().loaded == ["acme"])
        let before = try #require(registry.current("acme"))
        try "return { marker = 'L2' }".write(to: dir.appendingPathComponent("_lib/shared.lua"), atomically: true, encoding: .utf8)
        #expect(registry.reload().loaded == ["acme"])
        #expect(registry.current("acme")?.libraries["shared"] == "return { marker = 'L2' }")
        #expect(registry.current("acme")?.hash != before.hash)
    }

    @Test func underLoadEveryPollRunsOneVersionWhole() async throws {
        let codes = (1...6).map { "AC\($0)" }
        let body = parcels(codes.map { ($0, [(at: "2023-11-14T10:00:00Z", status: "in_transit", code: "RO")]) })
        let server = try LoopbackCarrier(routes: [["path": "/track", "body": body]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme", batch: 1, marker: "A")], baseURLs: ["acme": server.baseURL])
        for code in codes { try h.register("acme", code) }
        h.start()
        var markerByVersion: [String: String] = [h.registry.current("acme")!.hash: "A"]
        var seen: [(version: String, markers: Set<String>)] = []
        for round in 0..<8 {
            // Flip the script between versions while polls run, then make everything due again.
            let marker = round % 2 == 0 ? "B" : "A"
            try ServiceHarness.write(testCarrier(id: "acme", batch: 1, marker: marker), id: "acme", in: h.carriers)
            h.registry.reload()
            markerByVersion[h.registry.current("acme")!.hash] = marker
            for _ in codes {
                let (report, _) = try #require(await h.nextRecording())
                let events = report.items.flatMap { item -> [String] in
                    if case .tracked(let r) = item.outcome { return r.events.map { String($0.description.prefix(1)) } } else { return [] }
                }
                seen.append((report.scriptVersion, Set(events)))
            }
            h.clock.advance(.seconds(7 * 3600))
            h.scheduler.wake()
        }
        await h.stop()
        #expect(seen.count == 48)
        for poll in seen {
            // The parse that produced the events is the version the poll recorded.
            #expect(poll.markers == [markerByVersion[poll.version] ?? "?"], "poll of version \(poll.version) saw \(poll.markers)")
        }
        #expect(Set(seen.map(\.version)).count >= 2)
    }
}
