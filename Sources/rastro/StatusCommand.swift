import ArgumentParser
import Foundation
import RastroCore
import RastroOperations
import RastroService
import RastroStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Carriers with their health, reason, last success and queue lag; the outbox backlog.",
        discussion: """
        Reads the database; works with or without `rastro serve` running. Carriers in trouble come first.
        --check exits 2 when a carrier is broken and 1 when one is degraded (for cron or a monitoring probe).
        Thresholds: [health] of --config / RASTRO_CONFIG, overridden by RASTRO_HEALTH_* (see docs/carrier-health.md).
        """
    )

    @OptionGroup var dataOption: DataOption
    @OptionGroup var carriersOption: CarriersOption
    @Option(help: "Configuration file (its [health] thresholds); default $RASTRO_CONFIG.") var config: String?
    @Flag(help: "JSON instead of a table.") var json = false
    @Flag(help: "Exit 2 if a carrier is broken, 1 if degraded.") var check = false
    @Flag(help: "Also list healthy carriers with no shipments.") var all = false

    func run() async throws {
        let store = try dataOption.openStore()
        let registry = CarrierRegistry(directory: URL(fileURLWithPath: carriersOption.carriers))
        registry.reload()
        // The same thresholds as `rastro serve`: the config file's [health], then RASTRO_HEALTH_*.
        let environment = ProcessInfo.processInfo.environment
        let thresholds = try Configuration.load(file: config ?? environment["RASTRO_CONFIG"], environment: environment).health.thresholds
        let now = Timestamp.now
        let report = try CarrierStatusReport.build(store: store, registry: registry, thresholds: thresholds, now: now)
        let carriers = report.carriers
            .filter { all || $0.state != .healthy || $0.active > 0 || $0.polls > 0 || $0.loadError != nil }
            .sorted { ($0.state, $0.loadError != nil ? 1 : 0, $1.id) > ($1.state, $1.loadError != nil ? 1 : 0, $0.id) }
        if json {
            let object: [String: Any] = [
                "carriers": carriers.map { c in c.json.merging(["id": c.id, "name": c.name]) { a, _ in a } },
                "outbox": ["pending": report.outboxPending, "failed": report.outboxFailed,
                           "oldestDue": report.outboxOldestDue.map { $0.iso8601 as Any } ?? NSNull()],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            func when(_ t: Timestamp?) -> String { t.map { "\($0.components(offsetSeconds: 0).date) \($0.components(offsetSeconds: 0).time)" } ?? "-" }
            let rows = carriers.map { c in
                [c.id, c.state.rawValue, when(c.since), when(c.lastSuccess), "\(c.queueLag.components.seconds)s", "\(c.active)", "\(c.stale)",
                 c.loadError.map { "script does not load: \($0)" } ?? (c.state == .healthy ? "" : c.reason)]
            }
            let header = ["CARRIER", "STATE", "SINCE (UTC)", "LAST SUCCESS", "LAG", "ACTIVE", "STALE", "REASON"]
            let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
            for row in [header] + rows {
                print(row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  "))
            }
            if carriers.isEmpty { print("(no carrier has shipments or polls yet; --all lists every loaded carrier)") }
            print("outbox: \(report.outboxPending) pending\(report.outboxOldestDue.map { ", oldest due \(when($0)) UTC" } ?? ""), \(report.outboxFailed) failed")
        }
        if check {
            if carriers.contains(where: { $0.state == .broken }) { throw ExitCode(2) }
            if carriers.contains(where: { $0.state == .degraded }) { throw ExitCode(1) }
        }
    }
}
