import Foundation
import Hummingbird
import RastroCarriers
import RastroCore
import RastroStore

/// The platform's tracking push, turned into rastro events.
enum PushEvents {
    /// "yyyy-mm-dd hh:mm[:ss]" (or with a T) as local time in `zone` → UTC.
    static func localTime(_ text: String, zone: String) -> Timestamp? {
        // Bytes, not Foundation string calls: every pushed event comes through here.
        var bytes = Array(text.utf8)
        guard bytes.count == 16 || bytes.count == 19, bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T") else { return nil }
        bytes[10] = UInt8(ascii: "T")
        if bytes.count == 16 { bytes += Array(":00".utf8) }
        bytes.append(UInt8(ascii: "Z"))
        guard let asUTC = Timestamp(iso8601: String(decoding: bytes, as: UTF8.self)) else { return nil }
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
                guard let (_, change) = try await store.recordEvents(newestFirst, for: .order(orderId: orderId, invoiceNumber: invoice),
                                                                     merchantId: merchantId, source: .push, now: now(), notify: rules?.notifier) else {
                    throw APIError.notFound("order \(orderId) invoice \(invoice)")
                }
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

    /// 32 lowercase hex digits, like the platform's receipts.
    static func receipt() -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 32) { out in
            for i in stride(from: 0, to: 32, by: 16) {
                let word = rng.next()
                for j in 0..<16 { out[i + j] = digits[Int((word >> (UInt64(j) * 4)) & 0xF)] }
            }
            return 32
        }
    }
}
