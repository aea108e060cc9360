import RastroCore

extension ParseOutput {
    /// The same output with every result's events in the opposite order.
    func reversingEvents() -> ParseOutput {
        guard case .perCode(let results, let repeated) = self else { return self }
        func reversed(_ outcome: CarrierOutcome) -> CarrierOutcome {
            guard case .tracked(var r) = outcome else { return outcome }
            r.events.reverse()
            return .tracked(r)
        }
        return .perCode(results.mapValues(reversed), repeated: repeated.mapValues { $0.map(reversed) })
    }
}

/// The normalized form of a parse, as the golden fixtures write it.
extension ParseOutput {
    public var json: JSONValue {
        switch self {
        case .whole(let f): return .object(["failure": f.json])
        case .perCode(let results, let repeated):
            func json(_ outcome: CarrierOutcome) -> JSONValue {
                switch outcome {
                case .failed(let f): return .object(["failure": f.json])
                case .tracked(let r): return r.json
                }
            }
            // A number with several shipments is written as the list parse returned.
            var out = results.mapValues(json)
            for (code, all) in repeated { out[code] = .array(all.map(json)) }
            return .object(["results": .object(out)])
        }
    }
}

extension CarrierFailure {
    var json: JSONValue {
        var o: [String: JSONValue] = ["kind": .string(kind.rawValue)]
        if let message { o["message"] = .string(message) }
        if let code { o["code"] = .string(code) }
        if let retryAfter { o["retry_after"] = .number(retryAfter) }
        return .object(o)
    }
}

extension TrackingResult {
    var json: JSONValue {
        var o: [String: JSONValue] = ["status": .string(status.rawValue), "events": .array(events.map(\.json))]
        if let deliveredAt { o["delivered_at"] = .string(deliveredAt.iso8601) }
        if let estimatedDelivery { o["estimated_delivery"] = .string(estimatedDelivery.iso8601) }
        if let signedBy { o["signed_by"] = .string(signedBy) }
        return .object(o)
    }
}

extension TrackingEvent {
    var json: JSONValue {
        var o: [String: JSONValue] = [
            "occurred_at": .string(occurredAt.iso8601), "status": .string(status.rawValue),
            "code": .string(code), "description": .string(description),
        ]
        if let zone { o["zone"] = .string(zone) }
        if let subcode { o["subcode"] = .string(subcode) }
        if let location { o["location"] = location.json }
        if let destination { o["destination"] = destination.json }
        if retractsPrevious { o["retracts_previous"] = .bool(true) }
        return .object(o)
    }
}

extension EventLocation {
    var json: JSONValue {
        var o: [String: JSONValue] = [:]
        let pairs: [(String, String?)] = [("facility", facility), ("city", city), ("district", district),
                                          ("state", state), ("country", country), ("postal", postalCode)]
        for (k, v) in pairs { if let v { o[k] = .string(v) } }
        return .object(o)
    }
}
