import Foundation
import RastroCarriers
import RastroCore
import RastroStore

/// How the API shows a shipment.
enum ShipmentJSON {
    static func object(_ s: Shipment, trackingURL: String?, timeline: [TrackingEvent]? = nil) -> [String: Any] {
        func t(_ v: Timestamp?) -> Any { v?.iso8601 ?? NSNull() }
        func n(_ v: String?) -> Any { v ?? NSNull() }
        var o: [String: Any] = [
            "id": s.id!, "orderId": n(s.orderId), "invoiceNumber": n(s.invoiceNumber), "carrier": s.carrier,
            "trackingNumber": s.trackingNumber, "trackingUrl": n(trackingURL), "status": s.status.rawValue,
            "customer": ["email": n(s.customerEmail), "name": n(s.customerName), "locale": n(s.customerLocale)],
            "marketplaceEndpoint": n(s.marketplaceEndpoint), "dispatchedAt": s.dispatchedAt.iso8601, "createdAt": s.createdAt.iso8601,
            "statusChangedAt": s.statusChangedAt.iso8601, "estimatedDelivery": t(s.estimatedDelivery), "deliveredAt": t(s.deliveredAt),
            "nextPollAt": t(s.nextPollAt), "lastPolledAt": t(s.lastPolledAt), "lastOutcome": n(s.lastOutcome),
            "expiryReason": n(s.expiryReason), "cancelledAt": t(s.cancelledAt),
        ]
        if let timeline {
            o["timeline"] = timeline.reversed().map { e -> [String: Any] in
                var event: [String: Any] = ["occurredAt": e.occurredAt.iso8601, "status": e.status.rawValue, "code": e.code,
                                            "description": e.description]
                let local = EventZone.local(e)
                event["localTime"] = "\(local.date) \(local.time)"
                if let l = e.location, !l.isEmpty {
                    event["location"] = ["facility": n(l.facility), "city": n(l.city), "state": n(l.state), "country": n(l.country), "postalCode": n(l.postalCode)]
                }
                return event
            }
        }
        return o
    }

    static func data(_ object: Any) -> [UInt8] {
        JSONText.bytes(object)
    }
}

/// Reading a JSON request body, with errors that name the field.
struct JSONBody {
    let object: [String: Any]

    init(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { throw APIError.badRequest("expected a JSON object body") }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw APIError.badRequest("the body is not a JSON object")
        }
        self.object = object
    }

    init(object: [String: Any]) { self.object = object }

    /// JSON null. Not `value is NSNull`: on a list or an object that cast bridges the
    /// whole value to Foundation classes first, which showed in push profiles.
    static func isNull(_ value: Any) -> Bool { type(of: value) == NSNull.self }

    /// Without leading and trailing white space. Most values have none, and Foundation's
    /// trimming showed in push profiles, so those are returned as they are.
    static func trimmed(_ s: some StringProtocol) -> String {
        func plain(_ c: Unicode.Scalar?) -> Bool { c.map { $0.isASCII && $0.value > 0x20 && $0.value != 0x7F } ?? false }
        if plain(s.unicodeScalars.first) && plain(s.unicodeScalars.last) { return String(s) }
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func string(_ field: String, required: Bool = false, max: Int = 200, prefix: String = "") throws -> String? {
        let value = object[field]
        if value == nil || Self.isNull(value!) {
            if required { throw APIError.invalid(prefix + field, "\(prefix + field) is required") }
            return nil
        }
        guard let s = value as? String else { throw APIError.invalid(prefix + field, "\(prefix + field) must be a string") }
        let trimmed = Self.trimmed(s)
        if trimmed.isEmpty {
            if required { throw APIError.invalid(prefix + field, "\(prefix + field) must not be empty") }
            return nil
        }
        guard trimmed.utf8.count <= max || trimmed.count <= max else { throw APIError.invalid(prefix + field, "\(prefix + field) is longer than \(max) characters") }
        return trimmed
    }

    func bool(_ field: String, prefix: String = "") throws -> Bool? {
        guard let value = object[field], !Self.isNull(value) else { return nil }
        // JSONSerialization gives NSNumber for numbers and booleans alike; only true/false are accepted.
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else {
            throw APIError.invalid(prefix + field, "\(prefix + field) must be true or false")
        }
        return number.boolValue
    }

    func object(_ field: String) throws -> JSONBody? {
        guard let value = object[field], !Self.isNull(value) else { return nil }
        guard let o = value as? [String: Any] else { throw APIError.invalid(field, "\(field) must be an object") }
        return JSONBody(object: o)
    }

    func array(_ field: String) throws -> [[String: Any]]? {
        guard let value = object[field], !Self.isNull(value) else { return nil }
        guard let list = value as? [Any] else { throw APIError.invalid(field, "\(field) must be a list") }
        return try list.enumerated().map { i, item in
            guard let o = item as? [String: Any] else { throw APIError.invalid("\(field)[\(i)]", "\(field)[\(i)] must be an object") }
            return o
        }
    }
}
