import ArgumentParser
import Foundation
import RastroCarriers
import RastroCore
import RastroNotify
import RastroService
import RastroStore

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Notification rules.",
        subcommands: [Simulate.self]
    )

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which notifications a timeline would produce, rendered, without sending anything.",
            discussion: """
            The timeline is a JSON list of events, in any order:
              [{"at": "2024-03-14T11:55:03Z", "status": "out_for_delivery", "code": "OEC",
                "description": "Objeto saiu para entrega", "city": "São Paulo", "state": "SP"}, …]
            Events are applied one at a time, oldest first, as polls would bring them; after each, the
            merchant's rules (or the defaults) run and every email is rendered in the customer's locale.
            """
        )

        @Option(help: "Merchant whose rules apply (rules/<merchant>.lua, else rules/default.lua).") var merchant: String = "default"
        @Option(help: "Timeline file (JSON list of events).") var timeline: String
        @Option(help: "Carrier id, for its name and tracking URL.") var carrier: String = "correios"
        @Option(help: "Tracking number.") var code: String = "SI047624825BR"
        @Option(help: "Customer email.") var email: String = "customer@example.com"
        @Option(help: "Customer locale.") var locale: String = "pt-BR"
        @Flag(help: "Print the HTML part too.") var html = false
        @OptionGroup var carriersOption: CarriersOption
        @OptionGroup var rulesOption: RulesOption

        func run() async throws {
            let events = try Self.readTimeline(timeline)
            let registry = CarrierRegistry(directory: URL(fileURLWithPath: carriersOption.carriers))
            registry.reload()
            let setup = try NotifySetup(rulesDirectory: rulesOption.rules, dataDirectory: FileManager.default.temporaryDirectory.path,
                                        carrier: NotifySetup.carrierInfo(registry))
            let start = events.first?.occurredAt ?? .now
            let merchantRecord = Merchant(id: 1, name: merchant, createdAt: start)
            var shipment = Shipment(id: 1, merchantId: 1, carrier: carrier, trackingNumber: code.uppercased(), orderId: "1042-01",
                                    invoiceNumber: "4587", customerEmail: email, customerName: "Ana", customerLocale: locale,
                                    dispatchedAt: start, createdAt: start, statusChangedAt: start)
            var seen: [TrackingEvent] = []
            for (step, event) in events.enumerated() {
                let before = shipment.status
                seen.append(event)
                shipment.status = ShipmentStatus.derive(from: seen)
                let local = EventZone.local(event)
                print("\(step + 1). \(local.date) \(local.time) \(event.code) \(event.description)  [\(before.rawValue) → \(shipment.status.rawValue)]")
                let change = ShipmentChange(shipment: shipment, merchant: merchantRecord, from: before, to: shipment.status,
                                            newEvents: [event], timeline: ShipmentStatus.effectiveTimeline(seen), at: event.occurredAt)
                let intents = setup.engine.intents(for: change, now: event.occurredAt)
                if intents.isEmpty { print("   (nothing sent)") }
                for intent in intents { print(try Self.describe(intent, templates: setup.templates, html: html)) }
            }
            if shipment.status != .delivered && !shipment.status.isTerminal {
                var expired = shipment
                expired.status = .expired
                print("\(events.count + 1). window ends without a delivery  [\(shipment.status.rawValue) → expired]")
                let change = ShipmentChange(shipment: expired, merchant: merchantRecord, from: shipment.status, to: .expired,
                                            newEvents: [], timeline: ShipmentStatus.effectiveTimeline(seen), at: events.last?.occurredAt ?? start)
                for intent in setup.engine.intents(for: change, now: events.last?.occurredAt ?? start) {
                    print(try Self.describe(intent, templates: setup.templates, html: html))
                }
            }
        }

        static func describe(_ intent: OutboxIntent, templates: TemplateLibrary, html: Bool) throws -> String {
            let when = intent.notBefore.map { " (not before \($0.iso8601))" } ?? ""
            switch intent.kind {
            case .webhook:
                return "   webhook \(intent.endpoint ?? "") \(intent.event ?? "")\(when)\n      \(intent.payload)"
            case .email:
                let variables = (try? JSONSerialization.jsonObject(with: Data(intent.payload.utf8))) as? [String: Any] ?? [:]
                do {
                    let r = try templates.render(intent.template ?? "", locale: intent.locale, merchantDefault: nil, variables: variables)
                    var lines = ["   email \(intent.template ?? "") to \(intent.recipient ?? "") in \(r.locale)\(when)", "      Subject: \(r.subject)"]
                    lines += r.text.split(separator: "\n", omittingEmptySubsequences: false).map { "      | \($0)" }
                    if html { lines += r.html.split(separator: "\n", omittingEmptySubsequences: false).map { "      > \($0)" } }
                    return lines.joined(separator: "\n")
                } catch {
                    return "   email \(intent.template ?? "") to \(intent.recipient ?? ""): CANNOT RENDER: \(error)"
                }
            }
        }

        static func readTimeline(_ path: String) throws -> [TrackingEvent] {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
                throw ValidationError("\(path): expected a JSON list of event objects")
            }
            return try list.enumerated().map { i, e in
                guard let at = (e["at"] as? String).flatMap(Timestamp.init(iso8601:)) else {
                    throw ValidationError("\(path): event \(i + 1): 'at' must be an ISO-8601 time with a zone")
                }
                guard let status = (e["status"] as? String).flatMap(TrackingStatus.init(rawValue:)) else {
                    throw ValidationError("\(path): event \(i + 1): 'status' must be one of \(TrackingStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let location = EventLocation(city: e["city"] as? String, state: e["state"] as? String, country: e["country"] as? String)
                return TrackingEvent(occurredAt: at, zone: e["zone"] as? String, status: status, code: e["code"] as? String ?? "",
                                     description: e["description"] as? String ?? status.rawValue, location: location.isEmpty ? nil : location)
            }.sorted { $0.occurredAt < $1.occurredAt }
        }
    }
}
