import ArgumentParser
import Foundation
import Logging
import RastroCarriers
import RastroCore
import RastroScripting
import RastroService
import RastroStore
import RastroTransport
import Synchronization

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures: end-to-end polls per second, and a store of a million shipments.",
        discussion: "Build with -c release first. `bash bench/run.sh` runs every benchmark and prints the table for the README.",
        subcommands: [PollsBench.self, StoreBench.self]
    )
}

/// `rastro bench polls`: N shipments due at once → the real scheduler, the real
/// Correios script, a loopback Correios (bench/correios_feed.py) → parse → store
/// → rules → outbox; polls per second and CPU per poll by stage.
struct PollsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polls",
        abstract: "End-to-end polls per second for N shipments due at once, with CPU time per poll by stage.",
        discussion: """
        The carrier is carriers/correios (batches of 50) against bench/correios_feed.py on loopback, with
        the script's own limits (10 requests/s and 4 in flight, what Correios allows) lifted to measure
        rastro itself (--concurrency, default 16).
        Rules are rules/ (default: an email per status change, written to the outbox, not sent).
        """
    )

    @Option(help: "Shipments due at once; repeat for several runs.") var shipments: [Int] = [10_000]
    @OptionGroup var carriersOption: CarriersOption
    @Option(help: "Rules folder.") var rules: String = "rules"
    @Option(help: "The loopback Correios (default: bench/correios_feed.py, started and stopped here).") var feed: String = "bench/correios_feed.py"
    @Option(help: "Lua states.") var luaStates: Int = LuaPool.defaultSize
    @Option(help: "Requests in flight (the script's own limit, 4, is Correios' politeness, not rastro's).") var concurrency: Int = 16

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let source = try String(contentsOf: URL(fileURLWithPath: carriersOption.carriers).appendingPathComponent("correios/carrier.lua"), encoding: .utf8)
        let limits = "limits = { concurrency = 4, per_second = 10, batch = 50 }"
        guard source.contains(limits) else { throw ValidationError("carriers/correios/carrier.lua: expected `\(limits)` to lift") }
        let feedProcess = try FeedProcess(script: feed)
        defer { feedProcess.stop() }
        emit("shipments  wall s  polls/s  requests  CPU ms/poll  Lua µs/poll  rules µs/poll  writer µs/poll  rest µs/poll  feed CPU ms/poll  events  outbox")
        for n in shipments {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-bench-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: root) }
            let carriers = root.appendingPathComponent("carriers/correios")
            try FileManager.default.createDirectory(at: carriers, withIntermediateDirectories: true)
            try source.replacingOccurrences(of: limits, with: "limits = { concurrency = \(concurrency), per_second = 100000, batch = 50 }")
                .write(to: carriers.appendingPathComponent("carrier.lua"), atomically: true, encoding: .utf8)
            let store = try Store.open(directory: root.appendingPathComponent("data"))
            let now = Timestamp.now
            let merchant = try store.ensureMerchant(name: "bench", now: now)
            let list = (0..<n).map { i in
                Store.ImportedShipment(shipment: NewShipment(carrier: "correios", trackingNumber: S10.number(serial: 10_000_000 + i),
                                                             orderId: "order-\(i)", customerEmail: "customer\(i)@example.com", customerLocale: "pt-BR"))
            }
            _ = try store.importShipments(list, merchantId: merchant.id!, now: now)

            let registry = CarrierRegistry(directory: root.appendingPathComponent("carriers"))
            let loaded = registry.reload()
            guard registry.current("correios") != nil else { throw ValidationError("the correios script did not load: \(loaded.failed)") }
            let stages = PollStages()
            let base = feedProcess.baseURL
            let poller = CarrierPoller(pool: try LuaPool(size: luaStates), client: CurlHTTPClient(), stages: stages) { _ in
                ["base_url": base, "user": "bench", "access_code": "bench", "card": "0000000001"]
            }
            let notify = try NotifySetup(rulesDirectory: rules, dataDirectory: root.appendingPathComponent("data").path,
                                         carrier: NotifySetup.carrierInfo(registry))
            let polled = Atomic<Int>(0), requests = Atomic<Int>(0)
            let lastProblem = Mutex<String?>(nil)
            let scheduler = PollScheduler(store: store, registry: registry, poller: poller, now: { .now }, notify: notify.engine.notifier,
                                          onEvent: { event in
                                              switch event {
                                              case .recorded(let report, _):
                                                  polled.add(report.items.count, ordering: .relaxed)
                                                  requests.add(1, ordering: .relaxed)
                                                  if report.outcome != "ok" { lastProblem.withLock { $0 = "\(report.outcome): \(report.error ?? "")" } }
                                              case .recordFailed(_, let error): lastProblem.withLock { $0 = "not recorded: \(error)" }
                                              case .released: break
                                              }
                                          })
            let feedCPU0 = feedProcess.cpuNanos(), cpu0 = PollStages.processCPU(), t0 = ContinuousClock.now
            let task = Task { await scheduler.run() }
            var progress = (count: 0, at: ContinuousClock.now)
            while polled.load(ordering: .relaxed) < n {
                try await Task.sleep(for: .milliseconds(5))
                let count = polled.load(ordering: .relaxed)
                if count != progress.count { progress = (count, .now) }
                if ContinuousClock.now - progress.at > .seconds(30) {
                    task.cancel()
                    throw ValidationError("no poll recorded for 30 s (\(count) of \(n) done); last problem: \(lastProblem.withLock { $0 } ?? "none")")
                }
            }
            let wall = ContinuousClock.now - t0
            let cpu = PollStages.processCPU() - cpu0, feedCPU = feedProcess.cpuNanos() - feedCPU0
            task.cancel()
            await task.value
            let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
            let perPoll = { (nanos: Int64) in Double(nanos) / Double(n) / 1000 }
            let lua = stages.lua.components, storeCPU = stages.store.components, prepareCPU = stages.prepare.components
            let luaNanos = lua.seconds * 1_000_000_000 + lua.attoseconds / 1_000_000_000
            let storeNanos = storeCPU.seconds * 1_000_000_000 + storeCPU.attoseconds / 1_000_000_000
            let prepareNanos = prepareCPU.seconds * 1_000_000_000 + prepareCPU.attoseconds / 1_000_000_000
            let counts = try store.tableCounts()
            emit([String(n), String(format: "%.2f", seconds), String(format: "%.0f", Double(n) / seconds), String(requests.load(ordering: .relaxed)),
                   String(format: "%.3f", perPoll(cpu) / 1000), String(format: "%.0f", perPoll(luaNanos)), String(format: "%.0f", perPoll(prepareNanos)),
                   String(format: "%.0f", perPoll(storeNanos)), String(format: "%.0f", perPoll(cpu - luaNanos - storeNanos - prepareNanos)), String(format: "%.3f", perPoll(feedCPU) / 1000),
                   String(counts.events), String(counts.outbox)].joined(separator: "  "))
        }
    }
}

