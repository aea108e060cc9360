import Foundation
import Logging

// The sections of the configuration file. Each lists its settings once: key,
// environment variable, flag and summary; loading, docs and tests read that list.

public struct ServerSettings: ConfigurationSection {
    public static let table = "server"
    public var host = "127.0.0.1"
    public var port = 8080
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .string("host", \.host, env: "RASTRO_HOST", flag: "--host",
                    "address the HTTP API listens on; keep loopback unless a proxy or firewall is in front (/metrics needs no key)",
                    check: { $0.isEmpty ? "the address is empty" : nil }),
            .integer("port", \.port, in: 0...65535, env: "RASTRO_PORT", flag: "--port", "TCP port of the HTTP API (0: any free port, logged at start)"),
        ]
    }
}

public struct PathSettings: ConfigurationSection {
    public static let table = "paths"
    public var data = "data"
    public var carriers = "carriers"
    public var rules = "rules"
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        let notEmpty: (String) -> String? = { $0.isEmpty ? "the path is empty" : nil }
        return [
            .string("data", \.data, env: "RASTRO_DATA", flag: "--data", "data folder: rastro.sqlite and mail/ (when no SMTP server is set)", check: notEmpty),
            .string("carriers", \.carriers, env: "RASTRO_CARRIERS", flag: "--carriers", "folder of carrier scripts, one <id>/carrier.lua each", check: notEmpty),
            .string("rules", \.rules, env: "RASTRO_RULES", flag: "--rules", "folder of notification rules and templates/<locale>/", check: notEmpty),
        ]
    }
}

public struct ShopSettings: ConfigurationSection {
    public static let table = "shop"
    public var merchant = "default"
    public var zone = "UTC"
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .string("merchant", \.merchant, env: "RASTRO_MERCHANT", flag: "--merchant",
                    "merchant created at start if missing (the demo parcels belong to it)",
                    check: { (1...100).contains($0.count) ? nil : "a merchant name has 1 to 100 characters" }),
            .string("zone", \.zone, env: "RASTRO_ZONE", "IANA time zone of rules' ctx.clock (quiet hours) and of pushed local times",
                    check: { TimeZone(identifier: $0) == nil ? "'\($0)' is not a time zone (expected an IANA name like America/Sao_Paulo)" : nil }),
        ]
    }
}

public struct SchedulerSettings: ConfigurationSection {
    public static let table = "scheduler"
    public var lease: Duration = .seconds(120)
    public var reloadEvery: Duration = .seconds(2)
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .duration("lease", \.lease, minimum: .seconds(5), env: "RASTRO_LEASE", flag: "--lease",
                      "how long a claimed poll is held before another run may retry it; longer than any carrier request"),
            .duration("reload_every", \.reloadEvery, minimum: .milliseconds(50), env: "RASTRO_RELOAD_EVERY", flag: "--reload-every",
                      "how often the carriers and rules folders are re-read"),
        ]
    }
}

public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-01-05T10:00:00+0000 info rastro: carrier=acme poll=7 [rastro] status changed`
    case text
    /// One JSON object per line (see `JSONLogHandler`).
    case json
}

public struct LogSettings: ConfigurationSection {
    public static let table = "log"
    public var level: Logger.Level = .info
    public var format: LogFormat = .text
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .choice("level", \.level, env: "RASTRO_LOG_LEVEL", flag: "--log-level", "trace, debug, info, notice, warning, error or critical"),
            .choice("format", \.format, env: "RASTRO_LOG_FORMAT", flag: "--log-format",
                    "text (human) or json (one object per line: timestamp, level, label, message, metadata)"),
        ]
    }
}

public struct MailSettings: ConfigurationSection {
    public static let table = "mail"
    public var from = "rastro <rastro@localhost>"
    public var smtpURL: String?
    public var user: String?
    public var startTLS = false
    public var passwordFile: String?
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .string("from", \.from, env: "RASTRO_MAIL_FROM", "the From header of customer emails",
                    check: { $0.contains("@") ? nil : "expected an address like 'Shop <shop@example.com>'" }),
            .optionalString("smtp_url", \.smtpURL, env: "RASTRO_SMTP_URL",
                            "smtp://host:port or smtps://host:port; empty: emails are written to <data>/mail/<Message-ID>.eml"),
            .optionalString("user", \.user, env: "RASTRO_SMTP_USER", "SMTP user name; empty: no authentication"),
            .boolean("starttls", \.startTLS, env: "RASTRO_SMTP_STARTTLS", "require STARTTLS on an smtp:// URL"),
            .optionalString("password_file", \.passwordFile, env: "RASTRO_SMTP_PASSWORD_FILE",
                            "file holding the SMTP password (RASTRO_SMTP_PASSWORD wins); the password itself is never in this file"),
        ]
    }
}

public struct WebhookSettings: ConfigurationSection {
    public static let table = "webhooks"
    public var allowPrivate = false
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [.boolean("allow_private", \.allowPrivate, env: "RASTRO_WEBHOOKS_ALLOW_PRIVATE",
                  "let webhooks reach loopback and private addresses (refused by default: SSRF)")]
    }
}

public struct OutboxSettings: ConfigurationSection {
    public static let table = "outbox"
    public var retryBase: Duration = .seconds(30)
    public var lease: Duration = .seconds(120)
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .duration("retry_base", \.retryBase, minimum: .seconds(1), env: "RASTRO_OUTBOX_RETRY_BASE",
                      "first retry delay of a notification; doubles, jittered, capped at 6 h, for about 3 days"),
            .duration("lease", \.lease, minimum: .seconds(1), env: "RASTRO_OUTBOX_LEASE",
                      "how long a notification being sent is held; one claimed by a process that died is sent again after it"),
        ]
    }
}

public struct MetricsSettings: ConfigurationSection {
    public static let table = "metrics"
    public var enabled = true
    public var refreshEvery: Duration = .seconds(5)
    public init() {}

    public static var settings: [ConfigurationSetting<Self>] {
        [
            .boolean("enabled", \.enabled, env: "RASTRO_METRICS_ENABLED", "serve Prometheus metrics at GET /metrics (no API key: firewall it)"),
            .duration("refresh_every", \.refreshEvery, minimum: .milliseconds(100), env: "RASTRO_METRICS_REFRESH_EVERY",
                      "how often the queue and outbox gauges are read from the database"),
        ]
    }
}
