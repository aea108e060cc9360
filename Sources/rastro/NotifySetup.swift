import ArgumentParser
import Foundation
import Logging
import RastroCarriers
import RastroCore
import RastroNotify
import RastroOperations
import RastroService
import RastroTransport

struct RulesOption: ParsableArguments {
    @Option(name: .long, help: "Folder of notification rules (default.lua, <merchant>.lua) and templates/<locale>/.")
    var rules: String = "rules"
}

/// Rules, templates and mail transport as configured by the environment.
struct NotifySetup {
    let rules: RuleRegistry
    let templates: TemplateLibrary
    let engine: RulesEngine
    let mail: any MailTransport
    let delivererSettings: OutboxDeliverer.Settings

    /// `carrier` gives a carrier's name and tracking URL template by id. Mail, webhook,
    /// zone and retry settings come from the environment (and `RASTRO_CONFIG`, when set).
    init(rulesDirectory: String, dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
         carrier: @escaping @Sendable (String) -> NotificationPayload.Carrier) throws {
        try self.init(rulesDirectory: rulesDirectory, dataDirectory: dataDirectory,
                      configuration: Configuration.load(file: nil, environment: environment), carrier: carrier)
    }

    init(rulesDirectory: String, dataDirectory: String, configuration: Configuration,
         carrier: @escaping @Sendable (String) -> NotificationPayload.Carrier) throws {
        let folder = URL(fileURLWithPath: rulesDirectory)
        rules = RuleRegistry(directory: folder)
        rules.reload()
        templates = TemplateLibrary(directory: folder.appendingPathComponent("templates"))
        engine = try RulesEngine(registry: rules, zone: configuration.shop.zone, carrier: carrier)
        let mailSettings = configuration.mail
        if let url = mailSettings.smtpURL {
            mail = SMTPMailTransport(settings: SMTPClient.Settings(
                url: url, username: mailSettings.user, password: configuration.smtpPassword, startTLS: mailSettings.startTLS))
        } else {
            mail = FileMailTransport(folder: URL(fileURLWithPath: dataDirectory).appendingPathComponent("mail"))
        }
        var settings = OutboxDeliverer.Settings()
        settings.mailFrom = mailSettings.from
        settings.allowPrivateWebhooks = configuration.webhooks.allowPrivate
        let base = configuration.outbox.retryBase
        settings.backoff = Backoff(base: base, cap: max(base, settings.backoff.cap))
        // How long a notification claimed by a process that died waits before another run sends it again.
        settings.lease = configuration.outbox.lease
        delivererSettings = settings
    }

    /// Carrier names and tracking URLs from a carriers registry.
    static func carrierInfo(_ registry: CarrierRegistry) -> @Sendable (String) -> NotificationPayload.Carrier {
        { id in
            guard let d = registry.current(id)?.definition else { return .init(name: id, trackingURL: nil) }
            return .init(name: d.name, trackingURL: d.trackingURL)
        }
    }
}
