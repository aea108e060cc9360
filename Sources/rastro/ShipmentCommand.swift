import ArgumentParser
import Foundation
import RastroCarriers
import RastroCore
import RastroNotify
import RastroScripting
import RastroStore

struct ShipmentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shipment",
        abstract: "Register and inspect shipments in the database (works while `rastro serve` runs).",
        subcommands: [Add.self, Show.self, List.self, Poll.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a shipment; its first poll is due at once.")

        @Argument(help: "Carrier id, e.g. correios or demo.") var carrier: String
        @Argument(help: "Tracking number.") var code: String
        @Option(help: "The store's order id.") var order: String?
        @Option(help: "Invoice number.") var invoice: String?
        @Option(help: "Customer email.") var email: String?
        @Option(help: "Customer name.") var name: String?
        @Option(help: "Customer locale, e.g. pt-BR.") var locale: String?
        @Option(help: "Dispatch time, ISO-8601 (default: now). The tracking window counts from it.") var dispatched: String?
        @OptionGroup var dataOption: DataOption
        @OptionGroup var carriersOption: CarriersOption
        @OptionGroup var rulesOption: RulesOption

        func run() async throws {
            let number = code.trimmingCharacters(in: .whitespaces).uppercased()
            let vm = try LuaVM.sandboxed()
            let script: CarrierScript
            do {
                script = try CarrierScript.load(id: carrier, carriersDirectory: URL(fileURLWithPath: carriersOption.carriers), on: vm)
            } catch {
                throw ValidationError("unknown or broken carrier '\(carrier)': \(error)")
            }
            let validation = try script.validate(number)
            guard validation.isValid else {
                throw ValidationError("\(number) is not a valid \(script.definition.name) number: \(validation.reason ?? "rejected by validate")")
            }
            var dispatchedAt: Timestamp?
            if let dispatched {
                guard let t = Timestamp(iso8601: dispatched) else { throw ValidationError("--dispatched: not an ISO-8601 time with a zone: \(dispatched)") }
                dispatchedAt = t
            }
            let store = try dataOption.openStore()
            let now = Timestamp.now
            let merchant = try store.ensureMerchant(name: dataOption.merchant, now: now)
            let definition = script.definition
            let notify = try NotifySetup(rulesDirectory: rulesOption.rules, dataDirectory: dataOption.data) { _ in
                .init(name: definition.name, trackingURL: definition.trackingURL)
            }
            let engine = notify.engine
            let shipment: Shipment
            do {
                // The rules' on_registered notifications (the "order invoiced" email) commit with the shipment.
                shipment = try store.registerShipment(
                    NewShipment(carrier: carrier, trackingNumber: number, orderId: order, invoiceNumber: invoice, customerEmail: email,
                                customerName: name, customerLocale: locale, dispatchedAt: dispatchedAt),
                    merchantId: merchant.id!, now: now, notify: { engine.intentsForRegistration(shipment: $0, merchant: $1, now: now) })
            } catch let e as StoreError where e.isConflict {
                throw ValidationError(e.description)
            }
            print("registered \(carrier) \(number) as shipment \(shipment.id!); first poll due now")
            if let url = script.definition.trackingURL(for: number) { print("tracking page: \(url)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A shipment's status, next poll and timeline.")

        @Argument(help: "Tracking number.") var code: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            let (store, _, _, shipments) = try dataOption.shipments(numbered: code)
            var documents: [[String: Any]] = []
            for shipment in shipments {
                let events = try store.events(shipmentId: shipment.id!)
                let timeline = ShipmentStatus.effectiveTimeline(events.map(\.event))
                if json {
                    documents.append(ShipmentPrinter.document(shipment, timeline: timeline))
                } else {
                    print(ShipmentPrinter.text(shipment, timeline: timeline))
                }
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: documents.count == 1 ? documents[0] : documents, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest shipments, one line each.")

        @Option(help: "Only this status.") var status: String?
        @Option(help: "Only this carrier.") var carrier: String?
        @Option(help: "How many.") var limit: Int = 50
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            let store = try dataOption.openStore()
            guard let merchant = try store.merchant(named: dataOption.merchant) else { return }
            var filter = Store.ShipmentFilter(carrier: carrier)
            if let status {
                guard let s = TrackingStatus(rawValue: status) else {
                    throw ValidationError("unknown status \(status); one of \(TrackingStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.status = s
            }
            for shipment in try store.shipments(merchantId: merchant.id!, filter: filter, limit: limit) {
                let next = shipment.nextPollAt.map { "next poll \($0.iso8601)" } ?? "not polled"
                print([String(shipment.id!), shipment.carrier, shipment.trackingNumber, shipment.status.rawValue, next]
                    .joined(separator: "\t"))
            }
        }
    }
}

extension ShipmentCommand {
    struct Poll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Poll a shipment now (a running `rastro serve` picks it up within a second), at most once per 5 minutes."
        )

        @Argument(help: "Tracking number.") var code: String
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            let (store, merchant, number, shipments) = try dataOption.shipments(numbered: code)
            for shipment in shipments {
                do {
                    switch try store.requestPoll(shipmentId: shipment.id!, merchantId: merchant.id!, policy: .platformDefault, now: .now) {
                    case .success: print("\(shipment.carrier) \(number): poll due now")
                    case .failure(let cooldown): throw ValidationError("\(shipment.carrier) \(number) was polled on request recently; next allowed at \(cooldown.allowedAt.iso8601)")
                    }
                } catch let e as StoreError where e.isConflict {
                    throw ValidationError(e.description)
                }
            }
        }
    }
}

