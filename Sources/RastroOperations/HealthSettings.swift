import RastroCore

/// `[health]`: carrier-health thresholds (docs/carrier-health.md explains each rule)
/// and where operator alerts go.
public struct HealthSettings: ConfigurationSection {
    public static let table = "health"
    public var thresholds = HealthThresholds()
    public var operatorEmail: String?
    public var checkEvery: Duration = .seconds(60)
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .optionalString("operator_email", \.operatorEmail, env: "RASTRO_OPERATOR_EMAIL",
                            "where carrier alerts go (the carrier_alert email of rules/default.lua); empty: no alert email"),
            .integer("window", \.thresholds.window, in: 1...10_000, env: "RASTRO_HEALTH_WINDOW", "recent polls of a carrier that are judged"),
            .integer("minimum_polls", \.thresholds.minimumPolls, in: 1...10_000, env: "RASTRO_HEALTH_MINIMUM_POLLS",
                     "shares are not judged on fewer settled polls than this"),
            .integer("broken_run", \.thresholds.brokenRun, in: 1...10_000, env: "RASTRO_HEALTH_BROKEN_RUN",
                     "bad polls (auth refused, response not understood) in a row that make a carrier broken"),
            .share("broken_share", \.thresholds.brokenShare, env: "RASTRO_HEALTH_BROKEN_SHARE", "share of bad settled polls that makes a carrier broken"),
            .share("degraded_share", \.thresholds.degradedShare, env: "RASTRO_HEALTH_DEGRADED_SHARE", "share of bad settled polls that makes it degraded"),
            .share("transient_share", \.thresholds.transientShare, env: "RASTRO_HEALTH_TRANSIENT_SHARE",
                   "share of 5xx/timeout/429 polls that makes it degraded"),
            .duration("outage_after", \.thresholds.outageAfter, minimum: .seconds(1), env: "RASTRO_HEALTH_OUTAGE_AFTER",
                      "no valid answer at all for this long: broken"),
            .integer("recovery_run", \.thresholds.recoveryRun, in: 1...10_000, env: "RASTRO_HEALTH_RECOVERY_RUN",
                     "good polls in a row that end a breakage"),
            .share("hysteresis", \.thresholds.hysteresis, env: "RASTRO_HEALTH_HYSTERESIS", "degraded ends when every share is below its threshold × this"),
            .duration("stale_after", \.thresholds.staleAfter, minimum: .seconds(60), env: "RASTRO_HEALTH_STALE_AFTER",
                      "an active shipment with no new event for this long is stale"),
            .share("stale_share", \.thresholds.staleShare, env: "RASTRO_HEALTH_STALE_SHARE",
                   "share of stale active shipments that makes a carrier degraded"),
            .integer("stale_minimum", \.thresholds.staleMinimum, in: 1...100_000_000, env: "RASTRO_HEALTH_STALE_MINIMUM",
                     "stale shares are not judged on fewer active shipments"),
            .duration("check_every", \.checkEvery, minimum: .seconds(1), env: "RASTRO_HEALTH_CHECK_EVERY",
                      "how often stale shipments are counted"),
        ]
    }
}

extension ConfigurationSetting {
    /// A number from 0 to 1.
    public static func share(_ key: String, _ path: WritableKeyPath<Section, Double>, env: String? = nil, flag: String? = nil,
                             _ summary: String) -> Self {
        func set(_ section: inout Section, _ x: Double?, _ shown: String) throws(SettingValueError) {
            guard let x, (0...1).contains(x) else { throw SettingValueError(message: "expected a share from 0 to 1, got \(shown)") }
            section[keyPath: path] = x
        }
        return Self(key: key, environment: env, flag: flag, summary: summary,
                    fromFile: { section, value throws(SettingValueError) in
                        switch value {
                        case .float(let x): try set(&section, x, "\(x)")
                        case .integer(let n): try set(&section, Double(n), "\(n)")
                        default: throw SettingValueError(message: "expected a share from 0 to 1, got \(value.typeName)")
                        }
                    },
                    fromText: { section, text throws(SettingValueError) in try set(&section, Double(text), "'\(text)'") },
                    render: { "\($0[keyPath: path])" })
    }
}
