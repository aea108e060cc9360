import Foundation
import Logging
import RastroTestSupport
import Testing
@testable import RastroOperations

@Suite("Configuration")
struct ConfigurationTests {
    func resolve(_ file: String? = nil, env: [String: String] = [:], flags: [String: String] = [:]) throws -> Configuration {
        try Configuration.resolve(file: file.map { ("rastro.toml", $0) }, environment: env, flags: flags)
    }

    func failure(_ file: String? = nil, env: [String: String] = [:], flags: [String: String] = [:]) -> String? {
        do {
            _ = try resolve(file, env: env, flags: flags)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func theExampleFileSetsEverySettingToItsDefault() throws {
        let url = LoopbackCarrier.packageRoot.appendingPathComponent("rastro.example.toml")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(try resolve(text) == Configuration())
        let document = try TOMLDocument(parsing: text, file: "rastro.example.toml")
        let set = Set(document.entries.map { $0.path.joined(separator: ".") })
        let all = Set(Configuration.settingDescriptions.map { "\($0.table).\($0.key)" })
        #expect(all.subtracting(set).isEmpty, "missing from rastro.example.toml: \(all.subtracting(set).sorted())")
    }

    @Test func theConfigurationPageNamesEverySettingItsVariableAndItsFlag() throws {
        let page = try String(contentsOf: LoopbackCarrier.packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for setting in Configuration.settingDescriptions {
            #expect(page.contains("`[\(setting.table)] \(setting.key)`"), "\(setting.table).\(setting.key)")
            if let env = setting.environment { #expect(page.contains("`\(env)`"), "\(env)") }
            if let flag = setting.flag { #expect(page.contains("`\(flag)`"), "\(flag)") }
            #expect(page.contains("| `\(setting.defaultValue)` |") || page.contains("| `\(setting.defaultValue)` (none) |"),
                    "\(setting.table).\(setting.key) default \(setting.defaultValue)")
        }
    }

    @Test func aFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault() throws {
        let file = "[server]\nport = 9001\nhost = \"127.0.0.2\"\n[paths]\ndata = \"/var/lib/rastro\""
        #expect(try resolve().server.port == 8080)
        #expect(try resolve(file).server.port == 9001)
        #expect(try resolve(file, env: ["RASTRO_PORT": "9002"]).server.port == 9002)
        let all = try resolve(file, env: ["RASTRO_PORT": "9002"], flags: ["server.port": "9003"])
        #expect(all.server.port == 9003)
        // Settings nobody overrode keep the file's value.
        #expect(all.server.host == "127.0.0.2" && all.paths.data == "/var/lib/rastro")
    }

    @Test func anEmptyEnvironmentVariableCountsAsUnset() throws {
        let c = try resolve("[mail]\nsmtp_url = \"smtp://127.0.0.1:2525\"", env: ["RASTRO_SMTP_URL": "", "RASTRO_PORT": ""])
        #expect(c.mail.smtpURL == "smtp://127.0.0.1:2525" && c.server.port == 8080)
    }

    @Test func theExistingEnvironmentVariablesStillWork() throws {
        let c = try resolve(env: [
            "RASTRO_SMTP_URL": "smtps://mail.example.com:465", "RASTRO_SMTP_USER": "shop", "RASTRO_SMTP_PASSWORD": "s3cret",
            "RASTRO_SMTP_STARTTLS": "1", "RASTRO_MAIL_FROM": "Shop <shop@example.com>", "RASTRO_ZONE": "America/Sao_Paulo",
            "RASTRO_WEBHOOKS_ALLOW_PRIVATE": "yes", "RASTRO_OUTBOX_RETRY_BASE": "2m", "RASTRO_LOG_LEVEL": "debug",
        ])
        #expect(c.mail.smtpURL == "smtps://mail.example.com:465" && c.mail.user == "shop" && c.smtpPassword == "s3cret")
        #expect(c.mail.startTLS && c.mail.from == "Shop <shop@example.com>" && c.shop.zone == "America/Sao_Paulo")
        #expect(c.webhooks.allowPrivate && c.outbox.retryBase == .seconds(120) && c.log.level == .debug)
    }

    @Test func durationsAreSecondsOrText() throws {
        let c = try resolve("[scheduler]\nlease = 300\nreload_every = 0.25\n[outbox]\nretry_base = \"1m30s\"\n[metrics]\nrefresh_every = \"500ms\"")
        #expect(c.scheduler.lease == .seconds(300) && c.scheduler.reloadEvery == .milliseconds(250))
        #expect(c.outbox.retryBase == .seconds(90) && c.metrics.refreshEvery == .milliseconds(500))
        #expect(try resolve(flags: ["scheduler.reload_every": "0.2"]).scheduler.reloadEvery == .milliseconds(200))
        #expect(failure("[scheduler]\nlease = \"soon\"")
            == "rastro.toml:2: scheduler.lease: expected a duration (seconds, or text like \"90s\", \"2m\", \"500ms\"), got \"soon\"")
        #expect(failure(flags: ["scheduler.lease": "2"]) == "--lease: '2' is shorter than the minimum, 5s")
    }

    @Test func anUnknownKeyOrSectionIsAnErrorNamingFileLineAndKey() {
        #expect(failure("[server]\n\nprot = 8080") == "rastro.toml:3: unknown key 'prot' in [server] (known: host, port)")
        #expect(failure("[sever]\nport = 1")?.hasPrefix("rastro.toml:1: unknown section [sever] (known: [server], [paths]") == true)
        #expect(failure("port = 1")?.hasPrefix("rastro.toml:1: port is outside any section") == true)
        #expect(failure("[server.extra]")?.hasPrefix("rastro.toml:1: unknown section [server.extra]") == true)
    }

    @Test func aValueOfTheWrongTypeIsAnErrorNamingFileLineAndKey() {
        #expect(failure("[server]\nport = \"8080\"") == "rastro.toml:2: server.port: expected an integer, got a string")
        #expect(failure("[server]\nport = 70000") == "rastro.toml:2: server.port: 70000 is outside 0…65535")
        #expect(failure("[metrics]\nenabled = \"yes\"") == "rastro.toml:2: metrics.enabled: expected true or false, got a string")
        #expect(failure("[log]\nformat = \"yaml\"") == "rastro.toml:2: log.format: expected one of text, json, got 'yaml'")
        #expect(failure("[shop]\nzone = \"Mars/Olympus\"")?.hasPrefix("rastro.toml:2: shop.zone: 'Mars/Olympus' is not a time zone") == true)
        #expect(failure(env: ["RASTRO_PORT": "http"]) == "environment RASTRO_PORT: expected an integer, got 'http'")
        #expect(failure(env: ["RASTRO_SMTP_STARTTLS": "maybe"])
            == "environment RASTRO_SMTP_STARTTLS: expected 1/0, true/false, yes/no or on/off, got 'maybe'")
    }

    @Test func carrierTablesBecomeEachCarriersConfig() throws {
        let c = try resolve("[carrier.correios]\nbase_url = \"https://staging.example\"\nbatch = 50\nsandbox = true\n[carrier.dhl_express]\nkey = 'k'")
        #expect(c.carriers == ["correios": ["base_url": "https://staging.example", "batch": "50", "sandbox": "true"], "dhl_express": ["key": "k"]])
        #expect(failure("[carrier.correios]\nBASE_URL = \"x\"") == "rastro.toml:2: carrier setting 'BASE_URL' must be lowercase letters, digits and _")
        #expect(failure("[carrier]\nx = 1") == "rastro.toml:1: expected [carrier.<id>], got [carrier]")
    }

    @Test func theSMTPPasswordComesFromTheEnvironmentOrAPasswordFileNeverFromTheFile() throws {
        #expect(failure("[mail]\npassword = \"hunter2\"")
            == "rastro.toml:2: mail.password: the SMTP password is not read from this file; set RASTRO_SMTP_PASSWORD or mail.password_file")
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-secret-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: secret) }
        try "from-file\n".write(to: secret, atomically: true, encoding: .utf8)
        let file = "[mail]\npassword_file = \"\(secret.path)\""
        #expect(try resolve(file).smtpPassword == "from-file")
        #expect(try resolve(file, env: ["RASTRO_SMTP_PASSWORD": "from-env"]).smtpPassword == "from-env")
        #expect(failure("[mail]\npassword_file = \"/nonexistent/pw\"")?.hasPrefix("mail.password_file: cannot read /nonexistent/pw") == true)
    }

    @Test func loadReadsTheFileNamedByTheFlagOrByRASTRO_CONFIG() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: file) }
        try "[server]\nport = 9100\n[paths]\ndata = 7".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError(location: "\(file.path):4", "paths.data: expected a string, got an integer")) {
            try Configuration.load(file: file.path, environment: [:])
        }
        try "[server]\nport = 9100\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try Configuration.load(file: nil, environment: ["RASTRO_CONFIG": file.path]).server.port == 9100)
        #expect(try Configuration.load(file: nil, environment: [:]).server.port == 8080)
        #expect((try? Configuration.load(file: "/nonexistent.toml", environment: [:])) == nil)
    }

    @Test func anUnknownFlagNameIsRefused() {
        #expect(failure(flags: ["server.prot": "1"]) == "server.prot: no such setting")
    }
}