extension DataOption {
    /// The merchant's shipments with a tracking number, or a clear error.
    func shipments(numbered code: String) throws -> (Store, Merchant, String, [Shipment]) {
        let store = try openStore()
        guard let merchant = try store.merchant(named: merchant) else { throw ValidationError("no merchant \(self.merchant)") }
        let number = code.trimmingCharacters(in: .whitespaces).uppercased()
        let shipments = try store.shipments(trackingNumber: number, merchantId: merchant.id!)
        guard !shipments.isEmpty else { throw ValidationError("no shipment with tracking number \(number)") }
        return (store, merchant, number, shipments)
    }
}

enum ShipmentPrinter {
    static func text(_ s: Shipment, timeline: [TrackingEvent]) -> String {
        var lines = ["\(s.carrier) \(s.trackingNumber)  \(s.status.rawValue)" + (s.expiryReason.map { " (\($0))" } ?? "")]
        if let order = s.orderId { lines.append("  order \(order)" + (s.invoiceNumber.map { ", invoice \($0)" } ?? "")) }
        lines.append("  dispatched \(s.dispatchedAt.iso8601); " + (s.nextPollAt.map { "next poll \($0.iso8601)" } ?? "not polled any more")
                     + (s.lastOutcome.map { "; last poll: \($0)" } ?? ""))
        for e in timeline.reversed() {
            let local = EventZone.local(e)
            let place = e.location?.summary ?? ""
            lines.append("  \(local.date) \(local.time)  \(e.status.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(e.description)\(place.isEmpty ? "" : " — \(place)")")
        }
        return lines.joined(separator: "\n")
    }

    static func document(_ s: Shipment, timeline: [TrackingEvent]) -> [String: Any] {
        var d: [String: Any] = [
            "id": s.id!, "carrier": s.carrier, "trackingNumber": s.trackingNumber, "status": s.status.rawValue,
            "dispatchedAt": s.dispatchedAt.iso8601, "pollFailures": s.pollFailures,
            "events": timeline.reversed().map { e -> [String: Any] in
                var o: [String: Any] = ["occurredAt": e.occurredAt.iso8601, "status": e.status.rawValue, "code": e.code, "description": e.description]
                if let summary = e.location?.summary, !summary.isEmpty { o["location"] = summary }
                return o
            },
        ]
        d["nextPollAt"] = s.nextPollAt?.iso8601 ?? NSNull()
        d["orderId"] = s.orderId ?? NSNull()
        d["invoiceNumber"] = s.invoiceNumber ?? NSNull()
        d["lastOutcome"] = s.lastOutcome ?? NSNull()
        d["expiryReason"] = s.expiryReason ?? NSNull()
        d["deliveredAt"] = s.deliveredAt?.iso8601 ?? NSNull()
        return d
    }
}
