import RastroCore
import RastroScripting

/// Turns what `parse` returned into outcomes, or a contract error that says
/// exactly which part of the result is wrong.
struct CarrierResultDecoder {
    let file: String

    func fail(_ field: String, _ reason: String) -> CarrierContractError {
        CarrierContractError(file: file, field: field, reason)
    }

    func decode(_ value: LuaValue) throws -> ParseOutput {
        guard let table = value.tableValue else {
            throw fail("parse", "must return a table of results keyed by tracking number, or a failure (returned \(value.typeName))")
        }
        if !table["failure"].isNil { return .whole(try failure(table, at: "parse")) }
        guard table.array.isEmpty else {
            throw fail("parse", "returned a list; results must be keyed by tracking number")
        }
        var results: [String: CarrierOutcome] = [:]
        var repeated: [String: [CarrierOutcome]] = [:]
        for (code, item) in table.fields {
            let at = "parse result['\(code)']"
            guard let t = item.tableValue else { throw fail(at, "must be a table, not a \(item.typeName)") }
            // Several shipments under one number: a list of results, in the carrier's order.
            if t.fields.isEmpty, !t.array.isEmpty {
                let all = try t.array.enumerated().map { i, entry in
                    let at = "\(at)[\(i + 1)]"
                    guard let e = entry.tableValue else { throw fail(at, "must be a table, not a \(entry.typeName)") }
                    return try outcome(e, at: at)
                }
                results[code] = Self.current(all)
                if all.count > 1 { repeated[code] = all }
                continue
            }
            results[code] = try outcome(t, at: at)
        }
        return .perCode(results, repeated: repeated)
    }

    func outcome(_ t: LuaTable, at: String) throws -> CarrierOutcome {
        if !t["failure"].isNil { return .failed(try failure(t, at: at)) }
        return .tracked(try result(t, at: at))
    }

    /// Of several shipments under one number, the one rastro tracks: the tracked one
    /// with the newest event (the first listed among equals), else the first.
    static func current(_ all: [CarrierOutcome]) -> CarrierOutcome {
        var best: (outcome: CarrierOutcome, newest: Timestamp)?
        for outcome in all {
            guard case .tracked(let r) = outcome else { continue }
            let newest = ShipmentStatus.effectiveTimeline(r.events).last?.occurredAt ?? Timestamp(secondsSinceEpoch: .min)
            if best == nil || newest > best!.newest { best = (outcome, newest) }
        }
        return best?.outcome ?? all[0]
    }

    func failure(_ t: LuaTable, at: String) throws -> CarrierFailure {
        guard let name = t["failure"].stringValue, let kind = CarrierFailureKind(rawValue: name) else {
            let kinds = CarrierFailureKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("\(at).failure", "must be one of \(kinds)")
        }
        return CarrierFailure(kind: kind, message: t["message"].stringValue,
                              code: t["code"].stringValue ?? t["code"].intValue.map { String($0) },
                              retryAfter: t["retry_after"].doubleValue)
    }

    func result(_ t: LuaTable, at: String) throws -> TrackingResult {
        var events: [TrackingEvent] = []
        if !t["events"].isNil {
            guard let list = t["events"].tableValue, list.fields.isEmpty else { throw fail("\(at).events", "must be a list of events") }
            for (i, e) in list.array.enumerated() {
                events.append(try event(e, at: "\(at).events[\(i + 1)]"))
            }
        }
        var status = ShipmentStatus.derive(from: events)
        if !t["status"].isNil { status = try self.status(t["status"], at: "\(at).status") }
        return TrackingResult(status: status, events: events,
                              estimatedDelivery: try time(t["estimated_delivery"], at: "\(at).estimated_delivery"),
                              deliveredAt: try time(t["delivered_at"], at: "\(at).delivered_at"),
                              signedBy: t["signed_by"].stringValue)
    }

    func status(_ v: LuaValue, at: String) throws -> TrackingStatus {
        guard let s = v.stringValue, let status = TrackingStatus(rawValue: s) else {
            let all = TrackingStatus.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail(at, "is \(v.stringValue.map { "\"\($0)\"" } ?? "a \(v.typeName)"), not one of \(all)")
        }
        return status
    }

    func time(_ v: LuaValue, at: String) throws -> Timestamp? {
        if v.isNil { return nil }
        guard let s = v.stringValue, let t = Timestamp(iso8601: s) else {
            throw fail(at, "must be a UTC ISO-8601 time such as time.parse returns (got \(v.stringValue ?? v.typeName))")
        }
        return t
    }

    func text(_ v: LuaValue) -> String? {
        switch v {
        case .string(let s): s.isEmpty ? nil : s
        case .integer(let i): String(i)
        case .number(let d): d.rounded() == d ? String(Int64(d)) : String(d)
        default: nil
        }
    }

    func event(_ v: LuaValue, at: String) throws -> TrackingEvent {
        guard let e = v.tableValue else { throw fail(at, "must be a table") }
        guard let occurred = try time(e["occurred_at"], at: "\(at).occurred_at") else {
            throw fail("\(at).occurred_at", "is missing")
        }
        // "" is allowed: some carriers send events without a code (the status still says what happened).
        guard let code = e["code"].stringValue ?? text(e["code"]) else {
            throw fail("\(at).code", "is missing (the carrier's own event code; \"\" when it has none)")
        }
        return TrackingEvent(occurredAt: occurred, zone: e["zone"].stringValue, status: try status(e["status"], at: "\(at).status"),
                             code: code, subcode: text(e["subcode"]), description: e["description"].stringValue ?? "",
                             location: try location(e["location"], at: "\(at).location"),
                             destination: try location(e["destination"], at: "\(at).destination"),
                             retractsPrevious: e["retracts_previous"].boolValue ?? false)
    }

    func location(_ v: LuaValue, at: String) throws -> EventLocation? {
        if v.isNil { return nil }
        guard let l = v.tableValue else { throw fail(at, "must be a table { facility, city, district, state, country, postal }") }
        let loc = EventLocation(facility: text(l["facility"]), city: text(l["city"]), district: text(l["district"]),
                                state: text(l["state"]), country: text(l["country"]), postalCode: text(l["postal"]))
        return loc.isEmpty ? nil : loc
    }
}
