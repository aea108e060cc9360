import Foundation
import RastroCarriers
import RastroCore
import RastroStore

/// What the notifications of a change say, frozen when the change is stored:
/// email template variables and webhook bodies are built from this snapshot, so
/// a retry days later sends what was true at the change.
public enum NotificationPayload {
    public struct Carrier: Sendable, Hashable {
        public var name: String
        /// With `{code}` where the tracking number goes.
        public var trackingURL: String?
        public init(name: String, trackingURL: String?) {
            self.name = name
            self.trackingURL = trackingURL
        }
        public func url(for code: String) -> String? {
            guard let trackingURL else { return nil }
            // Tracking numbers are letters and digits almost always: percent-encode only when needed.
            let plain = code.utf8.allSatisfy { Self.unreserved.contains($0) }
            let encoded = plain ? code : code.addingPercentEncoding(withAllowedCharacters: Self.unreservedSet) ?? code
            return trackingURL.replacing("{code}", with: encoded)
        }

        private static let unreserved = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
        private static let unreservedSet = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    }

    /// Template variables for an email (labels are added at rendering, in the email's locale).
    public static func emailVariables(shipment: Shipment, merchant: Merchant, carrier: Carrier, from: TrackingStatus?,
                                      to: TrackingStatus, timeline: [TrackingEvent]) -> [String: Any] {
        let newestFirst = timeline.reversed().map(event)
        var v: [String: Any] = [
            "customerName": shipment.customerName ?? "",
            "orderId": shipment.orderId ?? "",
            "invoiceNumber": shipment.invoiceNumber ?? "",
            "carrierName": carrier.name,
            "trackingNumber": shipment.trackingNumber,
            "trackingURL": carrier.url(for: shipment.trackingNumber) ?? "",
            "status": to.rawValue,
            "previousStatus": from?.rawValue ?? "",
            "timeline": newestFirst,
            "storeName": merchant.name,
            "estimatedDelivery": shipment.estimatedDelivery.map { $0.components(offsetSeconds: 0).date } ?? "",
            "deliveredAt": "",
            "merchantLocale": merchant.defaultLocale ?? "",
        ]
        if let latest = newestFirst.first { v["latestEvent"] = latest }
        if to == .delivered, let delivered = timeline.last(where: { $0.status == .delivered }) {
            let local = EventZone.local(delivered)
            v["deliveredAt"] = "\(local.date) \(local.time)"
        }
        return v
    }

    static func event(_ e: TrackingEvent) -> [String: Any] {
        let local = EventZone.local(e)
        return ["description": e.description, "place": e.location?.summary ?? "", "date": local.date, "time": local.time,
                "status": e.status.rawValue, "occurredAt": e.occurredAt.iso8601]
    }

    /// A webhook body in the Standard Webhooks shape: `{type, timestamp, data}`.
    public static func webhookBody(event: String, shipment: Shipment, carrier: Carrier, from: TrackingStatus?,
                                   to: TrackingStatus, timeline: [TrackingEvent], now: Timestamp) -> [String: Any] {
        var data: [String: Any] = [
            "shipmentId": shipment.id ?? 0,
            "orderId": shipment.orderId ?? NSNull(),
            "invoiceNumber": shipment.invoiceNumber ?? NSNull(),
            "carrier": shipment.carrier,
            "trackingNumber": shipment.trackingNumber,
            "trackingUrl": carrier.url(for: shipment.trackingNumber) ?? NSNull(),
            "status": to.rawValue,
            "previousStatus": from?.rawValue ?? NSNull(),
            "isDelivered": to == .delivered,
            "deliveredDate": NSNull(),
            // The platform's tracking shape, newest first.
            "events": timeline.reversed().map { e -> [String: Any] in
                let local = EventZone.local(e)
                return ["date": "\(local.date) \(local.time)", "occurredAt": e.occurredAt.iso8601, "description": e.description,
                        "city": e.location?.city ?? NSNull(), "state": e.location?.state ?? NSNull(), "status": e.status.rawValue]
            },
        ]
        if to == .delivered, let d = timeline.last(where: { $0.status == .delivered }) {
            let local = EventZone.local(d)
            data["deliveredDate"] = "\(local.date) \(local.time)"
        }
        return ["type": event, "timestamp": now.iso8601, "data": data]
    }

    static func json(_ object: Any) -> String {
        JSONText.string(object)
    }
}
