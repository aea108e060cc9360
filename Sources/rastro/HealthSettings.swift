import ArgumentParser
import RastroCarriers
import RastroCore

/// The `[health]` settings: carrier-health thresholds, each overridable by a
/// `RASTRO_HEALTH_<KEY>` environment variable (docs/carrier-health.md explains each).
extension HealthThresholds {
    /// Every setting: its key, what it takes, and how it applies.
    static let settings: [(key: String, kind: String, apply: @Sendable (inout HealthThresholds, String) -> Bool)] = [
        ("window", "polls", { t, v in Int(v).map { t.window = max(1, $0) } != nil }),
        ("minimum_polls", "polls", { t, v in Int(v).map { t.minimumPolls = max(1, $0) } != nil }),
        ("broken_run", "polls", { t, v in Int(v).map { t.brokenRun = max(1, $0) } != nil }),
        ("broken_share", "share 0–1", { t, v in share(v).map { t.brokenShare = $0 } != nil }),
        ("degraded_share", "share 0–1", { t, v in share(v).map { t.degradedShare = $0 } != nil }),
        ("transient_share", "share 0–1", { t, v in share(v).map { t.transientShare = $0 } != nil }),
        ("outage_after", "duration", { t, v in DurationText.parse(v).map { t.outageAfter = $0 } != nil }),
        ("recovery_run", "polls", { t, v in Int(v).map { t.recoveryRun = max(1, $0) } != nil }),
        ("hysteresis", "share 0–1", { t, v in share(v).map { t.hysteresis = $0 } != nil }),
        ("stale_after", "duration", { t, v in DurationText.parse(v).map { t.staleAfter = $0 } != nil }),
        ("stale_share", "share 0–1", { t, v in share(v).map { t.staleShare = $0 } != nil }),
        ("stale_minimum", "shipments", { t, v in Int(v).map { t.staleMinimum = max(1, $0) } != nil }),
    ]

    private static func share(_ text: String) -> Double? {
        guard let v = Double(text), v >= 0, v <= 1 else { return nil }
        return v
    }

    /// The defaults with `RASTRO_HEALTH_*` applied; a value that does not parse is an error naming it.
    static func from(environment: [String: String]) throws -> HealthThresholds {
        var thresholds = HealthThresholds()
        for setting in settings {
            let name = "RASTRO_HEALTH_" + setting.key.uppercased()
            guard let value = environment[name] else { continue }
            guard setting.apply(&thresholds, value) else { throw ValidationError("\(name)=\(value): expected \(setting.kind)") }
        }
        return thresholds
    }
}
