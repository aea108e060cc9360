import Foundation
import GRDB
import Hummingbird
import Logging
import RastroCore
import RastroScripting
import RastroServer
import RastroService
@testable import RastroStore
import RastroTestSupport
import RastroTransport
import Testing

/// The API in this process over a real SQLite file, so the test can make the writer
/// connection's disk "full" (`max_page_count` pinned to the file's size: SQLITE_FULL on
/// the next page) and give the space back; a child process could not be reached that way.
@Suite("API on a full disk", .serialized)
struct StorageFullAPITests {
    @Test func aPushOnAFullDiskIs503WithAClearErrorRecordsNothingAndSucceedsWhenSpaceReturns() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-full-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let carriers = root.appendingPathComponent("carriers")
        try FileManager.default.createDirectory(at: carriers.appendingPathComponent("acme"), withIntermediateDirectories: true)
        try e2eCarrier().write(to: carriers.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
        let store = try Store.open(directory: root.appendingPathComponent("data"))
        let registry = CarrierRegistry(directory: carriers)
        registry.reload()
        let merchant = try store.ensureMerchant(name: "loja", now: .now)
        let key = try APIKeys.create(merchantId: merchant.id!, name: "test", store: store, now: .now)
        let shipment = try store.registerShipment(NewShipment(carrier: "acme", trackingNumber: "AC77", orderId: "1042-01", invoiceNumber: "4587"),
                                                  merchantId: merchant.id!, now: .now)
        var settings = APIServer.Settings()
        settings.port = 0
        let api = APIServer(settings: settings, store: store, carriers: registry, validator: CarrierValidator(pool: try LuaPool(size: 1), registry: registry),
                            rules: nil, now: { .now }, logger: Logger(label: "test"))
        let listening = Inbox<Int>()
        let app = api.application { listening.put($0) }
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        let port = try #require(await listening.next(timeout: .seconds(20)))

        // 100 events of 400 characters: far more than any half-empty page can take.
        let events = (0..<100).map { i in
            ["city": "Curitiba", "state": "PR", "description": "Objeto em trânsito \(i) " + String(repeating: "x", count: 400),
             "date": String(format: "2024-03-%02d %02d:%02d", 1 + i / 24, i % 24, i % 60)]
        }
        let push = try JSONSerialization.data(withJSONObject: ["isDelivered": false, "deliveredDate": NSNull(), "events": events])
        let client = CurlHTTPClient()
        func send() async throws -> (Int, [String: String], [String: Any]) {
            let r = try await client.perform(RastroCore.HTTPRequest(method: "PUT", url: "http://127.0.0.1:\(port)/api/oms/pvt/orders/1042-01/invoice/4587/tracking",
                                                         headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"],
                                                         body: Array(push), timeout: 20),
                                             policy: EgressPolicy(hosts: ["127.0.0.1"]))
            return (r.status, r.headers, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
        }

        try store.fillDisk()
        let (status, headers, body) = try await send()
        #expect(status == 503, "\(body)")
        let error = body["error"] as? [String: Any] ?? [:]
        #expect(error["code"] as? String == "disk_full")
        #expect((error["message"] as? String)?.contains("disk is full") == true, "\(error)")
        #expect(headers["retry-after"] == "30")
        #expect(try store.count("event") == 0)
        #expect(try store.shipment(id: shipment.id!, merchantId: merchant.id!)?.status == .pending)

        try store.freeDisk()
        let (again, _, receipt) = try await send()
        #expect(again == 200, "\(receipt)")
        #expect(try store.events(shipmentId: shipment.id!).count == 100)
        #expect(try store.shipment(id: shipment.id!, merchantId: merchant.id!)?.status == .inTransit)
        #expect(try store.integrityCheck() == "ok")
    }
}

extension Store {
    func fillDisk() throws {
        try pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")!
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
    }

    func freeDisk() throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
    }

    func count(_ table: String) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)")! }
    }
}
