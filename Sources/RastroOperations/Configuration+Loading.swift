import Foundation

extension Configuration {
    /// The configuration `rastro serve` runs with: defaults, then the file at
    /// `file` (else `RASTRO_CONFIG`, else none), then the environment, then `flags`.
    ///
    /// `flags` holds the command-line values that were given, by `table.key`
    /// (`"server.port": "9090"`). An empty environment variable counts as unset.
    public static func load(file: String?, environment: [String: String], flags: [String: String] = [:]) throws(ConfigurationError) -> Configuration {
        var source: (name: String, text: String)?
        if let path = file ?? environment["RASTRO_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                source = (path, try String(contentsOfFile: path, encoding: .utf8))
            } catch {
                throw ConfigurationError(location: path, "cannot read the configuration file: \(error.localizedDescription)")
            }
        }
        return try resolve(file: source, environment: environment, flags: flags)
    }

    /// `load` without the file system: `file` is the file's name (for errors) and text.
    public static func resolve(file: (name: String, text: String)?, environment: [String: String],
                               flags: [String: String] = [:]) throws(ConfigurationError) -> Configuration {
        var configuration = Configuration()
        if let file {
            try configuration.apply(TOMLDocument(parsing: file.text, file: file.name), file: file.name)
        }
        for section in sections {
            for override in section.overrides {
                guard let name = override.environment, let text = environment[name], !text.isEmpty else { continue }
                do {
                    try override.apply(&configuration, text)
                } catch {
                    throw ConfigurationError(location: "environment \(name)", error.message)
                }
            }
        }
        var unknown = Set(flags.keys)
        for section in sections {
            for override in section.overrides {
                let name = "\(section.table).\(override.key)"
                guard let text = flags[name] else { continue }
                unknown.remove(name)
                do {
                    try override.apply(&configuration, text)
                } catch {
                    throw ConfigurationError(location: override.flag ?? name, error.message)
                }
            }
        }
        if let name = unknown.sorted().first { throw ConfigurationError(location: name, "no such setting") }
        try configuration.readSecrets(environment: environment)
        return configuration
    }

    private mutating func apply(_ document: TOMLDocument, file: String) throws(ConfigurationError) {
        let tables = Dictionary(uniqueKeysWithValues: Self.sections.map { ($0.table, $0) })
        let known = Self.sections.map { "[\($0.table)]" }.joined(separator: ", ") + ", [carrier.<id>]"
        for header in document.headers {
            let name = header.path.joined(separator: ".")
            if header.path.count == 1, tables[header.path[0]] != nil { continue }
            if header.path.first == "carrier" {
                guard header.path.count == 2 else { throw ConfigurationError(file: file, line: header.line, "expected [carrier.<id>], got [\(name)]") }
                try Self.checkCarrierName(header.path[1], what: "carrier id", file: file, line: header.line)
                continue
            }
            throw ConfigurationError(file: file, line: header.line, "unknown section [\(name)] (known: \(known))")
        }
        for entry in document.entries {
            let name = entry.path.joined(separator: ".")
            func fail(_ message: String) -> ConfigurationError { ConfigurationError(file: file, line: entry.line, message) }
            if entry.path.first == "carrier", entry.path.count == 3 {
                try Self.checkCarrierName(entry.path[1], what: "carrier id", file: file, line: entry.line)
                try Self.checkCarrierName(entry.path[2], what: "carrier setting", file: file, line: entry.line)
                carriers[entry.path[1], default: [:]][entry.path[2]] = entry.value.text
                continue
            }
            guard entry.path.count == 2, let section = tables[entry.path[0]] else {
                if entry.path.count == 1 { throw fail("\(name) is outside any section (known: \(known))") }
                if tables[entry.path[0]] != nil { throw fail("unknown key '\(name)'") }
                throw fail("unknown setting \(name) (known sections: \(known))")
            }
            if name == "mail.password" {
                throw fail("mail.password: the SMTP password is not read from this file; set RASTRO_SMTP_PASSWORD or mail.password_file")
            }
            let known: Bool
            do {
                known = try section.fromFile(&self, entry.path[1], entry.value)
            } catch {
                throw fail("\(name): \(error.message)")
            }
            guard known else {
                throw fail("unknown key '\(entry.path[1])' in [\(section.table)] (known: \(section.keys.joined(separator: ", ")))")
            }
        }
    }

    /// Carrier ids and setting names as scripts see them: `config.base_url`.
    private static func checkCarrierName(_ name: String, what: String, file: String, line: Int) throws(ConfigurationError) {
        let valid = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
        if !valid { throw ConfigurationError(file: file, line: line, "\(what) '\(name)' must be lowercase letters, digits and _") }
    }

    private mutating func readSecrets(environment: [String: String]) throws(ConfigurationError) {
        if let password = environment["RASTRO_SMTP_PASSWORD"], !password.isEmpty {
            smtpPassword = password
        } else if let path = mail.passwordFile {
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                // Files written by `echo` end with a newline that is not part of the password.
                smtpPassword = String(text.trimmingCharacters(in: .newlines))
            } catch {
                throw ConfigurationError(location: "mail.password_file", "cannot read \(path): \(error.localizedDescription)")
            }
        }
    }
}

extension TOMLDocument.Value {
    /// The value as a carrier script receives it: text.
    var text: String {
        switch self {
        case .string(let s): s
        case .integer(let n): String(n)
        case .float(let x): String(x)
        case .boolean(let b): b ? "true" : "false"
        }
    }
}