/// Prints a line at once, unbuffered (figures as they come, also into a pipe).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// bench/correios_feed.py as a child process on a free loopback port.
final class FeedProcess {
    let process = Process()
    let baseURL: String

    init(script: String) throws {
        guard FileManager.default.fileExists(atPath: script) else { throw ValidationError("no feed script at \(script)") }
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--port", "0"]
        process.standardOutput = out
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = line.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            process.terminate()
            throw ValidationError("the feed did not start: \(line)")
        }
        baseURL = "http://127.0.0.1:\(port)"
    }

    /// The feed's CPU time so far (utime + stime from /proc), so the report can leave it out of rastro's.
    func cpuNanos() -> Int64 {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = (Int64(fields[11]) ?? 0) + (Int64(fields[12]) ?? 0)
        return ticks * 1_000_000_000 / Int64(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        // Not waitUntilExit: Foundation's wait needs a run loop this async command does not spin.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// UPU S10 numbers with a valid mod-11 check digit (what carriers/correios validates).
enum S10 {
    static func number(serial: Int) -> String {
        let digits = String(format: "%08d", serial % 100_000_000).compactMap(\.wholeNumberValue)
        let sum = zip(digits, [8, 6, 4, 2, 3, 5, 9, 7]).map(*).reduce(0, +)
        let check = { let c = 11 - sum % 11; return c == 10 ? 0 : c == 11 ? 5 : c }()
        return "AB\(String(format: "%08d", serial % 100_000_000))\(check)BR"
    }
}
