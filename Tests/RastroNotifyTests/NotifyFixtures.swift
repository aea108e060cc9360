import Foundation
import RastroCore
import RastroNotify
import RastroStore
import RastroTestSupport

let t0 = Timestamp(secondsSinceEpoch: 1_763_900_000)  // 2025-11-23T12:13:20Z

/// The repository's rules/ folder (default.lua, example_store.lua, templates/).
let repoRules = LoopbackCarrier.packageRoot.appendingPathComponent("rules")

func event(_ minutes: Int64, _ status: TrackingStatus, _ code: String, _ text: String, city: String = "São Paulo") -> TrackingEvent {
    TrackingEvent(occurredAt: t0 + .seconds(minutes * 60), zone: "America/Sao_Paulo", status: status, code: code, description: text,
                  location: EventLocation(city: city, state: "SP", country: "BR"))
}

func shipment(id: Int64 = 7, merchantId: Int64 = 1, email: String? = "ana@example.com", locale: String? = "pt-BR",
              status: TrackingStatus = .outForDelivery) -> Shipment {
    Shipment(id: id, merchantId: merchantId, carrier: "correios", trackingNumber: "SI047624825BR", orderId: "1042-01",
             invoiceNumber: "NF 4587", customerEmail: email, customerName: "Ana", customerLocale: locale, marketplaceEndpoint: nil,
             dispatchedAt: t0, createdAt: t0, status: status, statusChangedAt: t0, pollFailures: 0)
}

let correios = NotificationPayload.Carrier(name: "Correios", trackingURL: "https://rastreamento.correios.com.br/app/index.php?objetos={code}")

func change(from: TrackingStatus, to: TrackingStatus, merchant: String = "loja", locale: String? = "pt-BR",
            email: String? = "ana@example.com", at: Timestamp = t0) -> ShipmentChange {
    let timeline = [event(0, .inTransit, "RO", "Objeto em transferência - por favor aguarde", city: "Curitiba"),
                    event(600, .outForDelivery, "OEC", "Objeto saiu para entrega ao destinatário")]
    return ShipmentChange(shipment: shipment(email: email, locale: locale, status: to), merchant: Merchant(id: 1, name: merchant, createdAt: t0),
                          from: from, to: to, newEvents: [timeline[1]], timeline: timeline, at: at)
}

/// A folder with the given rule files (name → source) and, optionally, the repository's templates.
func rulesFolder(_ files: [String: String]) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-rules-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (name, source) in files { try source.write(to: folder.appendingPathComponent(name + ".lua"), atomically: true, encoding: .utf8) }
    return folder
}

func engine(_ folder: URL, zone: String = "UTC") throws -> RulesEngine {
    let registry = RuleRegistry(directory: folder)
    registry.reload()
    return try RulesEngine(registry: registry, zone: zone) { _ in correios }
}

func describe(_ intents: [OutboxIntent]) -> [String] {
    intents.map { $0.kind == .email ? "email \($0.template!) to \($0.recipient!)" : "webhook \($0.endpoint!) \($0.event!)" }
}
