import Foundation
import RastroCarriers
import RastroCore
import RastroScripting
import RastroService
import RastroStore
import RastroTestSupport
import RastroTransport
import Synchronization

/// A test carrier: GET <base_url>/track?n=CODE&n=CODE, JSON { parcels = [...] }.
func testCarrier(id: String, batch: Int = 10, concurrency: Int = 4, every: String = "6h", window: String = "12d12h", marker: String = "v1") -> String {
    """
    return {
      id = "\(id)", name = "\(id)", api = 1, hosts = { "api.\(id).test" },
      poll = { every = "\(every)", window = "\(window)" },
      limits = { batch = \(batch), concurrency = \(concurrency), per_second = 1000 },
      validate = function(code) return code:match("^AC%d+$") ~= nil end,
      request = function(codes, config, ctx)
        return { url = config.base_url .. "/track?" .. url.query{ n = codes }, timeout = 10 }
      end,
      parse = function(response, codes, ctx)
        if response.status >= 500 then return failure.temporary("carrier answered " .. response.status) end
        if response.status == 401 then return failure.auth("token refused") end
        local doc, err = json.decode(response.body)
        if type(doc) ~= "table" then return failure.broken("not JSON: " .. tostring(err)) end
        local out = {}
        for _, p in ipairs(doc.parcels or {}) do
          local events = {}
          for _, e in ipairs(p.events) do
            events[#events + 1] = { occurred_at = time.parse(e.at, "iso", "UTC"), status = e.status, code = e.code, description = "\(marker) " .. e.code }
          end
          out[p.number] = { events = events }
        end
        for _, code in ipairs(codes) do out[code] = out[code] or failure.not_found() end
        return out
      end,
    }
    """
}

/// A JSON body for the test carrier: one parcel with the given events (newest first).
func parcels(_ items: [(number: String, events: [(at: String, status: String, code: String)])]) -> String {
    let list = items.map { item -> [String: Any] in
        ["number": item.number, "events": item.events.map { ["at": $0.at, "status": $0.status, "code": $0.code] }]
    }
    let data = try! JSONSerialization.data(withJSONObject: ["parcels": list])
    return String(decoding: data, as: UTF8.self)
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Timestamp>
    init(_ start: Timestamp) { current = Mutex(start) }
    var now: Timestamp { current.withLock { $0 } }
    func set(_ t: Timestamp) { current.withLock { $0 = t } }
    func advance(_ d: Duration) { current.withLock { $0 = $0 + d } }
}

/// Store, carriers folder, Lua pool and scheduler on a temporary folder, with
/// every scheduler event readable as an async stream.
final class ServiceHarness: @unchecked Sendable {
    let directory: URL
    let carriers: URL
    let store: Store
    let registry: CarrierRegistry
    let clock: TestClock
    let scheduler: PollScheduler
    let inbox = Inbox<PollScheduler.Event>()
    /// Polls the store could not record (SQLITE_BUSY would show here).
    let recordFailures = Counter()
    /// Extra listeners of scheduler events (carrier health), called before the inbox hears of the event.
    let listeners = Listeners()
    private var runTask: Task<Void, Never>?
    let merchantId: Int64

    init(carriers scripts: [String: String], baseURLs: [String: String], extraConfig: [String: String] = [:],
         start: Timestamp = Timestamp(secondsSinceEpoch: 1_700_000_000), settings: PollScheduler.Settings = .init()) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-service-\(UUID().uuidString)")
        carriers = directory.appendingPathComponent("carriers")
        for (id, source) in scripts { try Self.write(source, id: id, in: carriers) }
        store = try Store.open(directory: directory.appendingPathComponent("data"))
        registry = CarrierRegistry(directory: carriers)
        registry.reload()
        clock = TestClock(start)
        let inbox = inbox, recordFailures = recordFailures, listeners = listeners
        let poller = CarrierPoller(pool: try LuaPool(size: 2), client: CurlHTTPClient()) { id in extraConfig.merging(["base_url": baseURLs[id] ?? ""]) { _, b in b } }
        let clock = clock
        scheduler = PollScheduler(store: store, registry: registry, poller: poller, settings: settings, now: { clock.now },
                                  onEvent: { event in
                                      if case .recordFailed = event { recordFailures.add() }
                                      for listener in listeners.all { listener(event) }
                                      inbox.put(event)
                                  })
        merchantId = try store.ensureMerchant(name: "loja", now: start).id!
    }

    static func write(_ source: String, id: String, in carriers: URL) throws {
        let folder = carriers.appendingPathComponent(id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try source.write(to: folder.appendingPathComponent("carrier.lua"), atomically: true, encoding: .utf8)
    }

    func start() {
        let scheduler = scheduler
        runTask = Task { await scheduler.run() }
    }

    func stop() async {
        runTask?.cancel()
        await runTask?.value
    }

    @discardableResult
    func register(_ carrier: String, _ code: String, dispatchedAt: Timestamp? = nil) throws -> Shipment {
        let s = try store.registerShipment(NewShipment(carrier: carrier, trackingNumber: code, dispatchedAt: dispatchedAt), merchantId: merchantId, now: clock.now)
        scheduler.wake()
        return s
    }

    func shipment(_ id: Int64) throws -> Shipment { try store.shipment(id: id, merchantId: merchantId)! }

    /// The next recorded poll (skipping other events), or nil if none comes within `timeout`.
    /// The timeout is generous: under a full parallel test run on 2 cores one poll of 50 numbers has taken over 20 s.
    func nextRecording(timeout: Duration = .seconds(60)) async -> (PollReport, PollRecording)? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let event = await inbox.next(timeout: deadline - ContinuousClock.now) else { return nil }
            if case .recorded(let report, let recording) = event { return (report, recording) }
        }
        return nil
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

final class Listeners: Sendable {
    private let list = Mutex<[@Sendable (PollScheduler.Event) -> Void]>([])
    func append(_ listener: @escaping @Sendable (PollScheduler.Event) -> Void) { list.withLock { $0.append(listener) } }
    var all: [@Sendable (PollScheduler.Event) -> Void] { list.withLock { $0 } }
}

final class Counter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}
