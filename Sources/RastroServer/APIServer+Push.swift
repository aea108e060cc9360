import Foundation
import Hummingbird
import RastroCarriers
import RastroCore
import RastroStore

/// The platform's tracking push, turned into rastro events.
enum PushEvents {
    /// "yyyy-mm-dd hh:mm[:ss]" (or with a T) as local time in `zone` → UTC.
    static func localTime(_ text: String, zone: String) -> Timestamp? {
        let normalized = text.replacingOccurrences(of: " ", with: "T")
        let withSeconds = normalized.count == 16 ? normalized + ":00" : normalized
        guard withSeconds.count == 19, let asUTC = Timestamp(iso8601: withSeconds + "Z") else { return nil }
        // The offset at that wall time; zone transitions happen at night, where parcels rarely move.
        let offset = EventZone.offsetSeconds(zone, at: asUTC)
        return asUTC - .seconds(Int64(offset))
    }

    static func time(_ text: String, zone: String) -> Timestamp? {
        Timestamp(iso8601: text) ?? localTime(text, zone: zone)
    }
}

extension APIServer {
    func addPushRoutes(to api: RouterGroup<APIContext>) {
        // Update Order Tracking Status: what ERPs already call when the platform's polling is broken.
        api.put("/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking") { request, context -> Response in
            var request = request
            let bytes = try await Self.body(&request)
            let merchantId = try Self.merchant(context)
            let orderId = context.parameters.get("orderId") ?? ""
            let invoice = context.parameters.get("invoiceNumber") ?? ""
            return try await idempotent(request, context, body: bytes) {
                let body = try JSONBody(bytes)
                guard let shipment = try await store.shipment(orderId: orderId, invoiceNumber: invoice, merchantId: merchantId) else {
                    throw APIError.notFound("order \(orderId) invoice \(invoice)")
                }
                var events: [TrackingEvent] = []
                for (i, e) in (try body.array("events") ?? []).enumerated() {
                    let item = JSONBody(object: e)
                    let prefix = "events[\(i)]."
                    let dateText = try item.string("date", required: true, max: 40, prefix: prefix)!
                    guard let at = PushEvents.time(dateText, zone: settings.zone) else {
                        throw APIError.invalid(prefix + "date", "\(prefix)date must be yyyy-mm-dd hh:mm or ISO-8601, got \(dateText)")
                    }
                    let description = try item.string("description", required: true, max: 500, prefix: prefix)!
                    let location = EventLocation(city: try item.string("city", max: 100, prefix: prefix), state: try item.string("state", max: 100, prefix: prefix))
                    events.append(TrackingEvent(occurredAt: at, zone: settings.zone, status: .inTransit, code: "",
                                                description: description, location: location.isEmpty ? nil : location))
                }
                let delivered = try body.bool("isDelivered") ?? false
                if delivered {
                    var at = events.map(\.occurredAt).max() ?? now()
                    if let text = try body.string("deliveredDate") {
                        guard let t = PushEvents.time(text, zone: settings.zone) else {
                            throw APIError.invalid("deliveredDate", "deliveredDate must be yyyy-mm-dd hh:mm, got \(text)")
                        }
                        at = t
                    }
                    events.append(TrackingEvent(occurredAt: at, zone: settings.zone, status: .delivered, code: "DELIVERED", description: "Delivered"))
                }
                guard !events.isEmpty else { throw APIError.invalid("events", "events is empty and isDelivered is not true: nothing to record") }
                let newestFirst = events.sorted { $0.occurredAt > $1.occurredAt }
                let (_, change) = try await store.recordEvents(newestFirst, shipmentId: shipment.id!, merchantId: merchantId, source: .push,
                                                         now: now(), notify: rules?.notifier)
                if change != nil { wake() }
                return (.ok, ["date": now().iso8601, "orderId": orderId, "receipt": Self.receipt()])
            }
        }
        // Invoice with tracking: registers the shipment that the pushes and polls will follow.
        api.post("/api/oms/pvt/orders/{orderId}/invoice") { request, context -> Response in
            var request = request
            let bytes = try await Self.body(&request)
            let merchantId = try Self.merchant(context)
            let orderId = context.parameters.get("orderId") ?? ""
            return try await idempotent(request, context, body: bytes) {
                var object = try JSONBody(bytes).object
                object["orderId"] = orderId
                if let courier = object["courier"] as? String {
                    // The platform names couriers freely ("Correios", "DHL Express"); map to a carrier id when one matches.
                    let id = courier.lowercased().replacingOccurrences(of: " ", with: "_")
                    object["carrier"] = carriers.current(id) != nil ? id : nil
                }
                object["dispatchedAt"] = object["dispatchedDate"]
                let body = JSONBody(object: object)
                _ = try body.string("invoiceNumber", required: true, max: 100)
                _ = try await register(body, merchantId: merchantId)
                return (.ok, ["date": now().iso8601, "orderId": orderId, "receipt": Self.receipt()])
            }
        }
    }

    static func receipt() -> String { UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }
}
