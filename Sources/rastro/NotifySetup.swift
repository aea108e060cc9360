import ArgumentParser
import Foundation
import Logging
import RastroCarriers
import RastroCore
import RastroNotify
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

    /// `carrier` gives a carrier's name and tracking URL template by id.
    init(rulesDirectory: String, dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
         carrier: @escaping @Sendable (String) -> NotificationPayload.Carrier) throws {
        let folder = URL(fileURLWithPath: rulesDirectory)
        rules = RuleRegistry(directory: folder)
        rules.reload()
        templates = TemplateLibrary(directory: folder.appendingPathComponent("templates"))
        engine = try RulesEngine(registry: rules, zone: environment["RASTRO_ZONE"] ?? "UTC", carrier: carrier)
        if let url = environment["RASTRO_SMTP_URL"], !url.isEmpty {
            mail = SMTPMailTransport(settings: SMTPClient.Settings(
                url: url, username: environment["RASTRO_SMTP_USER"], password: environment["RASTRO_SMTP_PASSWORD"],
                startTLS: ["1", "true", "yes"].contains(environment["RASTRO_SMTP_STARTTLS"]?.lowercased() ?? "")))
        } else {
            mail = FileMailTransport(folder: URL(fileURLWithPath: dataDirectory).appendingPathComponent("mail"))
        }
        var settings = OutboxDeliverer.Settings()
        if let from = environment["RASTRO_MAIL_FROM"], !from.isEmpty { settings.mailFrom = from }
        settings.allowPrivateWebhooks = ["1", "true", "yes"].contains(environment["RASTRO_WEBHOOKS_ALLOW_PRIVATE"]?.lowercased() ?? "")
        if let base = environment["RASTRO_OUTBOX_RETRY_BASE"].flatMap(DurationText.parse) {
            settings.backoff = Backoff(base: base, cap: max(base, settings.backoff.cap))
        }
        // How long a notification claimed by a process that died waits before another run sends it again.
        if let lease = environment["RASTRO_OUTBOX_LEASE"].flatMap(DurationText.parse), lease > .zero {
            settings.lease = lease
        }
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
