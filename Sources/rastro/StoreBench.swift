import ArgumentParser
import Foundation
import RastroCore
import RastroStore

/// `rastro bench store`: a million active shipments — how big the database is per
/// shipment, how long claiming 1,000 due polls takes, how much memory `rastro serve` holds.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "With N active shipments (3 events each): import time, database bytes per shipment, time to claim 1,000 due polls, serve's resident memory.",
        discussion: """
        Shipments are Correios numbers, their next polls spread over 6 h (5 % due now), as in steady state.
        `rastro serve` then runs on that database for --serve-seconds against bench/correios_feed.py (the
        script's own rate limit applies), and its resident set size is read from /proc.
        """
    )

    @Option(help: "Active shipments.") var shipments: Int = 1_000_000
    @Option(help: "Seconds `rastro serve` runs before its memory is read (0: skip).") var serveSeconds: Int = 20
    @OptionGroup var carriersOption: CarriersOption
    @Option(help: "Rules folder.") var rules: String = "rules"
    @Option(help: "The loopback Correios.") var feed: String = "bench/correios_feed.py"

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-bench-store-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let dataDir = root.appendingPathComponent("data")
        let store = try Store.open(directory: dataDir)
        let now = Timestamp.now
        let merchant = try store.ensureMerchant(name: "bench", now: now)
        let history = [
            TrackingEvent(occurredAt: now - .seconds(3600), status: .inTransit, code: "RO", description: "Objeto em trânsito - por favor aguarde",
                          location: .init(city: "CAJAMAR", state: "SP", country: "BR")),
            TrackingEvent(occurredAt: now - .seconds(2 * 86400), status: .inTransit, code: "PO", description: "Objeto postado",
                          location: .init(city: "CURITIBA", state: "PR", country: "BR")),
            TrackingEvent(occurredAt: now - .seconds(2 * 86400 + 600), status: .infoReceived, code: "PAR", description: "Etiqueta emitida",
                          location: .init(city: "CURITIBA", state: "PR", country: "BR")),
        ]
        let started = ContinuousClock.now
        let chunk = 50_000
        for start in stride(from: 0, to: shipments, by: chunk) {
            let list = (start..<min(shipments, start + chunk)).map { i in
                Store.ImportedShipment(
                    shipment: NewShipment(carrier: "correios", trackingNumber: S10.number(serial: i), orderId: "order-\(i)",
                                          customerEmail: "customer\(i)@example.com", customerLocale: "pt-BR"),
                    events: history,
                    nextPollAt: i % 20 == 0 ? now - .seconds(1) : now + .seconds(Int64(60 + i % 21_600)))
            }
            _ = try store.importShipments(list, merchantId: merchant.id!, now: now)
        }
        let importTime = ContinuousClock.now - started
        try store.checkpoint()
        let bytes = ["rastro.sqlite", "rastro.sqlite-wal"].compactMap {
            (try? FileManager.default.attributesOfItem(atPath: dataDir.appendingPathComponent($0).path))?[.size] as? Int
        }.reduce(0, +)

        // Claims of 1,000 due shipments, one after another (each takes the next oldest 1,000).
        var claims: [Double] = []
        for round in 0..<5 {
            let t = ContinuousClock.now
            let claimed = try store.claimDue(carrier: "correios", limit: 1000, owner: "bench-\(round)", leaseUntil: now + .seconds(120), now: now)
            claims.append(Self.ms(ContinuousClock.now - t))
            guard claimed.count == 1000 else { throw ValidationError("claimed \(claimed.count), expected 1000") }
        }
        let claimedIds = try store.tableCounts()
        emit("active shipments: \(shipments) (\(claimedIds.events) events), imported in \(String(format: "%.1f", Self.ms(importTime) / 1000)) s")
        emit("database: \(bytes / 1_048_576) MiB, \(bytes / max(shipments, 1)) bytes per shipment")
        emit("claim 1,000 due polls: median \(String(format: "%.1f", claims.sorted()[claims.count / 2])) ms (of \(claims.map { String(format: "%.1f", $0) }.joined(separator: ", ")))")

        guard serveSeconds > 0 else { return }
        let feedProcess = try FeedProcess(script: feed)
        defer { feedProcess.stop() }
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        serve.arguments = ["serve", "--data", dataDir.path, "--carriers", carriersOption.carriers, "--rules", rules, "--port", "0"]
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in ["BASE_URL": feedProcess.baseURL, "USER": "bench", "ACCESS_CODE": "bench", "CARD": "0000000001"] {
            environment["RASTRO_CORREIOS_\(key)"] = value
        }
        environment["RASTRO_LOG_LEVEL"] = "warning"
        serve.environment = environment
        serve.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try serve.run()
        var peak = 0
        for _ in 0..<serveSeconds {
            try await Task.sleep(for: .seconds(1))
            peak = max(peak, Self.residentKiB(pid: serve.processIdentifier))
        }
        let final = Self.residentKiB(pid: serve.processIdentifier)
        kill(serve.processIdentifier, SIGTERM)
        for _ in 0..<100 where serve.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        let polled = try store.tableCounts().polls
        emit("rastro serve: resident \(final / 1024) MiB after \(serveSeconds) s (peak \(peak / 1024) MiB), \(polled) polls made meanwhile")
    }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

    static func residentKiB(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}
