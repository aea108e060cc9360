import Foundation
import GRDB
import RastroCarriers
import RastroCore
import RastroScripting
import RastroService
@testable import RastroStore
import RastroTestSupport
import RastroTransport
import Testing

/// A full disk and a read-only database, produced on the writer connection itself so every
/// write takes SQLite's real error path: `max_page_count` pinned to the file's current size
/// gives SQLITE_FULL as soon as a transaction needs one more page; `query_only` gives
/// SQLITE_READONLY (file permissions would not: the tests may run as root).
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

    func setReadOnly(_ on: Bool) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = \(on ? 1 : 0)") }
    }

    func count(_ table: String) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)")! }
    }
}

@Suite("Disk full and read-only database", .serialized)
struct StorageFailureTests {
    /// A carrier answer big enough (incompressible padding, kept with the raw response) that
    /// recording it needs new pages whatever free space the file's pages have.
    static func bigAnswer(_ number: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let padding = (0..<24_000).map { _ in String(UInt8.random(in: 0...255, using: &rng), radix: 16) }.joined()
        let body = ["padding": padding, "parcels": [["number": number, "events": [["at": "2023-11-14T10:00:00Z", "status": "in_transit", "code": "RO"]]]]] as [String: Any]
        return String(decoding: try! JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    /// A scheduler over the harness's store whose rules write one email per change, so a
    /// status change without its outbox row would show.
    static func scheduler(_ h: ServiceHarness, baseURL: String, events: Inbox<PollScheduler.Event>) throws -> PollScheduler {
        let poller = CarrierPoller(pool: try LuaPool(size: 1), client: CurlHTTPClient()) { _ in ["base_url": baseURL] }
        var settings = PollScheduler.Settings()
        settings.lease = .seconds(60)
        let clock = h.clock
        return PollScheduler(store: h.store, registry: h.registry, poller: poller, settings: settings, now: { clock.now },
                             notify: { change in
                                 [OutboxIntent(kind: .email, template: "status_update", recipient: "ana@example.com", payload: "{}", key: "email:\(change.to.rawValue)")]
                             },
                             onEvent: { events.put($0) })
    }

    static func next(_ events: Inbox<PollScheduler.Event>, where match: (PollScheduler.Event) -> Bool) async -> PollScheduler.Event? {
        while let event = await events.next(timeout: .seconds(20)) {
            if match(event) { return event }
        }
        return nil
    }

    static func failed(_ e: PollScheduler.Event) -> Bool { if case .recordFailed = e { true } else { false } }
    static func recorded(_ e: PollScheduler.Event) -> Bool { if case .recorded = e { true } else { false } }

    @Test func aPollRecordedOnAFullDiskFailsClearlyLeavesNothingAndIsRetriedWhenSpaceReturns() async throws {
        let server = try LoopbackCarrier(routes: [["path": "/track", "body": Self.bigAnswer("AC1")]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme")], baseURLs: ["acme": server.baseURL])
        let s = try h.register("acme", "AC1")
        try h.store.fillDisk()
        let events = Inbox<PollScheduler.Event>()
        let scheduler = try Self.scheduler(h, baseURL: server.baseURL, events: events)
        let run = Task { await scheduler.run() }

        let failure = try #require(await Self.next(events, where: Self.failed))
        guard case .recordFailed(_, let error) = failure else { return }
        #expect(error.contains("the disk is full"), "\(error)")
        // Nothing of the poll was committed: no poll row, no raw response, no event, no outbox row,
        // the shipment did not move; its lease holds it until the lease ends.
        for table in ["poll", "raw_response", "event", "outbox", "carrier_outcome"] {
            #expect(try h.store.count(table) == 0, "\(table)")
        }
        let leased = try h.shipment(s.id!)
        #expect(leased.status == .pending && leased.leaseOwner == scheduler.owner)
        #expect(leased.nextPollAt == h.clock.now + .seconds(60))

        try h.store.freeDisk()
        h.clock.advance(.seconds(61))
        scheduler.wake()
        #expect(await Self.next(events, where: Self.recorded) != nil)
        run.cancel()
        await run.value
        let after = try h.shipment(s.id!)
        #expect(after.status == .inTransit && after.leaseOwner == nil)
        #expect(try h.store.events(shipmentId: s.id!).map(\.code) == ["RO"])
        #expect(try h.store.count("poll") == 1 && h.store.count("raw_response") == 1 && h.store.count("outbox") == 1)
        #expect(server.requests().count == 2, "the poll was not retried after its lease")
    }

    @Test func aPollRecordedOnAReadOnlyDatabaseFailsClearlyAndIsRetriedWhenWritable() async throws {
        // The answer waits, so the database turns read-only between the claim and the recording.
        let server = try LoopbackCarrier(routes: [["path": "/track", "delay": 1, "body": parcels([("AC2", [("2023-11-14T10:00:00Z", "in_transit", "RO")])])]])
        let h = try ServiceHarness(carriers: ["acme": testCarrier(id: "acme")], baseURLs: ["acme": server.baseURL])
        let s = try h.register("acme", "AC2")
        let events = Inbox<PollScheduler.Event>()
        let scheduler = try Self.scheduler(h, baseURL: server.baseURL, events: events)
        let run = Task { await scheduler.run() }
        #expect(await server.waitForRequests(1))
        try h.store.setReadOnly(true)

        let failure = try #require(await Self.next(events, where: Self.failed))
        guard case .recordFailed(_, let error) = failure else { return }
        #expect(error.contains("the database is read-only"), "\(error)")
        for table in ["poll", "event", "outbox"] {
            #expect(try h.store.count(table) == 0, "\(table)")
        }
        #expect(try h.shipment(s.id!).status == .pending)
        do {
            _ = try h.register("acme", "AC3")
            Issue.record("a registration on a read-only database succeeded")
        } catch let e as StoreError {
            #expect(e.storageProblem == .readOnly, "\(e)")
        }

        try h.store.setReadOnly(false)
        h.clock.advance(.seconds(61))
        scheduler.wake()
        #expect(await Self.next(events, where: { if case .recorded(_, let r) = $0 { r.newEvents == 1 } else { false } }) != nil)
        run.cancel()
        await run.value
        #expect(try h.shipment(s.id!).status == .inTransit)
        #expect(try h.store.count("event") == 1 && h.store.count("outbox") == 1)
    }
}
