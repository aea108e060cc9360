import Foundation

/// One setting of a configuration section: its key in the file, the environment
/// variable and command-line flag that override it, and how a value is read —
/// typed from the file, from text in the environment or on the command line.
public struct ConfigurationSetting<Section> {
    public let key: String
    public let environment: String?
    public let flag: String?
    /// One line for docs/configuration.md and `--help`.
    public let summary: String
    let fromFile: (inout Section, TOMLDocument.Value) throws(SettingValueError) -> Void
    let fromText: (inout Section, String) throws(SettingValueError) -> Void
    /// The value as TOML source, e.g. `"127.0.0.1"` or `8080`.
    let render: (Section) -> String
}

/// What was wrong with a value; the caller adds where it came from.
struct SettingValueError: Error {
    let message: String
}

extension ConfigurationSetting {
    public static func string(_ key: String, _ path: WritableKeyPath<Section, String>, env: String? = nil, flag: String? = nil,
                              _ summary: String, check: @escaping (String) -> String? = { _ in nil }) -> Self {
        func set(_ section: inout Section, _ text: String) throws(SettingValueError) {
            if let problem = check(text) { throw SettingValueError(message: problem) }
            section[keyPath: path] = text
        }
        return Self(key: key, environment: env, flag: flag, summary: summary,
                    fromFile: { section, value throws(SettingValueError) in
                        guard case .string(let text) = value else { throw SettingValueError(message: "expected a string, got \(value.typeName)") }
                        try set(&section, text)
                    },
                    fromText: { section, text throws(SettingValueError) in try set(&section, text) },
                    render: { Self.quoted($0[keyPath: path]) })
    }

    /// A string where "" means "not set".
    public static func optionalString(_ key: String, _ path: WritableKeyPath<Section, String?>, env: String? = nil, flag: String? = nil,
                                      _ summary: String) -> Self {
        Self(key: key, environment: env, flag: flag, summary: summary,
             fromFile: { section, value throws(SettingValueError) in
                 guard case .string(let text) = value else { throw SettingValueError(message: "expected a string, got \(value.typeName)") }
                 section[keyPath: path] = text.isEmpty ? nil : text
             },
             fromText: { section, text in section[keyPath: path] = text.isEmpty ? nil : text },
             render: { Self.quoted($0[keyPath: path] ?? "") })
    }

    public static func integer(_ key: String, _ path: WritableKeyPath<Section, Int>, in range: ClosedRange<Int>, env: String? = nil,
                               flag: String? = nil, _ summary: String) -> Self {
        func set(_ section: inout Section, _ n: Int?, _ shown: String) throws(SettingValueError) {
            guard let n else { throw SettingValueError(message: "expected an integer, got \(shown)") }
            guard range.contains(n) else { throw SettingValueError(message: "\(n) is outside \(range.lowerBound)…\(range.upperBound)") }
            section[keyPath: path] = n
        }
        return Self(key: key, environment: env, flag: flag, summary: summary,
                    fromFile: { section, value throws(SettingValueError) in
                        guard case .integer(let n) = value else { throw SettingValueError(message: "expected an integer, got \(value.typeName)") }
                        try set(&section, Int(exactly: n), "\(n)")
                    },
                    fromText: { section, text throws(SettingValueError) in try set(&section, Int(text), "'\(text)'") },
                    render: { String($0[keyPath: path]) })
    }

    /// true/false in the file; 1/0, true/false, yes/no, on/off in the environment.
    public static func boolean(_ key: String, _ path: WritableKeyPath<Section, Bool>, env: String? = nil, flag: String? = nil,
                               _ summary: String) -> Self {
        Self(key: key, environment: env, flag: flag, summary: summary,
             fromFile: { section, value throws(SettingValueError) in
                 guard case .boolean(let b) = value else { throw SettingValueError(message: "expected true or false, got \(value.typeName)") }
                 section[keyPath: path] = b
             },
             fromText: { section, text throws(SettingValueError) in
                 switch text.lowercased() {
                 case "1", "true", "yes", "on": section[keyPath: path] = true
                 case "0", "false", "no", "off": section[keyPath: path] = false
                 default: throw SettingValueError(message: "expected 1/0, true/false, yes/no or on/off, got '\(text)'")
                 }
             },
             render: { $0[keyPath: path] ? "true" : "false" })
    }

    /// Seconds as a number, or text like "90s", "2m", "500ms", "1h30m".
    public static func duration(_ key: String, _ path: WritableKeyPath<Section, Duration>, minimum: Duration, env: String? = nil,
                                flag: String? = nil, _ summary: String) -> Self {
        func set(_ section: inout Section, _ d: Duration?, _ shown: String) throws(SettingValueError) {
            guard let d else { throw SettingValueError(message: "expected a duration (seconds, or text like \"90s\", \"2m\", \"500ms\"), got \(shown)") }
            guard d >= minimum else { throw SettingValueError(message: "\(shown) is shorter than the minimum, \(ConfigurationDuration.format(minimum))") }
            section[keyPath: path] = d
        }
        return Self(key: key, environment: env, flag: flag, summary: summary,
                    fromFile: { section, value throws(SettingValueError) in
                        switch value {
                        case .integer(let n): try set(&section, ConfigurationDuration.parse(String(n)), "\(n)")
                        case .float(let x): try set(&section, ConfigurationDuration.parse(String(x)), "\(x)")
                        case .string(let text): try set(&section, ConfigurationDuration.parse(text), "\"\(text)\"")
                        case .boolean: throw SettingValueError(message: "expected a duration, got \(value.typeName)")
                        }
                    },
                    fromText: { section, text throws(SettingValueError) in try set(&section, ConfigurationDuration.parse(text), "'\(text)'") },
                    render: { Self.quoted(ConfigurationDuration.format($0[keyPath: path])) })
    }

    /// One of a fixed set of words.
    public static func choice<Value: RawRepresentable & CaseIterable>(_ key: String, _ path: WritableKeyPath<Section, Value>, env: String? = nil,
                                                                      flag: String? = nil, _ summary: String) -> Self where Value.RawValue == String {
        func set(_ section: inout Section, _ text: String) throws(SettingValueError) {
            guard let v = Value(rawValue: text) else {
                throw SettingValueError(message: "expected one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            section[keyPath: path] = v
        }
        return Self(key: key, environment: env, flag: flag, summary: summary,
                    fromFile: { section, value throws(SettingValueError) in
                        guard case .string(let text) = value else { throw SettingValueError(message: "expected a string, got \(value.typeName)") }
                        try set(&section, text)
                    },
                    fromText: { section, text throws(SettingValueError) in try set(&section, text) },
                    render: { Self.quoted($0[keyPath: path].rawValue) })
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// Durations as operators write them: "90s", "2m", "500ms", "1h30m", "1d", or plain seconds ("120", "0.5").
public enum ConfigurationDuration {
    public static func parse(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: .whitespaces)
        // Bounded so no arithmetic below can overflow: a billion seconds is over 30 years.
        if let seconds = Double(text) { return (0...1e9).contains(seconds) ? .milliseconds(Int64((seconds * 1000).rounded())) : nil }
        var total = Duration.zero
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard (1...9).contains(digits.count), let n = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += .milliseconds(n)
            case "s": total += .seconds(n)
            case "m": total += .seconds(n * 60)
            case "h": total += .seconds(n * 3600)
            case "d": total += .seconds(n * 86400)
            default: return nil
            }
        }
        return total
    }

    /// Text `parse` reads back: whole seconds as "120s", anything finer in milliseconds.
    public static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}
