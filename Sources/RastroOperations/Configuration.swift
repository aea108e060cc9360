/// Everything `rastro serve` can be told, with the built-in defaults.
///
/// Each value comes from, in order of precedence: a command-line flag, the
/// environment, the configuration file (`--config` / `RASTRO_CONFIG`), the
/// default here. The file is TOML (see `TOMLDocument`); `rastro.example.toml`
/// lists every setting with its default, docs/configuration.md every override.
///
/// Adding a section: a struct conforming to `ConfigurationSection`, a property
/// here, and its line in `sections`.
public struct Configuration: Sendable, Equatable {
    public var server = ServerSettings()
    public var paths = PathSettings()
    public var shop = ShopSettings()
    public var scheduler = SchedulerSettings()
    public var log = LogSettings()
    public var mail = MailSettings()
    public var webhooks = WebhookSettings()
    public var outbox = OutboxSettings()
    public var metrics = MetricsSettings()
    public var health = HealthSettings()

    /// `[carrier.<id>]` tables: handed to the carrier's script as `config.<key>`;
    /// `RASTRO_<ID>_<KEY>` in the environment overrides a key (and is where secrets go).
    public var carriers: [String: [String: String]] = [:]

    /// The SMTP password: from `RASTRO_SMTP_PASSWORD`, else read from `mail.password_file`;
    /// never from the configuration file itself.
    public var smtpPassword: String?

    public init() {}

    /// Every section, in the order the example file lists them.
    static var sections: [AnySection] {
        [.init(\.server), .init(\.paths), .init(\.shop), .init(\.scheduler), .init(\.log), .init(\.mail),
         .init(\.webhooks), .init(\.outbox), .init(\.metrics), .init(\.health)]
    }

    /// One row per setting, for documentation and the tests that keep docs and example complete.
    public static var settingDescriptions: [SettingDescription] {
        let defaults = Configuration()
        return sections.flatMap { $0.describe(defaults) }
    }
}

/// A `[table]` of the configuration file.
public protocol ConfigurationSection: Sendable, Equatable {
    static var table: String { get }
    static var settings: [ConfigurationSetting<Self>] { get }
    init()
}

/// A setting as documentation sees it.
public struct SettingDescription: Sendable, Equatable {
    public var table: String
    public var key: String
    public var environment: String?
    public var flag: String?
    public var summary: String
    /// The default as TOML source.
    public var defaultValue: String
}

/// A section with its type erased, bound to its place in `Configuration`.
struct AnySection {
    struct Override {
        let environment: String?
        let flag: String?
        let key: String
        let apply: (inout Configuration, String) throws(SettingValueError) -> Void
    }

    let table: String
    let keys: [String]
    /// Sets `key` from the file; false when the section has no such key.
    let fromFile: (inout Configuration, String, TOMLDocument.Value) throws(SettingValueError) -> Bool
    /// Every setting, as the environment and the command line set it: from text.
    let overrides: [Override]
    let describe: (Configuration) -> [SettingDescription]

    init<S: ConfigurationSection>(_ path: WritableKeyPath<Configuration, S>) {
        let settings = S.settings
        table = S.table
        keys = settings.map(\.key)
        fromFile = { configuration, key, value throws(SettingValueError) in
            guard let setting = settings.first(where: { $0.key == key }) else { return false }
            try setting.fromFile(&configuration[keyPath: path], value)
            return true
        }
        overrides = settings.map { setting in
            Override(environment: setting.environment, flag: setting.flag, key: setting.key) { (configuration: inout Configuration, text: String) throws(SettingValueError) in
                try setting.fromText(&configuration[keyPath: path], text)
            }
        }
        describe = { configuration in
            settings.map {
                SettingDescription(table: S.table, key: $0.key, environment: $0.environment, flag: $0.flag, summary: $0.summary,
                                   defaultValue: $0.render(configuration[keyPath: path]))
            }
        }
    }
}
