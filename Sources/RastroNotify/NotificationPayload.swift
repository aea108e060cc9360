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
            // By hand: `replacing(_:with:)` goes through the regex engine, and this runs per notification.
            let url = Array(trackingURL.utf8), marker = Array("{code}".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(url.count + encoded.utf8.count)
            var i = 0
            while i < url.count {
                if url[i] == marker[0], url.count - i >= marker.count, url[i..<i + marker.count].elementsEqual(marker) {
                    out.append(contentsOf: encoded.utf8)
                    i += marker.count
                } else {
                    out.append(url[i])
                    i += 1
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        private static let unreserved = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
        private static let unreservedSet = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    }

    /// Template variables for an email (labels are added at rendering, in the email's locale).
    public static func emailVariables(shipment: Shipment, merchant: Merchant, carrier: Carrier, from: TrackingStatus?,
                                      to: TrackingStatus, timeline: [TrackingEvent]) -> [String: Any] {
        emailDocument(shipment: shipment, merchant: merchant, carrier: carrier, from: from, to: to, timeline: timeline).any as! [String: Any]
    }

    /// The email variables as a typed document (what the outbox row stores).
    static func emailDocument(shipment: Shipment, merchant: Merchant, carrier: Carrier, from: TrackingStatus?,
                              to: TrackingStatus, timeline: [TrackingEvent]) -> JSONText.Value {
        let newestFirst = timeline.reversed().map(event)
        var deliveredAt = ""
        if to == .delivered, let delivered = timeline.last(where: { $0.status == .delivered }) {
            let local = EventZone.local(delivered)
            deliveredAt = "\(local.date) \(local.time)"
        }
        var v: [(String, JSONText.Value)] = [
            ("customerName", .string(shipment.customerName ?? "")),
            ("orderId", .string(shipment.orderId ?? "")),
            ("invoiceNumber", .string(shipment.invoiceNumber ?? "")),
            ("carrierName", .string(carrier.name)),
            ("trackingNumber", .string(shipment.trackingNumber)),
            ("trackingURL", .string(carrier.url(for: shipment.trackingNumber) ?? "")),
            ("status", .string(to.rawValue)),
            ("previousStatus", .string(from?.rawValue ?? "")),
            ("timeline", .array(newestFirst)),
            ("storeName", .string(merchant.name)),
            ("estimatedDelivery", .string(shipment.estimatedDelivery.map { $0.components(offsetSeconds: 0).date } ?? "")),
            ("deliveredAt", .string(deliveredAt)),
            ("merchantLocale", .string(merchant.defaultLocale ?? "")),
        ]
        if let latest = newestFirst.first { v.append(("latestEvent", latest)) }
        return .object(v)
    }

    static func event(_ e: TrackingEvent) -> JSONText.Value {
        let local = EventZone.local(e)
        return .object([("description", .string(e.description)), ("place", .string(e.location?.summary ?? "")), ("date", .string(local.date)),
                        ("time", .string(local.time)), ("status", .string(e.status.rawValue)), ("occurredAt", .string(e.occurredAt.iso8601))])
    }

    /// A webhook body in the Standard Webhooks shape: `{type, timestamp, data}`.
    public static func webhookBody(event: String, shipment: Shipment, carrier: Carrier, from: TrackingStatus?,
                                   to: TrackingStatus, timeline: [TrackingEvent], now: Timestamp) -> [String: Any] {
        webhookDocument(event: event, shipment: shipment, carrier: carrier, from: from, to: to, timeline: timeline, now: now).any as! [String: Any]
    }

    static func webhookDocument(event: String, shipment: Shipment, carrier: Carrier, from: TrackingStatus?,
                                to: TrackingStatus, timeline: [TrackingEvent], now: Timestamp) -> JSONText.Value {
        var deliveredDate = JSONText.Value.null
        if to == .delivered, let d = timeline.last(where: { $0.status == .delivered }) {
            let local = EventZone.local(d)
            deliveredDate = .string("\(local.date) \(local.time)")
        }
        let data: [(String, JSONText.Value)] = [
            ("shipmentId", .int(shipment.id ?? 0)),
            ("orderId", .string(shipment.orderId)),
            ("invoiceNumber", .string(shipment.invoiceNumber)),
            ("carrier", .string(shipment.carrier)),
            ("trackingNumber", .string(shipment.trackingNumber)),
            ("trackingUrl", .string(carrier.url(for: shipment.trackingNumber))),
            ("status", .string(to.rawValue)),
            ("previousStatus", .string(from?.rawValue)),
            ("isDelivered", .bool(to == .delivered)),
            ("deliveredDate", deliveredDate),
            // The platform's tracking shape, newest first.
            ("events", .array(timeline.reversed().map { e in
                let local = EventZone.local(e)
                return .object([("date", .string("\(local.date) \(local.time)")), ("occurredAt", .string(e.occurredAt.iso8601)),
                                ("description", .string(e.description)), ("city", .string(e.location?.city)),
                                ("state", .string(e.location?.state)), ("status", .string(e.status.rawValue))])
            })),
        ]
        return .object([("type", .string(event)), ("timestamp", .string(now.iso8601)), ("data", .object(data))])
    }

    static func json(_ document: JSONText.Value) -> String {
        JSONText.string(document)
    }

    static func json(_ object: [String: Any]) -> String {
        JSONText.string(object)
    }

    static func json(_ object: Any) -> String {
        JSONText.string(object)
    }
}
