import Foundation
import RastroCore

/// The one place that maps the corpus's vocabulary to rastro's.
///
/// `../shared/corpus/<carrier>/<name>.expected.json` transcribes what another
/// project's tests asserted (see the corpus SOURCES.md). Their words are not
/// ours; this file says how each asserted fact is checked:
///
/// | corpus fact | checked against |
/// |---|---|
/// | `tracking_number` | the result for that code is the one under test |
/// | `delivered` | status is `delivered` |
/// | `status` | our status, through `statusNames` below |
/// | `events` (list) | count (a `1900-01-01` date is karrio's "unreadable time" placeholder and is not checked); per event `code`, `description`, `date`/`time` (our local wall time in the event's zone), `timestamp` (karrio's: that wall time to the second with a `.000Z` it does not mean; `:00` seconds compared to the minute), karrio's per-event `status` unchecked (often the shipment's own), `location` (each comma-separated part is one of our location's fields or their comma-separated parts, or each of its words is a word of our location) |
/// | `estimated_delivery` | our estimated delivery's UTC date, or once delivered the local date of delivery |
/// | `errors` (non-empty) | the outcome is a failure; `code`/`message` when given |
/// | `results[]` without `tracking_number` | nothing asserted: only counted; one error `message`: some failure in the response has it |
/// | `results[]` | each entry as above, against the result for its `tracking_number`; entries sharing a number are matched by position with the shipments the script listed under it (in the carrier's order) |
/// | `_partial.event_count` | number of events |
/// | `_partial.result_count` | number of successful results in the response |
/// | `_partial.codes` | the codes of the successful results |
/// | `_partial["events[N].description"]`, `["events[N].code"]` | that event's field |
/// | `_partial["events[N].timestamp"]` = "parsed as a date-time" | that event exists (ours always have a time) |
/// | `_partial["latest_event.code/description"]` | the newest event's |
/// | `_partial["status.timestamp"]` = "parsed as …" | there is a newest event |
/// | `_partial["expectation.ETAFrom/ETATo"]` = "parsed as …" | an estimated delivery (once delivered, a delivery time) |
/// | `_extra["Response.ResponseStatusDescription"]` = "Success" | not a failure |
/// | a null in `_partial`/`_extra` of a partial-scope file | not asserted (the corpus's convention), except where a row gives null a meaning (location fields, delivery_signature, dates: none) |
/// | `_partial["events[N]"]` object (correios-sro-xml names) | `type`→code, `status`→subcode, `date`+`hour`→local time, `place`→facility, `code`→postal, `city`, `state`, `description` |
/// | `_partial["events[N].destination"]` | the event's destination: `place`, `code`, `city`, `neighborhood`→district, `state` |
/// | `_partial["events[N]"]` = "NotFound…" or `events[0].status.type` = ERROR | the outcome is `not_found` / a failure |
/// | `_partial["events_after_library_sort[].tipo"]` | the multiset of event codes (the order asserted is that library's own sort) |
/// | `_partial.eventos` = null, `_partial.mensagem` present | a failure with a message |
/// | `_partial[<code>]` = "not found …" | the outcome for that code is `not_found` |
/// | `_extra.result` = "nil (object not found)" | a failure |
/// | `_extra.raises` | the library raised: a failure (the exception's name does not give the kind) |
/// | `_extra.exception` (bool) | whether our status is `exception` |
/// | `_extra.delivery_signature` | `signed_by`, case-insensitively; null = none |
/// | `_extra.actual_delivery_date` | `delivered_at` in UTC, or its local wall time (ActiveShipping labels an offset-less time UTC); null = none |
/// | `_extra.scheduled_delivery_date` = null | no estimated delivery |
/// | `_extra.status_code` | the newest event's code, case-insensitively |
/// | `_extra.event_order` = ascending | applied: events compared oldest first |
/// | `_partial["events[-1]…"]` | counted from the end |
/// | `errors` all with `level: warning` beside a tracked result | not an outcome: unchecked |
/// | `errors[]` whose `details.tracking_number` names another number than the result's | about that number (karrio lists a response's messages beside its results): it is not tracked; a failure's `code`/`message` compared; unchecked when the response gives nothing for it |
/// | `estimated_delivery: null` with `_assertion_scope: full` | no estimated delivery (unless delivered) |
/// | `_partial["events[N].timestamp"]` at the Unix epoch | events[N] had no date in the body (ActiveShipping's placeholder); scripts leave undated events out, so facts about it are unchecked and other indexes (and `event_count`) skip it |
/// | `_partial["events[N].location.city/state/country/postal_code"]` | that location field, case-insensitively; a postal code may be the carrier's truncation (area prefix) |
///
/// Source quirks: ActiveShipping (`active_shipping_*` files) lists events oldest
/// first when its `_extra.event_order` says "ascending", upper-cases and shortens
/// descriptions (compared as a case-insensitive prefix), and counts error results
/// in `result_count`; karrio's "HH:MM AM/PM" times drop the meridiem (hour
/// compared modulo 12).
///
/// Facts not in this table are reported as unchecked, never silently passed.
/// Facts a source got wrong are corrected one by one in `CorpusErrata`, never here.
public enum CorpusVocabulary {
    /// Source libraries' status words → ours.
    public static let statusNames: [String: TrackingStatus] = [
        "delivered": .delivered,
        "in_transit": .inTransit,
        "out_for_delivery": .outForDelivery,
        "pending": .pending,
        "on_hold": .exception,              // karrio: held, needs action
        "delivery_failed": .attemptFailed,
        "delivery_delayed": .inTransit,      // late, still moving
        "ready_for_pickup": .availableForPickup,
        "return_to_sender": .returnedToSender,
        "returned_to_sender": .returnedToSender,
        "picked_up": .inTransit,
        "info_received": .infoReceived,
        "exception": .exception,
        "unknown": .pending,
    ]

    /// Source words that cover two of our statuses: karrio has no "info received",
    /// its `pending` is a label or pre-advice the carrier has but no scan yet.
    public static let alsoAccepted: [String: TrackingStatus] = [
        "pending": .infoReceived,
    ]

    /// Corpus bodies carry no HTTP status; error pages were served as errors.
    static func httpStatus(for file: String) -> Int { 200 }

    public struct Verdict: Sendable {
        public var mismatches: [String] = []
        public var unchecked: [String] = []
        /// Facts checked against an erratum's value instead of the corpus's (see `CorpusErrata`).
        public var errata: [CorpusErratum] = []
        public var passed: Bool { mismatches.isEmpty }
        /// How the source library of the case wrote its facts.
        var rules = SourceRules(source: "", expected: .null)
    }

    /// Checks the facts of one `.expected.json`. `errata` (those of this corpus
    /// file) replace the facts they name before anything is compared, so their
    /// values are checked like the corpus's own; an erratum that no longer fits
    /// the corpus is a mismatch.
    public static func check(_ corpusExpected: JSONValue, against given: ParseOutput, source: String = "",
                             errata: [CorpusErratum] = []) -> Verdict {
        var v = Verdict()
        let (expected, stale) = CorpusErrata.apply(errata, to: corpusExpected)
        v.mismatches += stale
        v.errata = errata
        v.rules = SourceRules(source: source, expected: expected)
        // ActiveShipping lists events oldest first (its files say so in _extra.event_order).
        let output = v.rules.ascending ? given.reversingEvents() : given
        if let entries = expected["results"]?.arrayValue {
            for (i, entry) in entries.enumerated() {
                guard let code = entry["tracking_number"]?.stringValue else {
                    checkUnnamed(entry, output: output, label: "results[\(i)]", into: &v)
                    continue
                }
                // A number listed more than once (TNT reuses consignment numbers) is matched
                // by position among the results with that number, against the shipments
                // the script listed under it in the carrier's order.
                let position = entries[..<i].filter { $0["tracking_number"]?.stringValue == code }.count
                let sameNumber = entries.filter { $0["tracking_number"]?.stringValue == code }.count
                let label = "results[\(i)] (\(code)\(sameNumber > 1 ? ", shipment \(position + 1) of \(sameNumber)" : ""))"
                let outcome: CarrierOutcome?
                if sameNumber == 1 {
                    outcome = output.outcome(for: code)
                } else {
                    let shipments = output.shipments(for: code)
                    outcome = position < shipments.count ? shipments[position] : nil
                }
                checkOne(entry, outcome: outcome, output: output, label: label, into: &v)
            }
            checkTopLevel(expected, output: output, into: &v, singleOutcome: nil)
            return v
        }
        let outcome = target(expected, output: output)
        checkOne(expected, outcome: outcome, output: output, label: "", into: &v)
        checkTopLevel(expected, output: output, into: &v, singleOutcome: outcome)
        return v
    }

    /// A `results[]` entry without a tracking number (ActiveShipping's batch): with
    /// nothing asserted it was only counted (`result_count`); an error message must be
    /// some failure's in the response; anything else is unchecked.
    static func checkUnnamed(_ entry: JSONValue, output: ParseOutput, label: String, into v: inout Verdict) {
        let facts = (entry.objectValue ?? [:]).filter { $0.key != "_assertion_scope" && !$0.value.isNull }
        if facts.isEmpty { return }
        let failures: [CarrierFailure] = {
            switch output {
            case .whole(let f): return [f]
            case .perCode(let results, _):
                return results.keys.sorted().flatMap { output.shipments(for: $0) }.compactMap { if case .failed(let f) = $0 { f } else { nil } }
            }
        }()
        var checked: Set<String> = []
        if let errors = entry["errors"]?.arrayValue, errors.count == 1, let message = errors[0]["message"]?.stringValue {
            if !failures.contains(where: { normalize($0.message ?? "") == normalize(message) }) {
                v.mismatches.append("\(label) errors[0].message: expected a failure with \"\(message)\", got \(failures.map { "\"\($0.message ?? "")\"" }.joined(separator: ", "))")
            }
            checked.insert("errors")
            if entry["_extra"]?.objectValue == ["success": .bool(false)] { checked.insert("_extra") }
        }
        for key in facts.keys.sorted() where !checked.contains(key) { v.unchecked.append("\(label) \(key) (no tracking_number)") }
    }

    /// The outcome a single-result expectation is about.
    static func target(_ expected: JSONValue, output: ParseOutput) -> CarrierOutcome? {
        if let code = expected["tracking_number"]?.stringValue { return output.outcome(for: code) }
        switch output {
        case .whole(let f): return .failed(f)
        case .perCode(let results, _):
            if results.count == 1 { return results.first!.value }
            return nil
        }
    }

    static func events(_ outcome: CarrierOutcome?) -> [TrackingEvent]? {
        if case .tracked(let r)? = outcome { return r.events }
        return nil
    }

    static func checkOne(_ e: JSONValue, outcome: CarrierOutcome?, output: ParseOutput, label: String, into v: inout Verdict) {
        let prefix = label.isEmpty ? "" : label + " "
        func miss(_ fact: String, _ expected: String, _ actual: String) {
            v.mismatches.append("\(prefix)\(fact): expected \(expected), got \(actual)")
        }
        let needsOutcome = !(e["delivered"]?.isNull ?? true) || !(e["status"]?.isNull ?? true) || !(e["events"]?.isNull ?? true)
            || !(e["errors"]?.arrayValue?.isEmpty ?? true)
        guard let outcome else {
            if needsOutcome { miss("result", "one result to compare", describe(output)) }
            if let partial = e["_partial"]?.objectValue {
                checkPartial(partial, outcome: nil, output: output, multi: false, label: prefix, into: &v)
            }
            return
        }
        if case .bool(let delivered)? = e["delivered"] {
            let actual: Bool = { if case .tracked(let r) = outcome { return r.status == .delivered } else { return false } }()
            if actual != delivered { miss("delivered", String(delivered), "\(actual) (\(describe(outcome)))") }
        }
        if let word = e["status"]?.stringValue {
            if let status = statusNames[word] {
                if case .tracked(let r) = outcome, r.status == status || alsoAccepted[word] == r.status {} else { miss("status", "\(word) (= \(status.rawValue))", describe(outcome)) }
            } else {
                v.unchecked.append("\(prefix)status \"\(word)\" has no mapping in CorpusVocabulary.statusNames")
            }
        }
        if e["estimated_delivery"] == .null, v.rules.fullScope {
            // karrio compares the whole result with None values dropped: null is "no estimate".
            if case .tracked(let r) = outcome, r.status != .delivered, let eta = r.estimatedDelivery {
                miss("estimated_delivery", "none", eta.iso8601)
            }
        }
        if let eta = e["estimated_delivery"]?.stringValue {
            // karrio fills estimated_delivery with the delivery date once delivered.
            let day = normalizeDate(eta)
            func matches(_ r: TrackingResult) -> Bool {
                r.estimatedDelivery?.iso8601.hasPrefix(day) == true || r.deliveredAt.map { t in
                    r.events.first { $0.occurredAt == t }.map { EventZone.local($0).date == day } ?? t.iso8601.hasPrefix(day)
                } == true
            }
            if case .tracked(let r) = outcome, matches(r) {} else {
                let got: String = { if case .tracked(let r) = outcome { return r.estimatedDelivery?.iso8601 ?? "none" } else { return describe(outcome) } }()
                miss("estimated_delivery", eta, got)
            }
        }
        // karrio returns every message of a response beside its results; an error whose
        // details name another number is about that number's outcome, not this one.
        let allErrors = (e["errors"]?.arrayValue ?? []).enumerated().map { (index: $0.offset, error: $0.element) }
        let ownNumber = e["tracking_number"]?.stringValue
        func named(_ error: JSONValue) -> String? {
            guard let n = error["details"]?["tracking_number"]?.stringValue, let ownNumber, n != ownNumber else { return nil }
            return n
        }
        for (i, error) in allErrors {
            guard let number = named(error) else { continue }
            checkErrorForOtherNumber(error, number: number, output: output, label: "\(prefix)errors[\(i)] (\(number))", into: &v)
        }
        let errors = allErrors.filter { named($0.error) == nil }
        // Errors a library attached as warnings beside a tracked result are not an outcome.
        let warningsOnly = !errors.isEmpty && errors.allSatisfy { $0.error["level"]?.stringValue?.lowercased() == "warning" }
        if warningsOnly, case .tracked = outcome {
            v.unchecked.append("\(prefix)errors (level: warning, beside a tracked result)")
        } else if let (i, first) = errors.first {
            if case .failed(let f) = outcome {
                if let code = first["code"]?.stringValue, f.code != code { miss("errors[\(i)].code", "\"\(code)\"", f.code.map { "\"\($0)\"" } ?? "none") }
                if let message = first["message"]?.stringValue, normalize(f.message ?? "") != normalize(message) {
                    miss("errors[\(i)].message", "\"\(message)\"", "\"\(f.message ?? "")\"")
                }
            } else {
                miss("outcome", "a failure", describe(outcome))
            }
        }
        if let list = e["events"]?.arrayValue {
            guard let actual = events(outcome) else {
                if !list.isEmpty { miss("events", "\(list.count) events", describe(outcome)) }
                return
            }
            if list.count != actual.count { miss("event count", String(list.count), String(actual.count)) }
            for (i, ev) in list.enumerated() where i < actual.count {
                checkEvent(ev, actual[i], label: "\(prefix)events[\(i)]", into: &v)
            }
        }
        if let partial = e["_partial"]?.objectValue {
            checkPartial(partial, outcome: outcome, output: output, multi: false, label: prefix, into: &v)
        }
        if let extra = e["_extra"]?.objectValue {
            for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
                if value.isNull && !v.rules.fullScope && !nullMeansNone.contains(key) { continue } // not asserted
                if !checkExtra(key, value, outcome: outcome, rules: v.rules, miss: { miss("_extra.\(key)", $0, $1) }) {
                    v.unchecked.append("\(prefix)_extra.\(key)")
                }
            }
        }
    }

    /// `_extra` facts whose null the vocabulary reads as "none"; any other null in a
    /// partial-scope file is "not asserted" (the corpus's convention).
    static let nullMeansNone: Set<String> = ["delivery_signature", "scheduled_delivery_date", "actual_delivery_date"]

    /// One `_extra` fact (ActiveShipping's shipment fields, correios-sro-xml's result);
    /// false when the vocabulary has no rule for it.
    static func checkExtra(_ key: String, _ value: JSONValue, outcome: CarrierOutcome, rules: SourceRules,
                           miss: (String, String) -> Void) -> Bool {
        let tracked: TrackingResult? = { if case .tracked(let r) = outcome { return r } else { return nil } }()
        // ActiveShipping notes how it compared: "D (compared case-insensitively)".
        let text = value.stringValue.map { $0.replacingOccurrences(of: #" \(compared case-insensitively\)$"#, with: "", options: .regularExpression) }
        let newest = tracked.flatMap { ShipmentStatus.effectiveTimeline($0.events).last }
        switch key {
        case "result" where text?.contains("not found") == true:
            if case .failed = outcome {} else { miss("a failure (not found)", describe(outcome)) }
        case "event_order":
            // Applied: SourceRules compares such a source's events oldest first.
            return rules.ascending
        case "raises":
            // The library raised instead of returning a result: a failure. Its exception's name
            // does not give the kind (ActiveShipping raises ShipmentNotFound for FedEx's
            // "unable to process, please retry later").
            guard let name = text else { return false }
            if case .failed = outcome {} else { miss("a failure (\(name))", describe(outcome)) }
        case "exception":
            guard case .bool(let want) = value else { return false }
            let got = tracked?.status == .exception
            if got != want { miss(String(want), "status \(tracked?.status.rawValue ?? describe(outcome))") }
        case "delivery_signature":
            let got = tracked?.signedBy
            if let want = text {
                if got?.lowercased() != want.lowercased() { miss("\"\(want)\"", got.map { "\"\($0)\"" } ?? "none") }
            } else if value.isNull, let got { miss("none", "\"\(got)\"") }
        case "scheduled_delivery_date" where value.isNull:
            if let eta = tracked?.estimatedDelivery { miss("none", eta.iso8601) }
        case "actual_delivery_date":
            // ActiveShipping keeps the carrier's wall time and calls it UTC: compared with the
            // delivery's local time (in the zone of the event at that moment).
            if value.isNull {
                if let at = tracked?.deliveredAt { miss("none", at.iso8601) }
            } else if let want = text {
                // UTC when the carrier wrote an offset (FedEx), else its wall time (USPS).
                guard let r = tracked, let at = r.deliveredAt else { miss(want, "none"); break }
                let zone = r.events.first { $0.occurredAt == at }?.zone ?? newest?.zone
                let local = wallTime(at.components(offsetSeconds: EventZone.offsetSeconds(zone, at: at)))
                if want != at.iso8601 && !want.hasPrefix(local) { miss(want, "\(at.iso8601) (\(local) local)") }
            } else { return false }
        case "Response.ResponseStatusDescription":
            // UPS's own verdict on the request: "Success" is a tracked result.
            guard text == "Success" else { return false }
            if case .failed = outcome { miss("a result (Success)", describe(outcome)) }
        case "status_code":
            // The shipment's current status code: the newest event's.
            guard let want = text else { return false }
            if newest?.code.lowercased() != want.lowercased() { miss("\"\(want)\"", newest.map { "\"\($0.code)\"" } ?? describe(outcome)) }
        default:
            return false
        }
        return true
    }

    /// An error the source attached to one result but whose `details.tracking_number`
    /// names another number: that number must not be tracked; when we have a failure
    /// for it, its code and message are compared; when the response gave us nothing
    /// for it (the number appears only inside another number's result), it is unchecked.
    static func checkErrorForOtherNumber(_ error: JSONValue, number: String, output: ParseOutput, label: String, into v: inout Verdict) {
        let outcome: CarrierOutcome?
        switch output {
        case .whole(let f): outcome = .failed(f)
        case .perCode(let results, _): outcome = results[number]
        }
        switch outcome {
        case nil:
            v.unchecked.append("\(label): no result for that number (the body names it only inside another number's result)")
        case .tracked?:
            v.mismatches.append("\(label): expected a failure, got \(describe(outcome))")
        case .failed(let f)?:
            if let code = error["code"]?.stringValue, f.code != code {
                v.mismatches.append("\(label).code: expected \"\(code)\", got \(f.code.map { "\"\($0)\"" } ?? "none")")
            }
            if let message = error["message"]?.stringValue, normalize(f.message ?? "") != normalize(message) {
                v.mismatches.append("\(label).message: expected \"\(message)\", got \"\(f.message ?? "")\"")
            }
        }
    }

    static func checkTopLevel(_ e: JSONValue, output: ParseOutput, into v: inout Verdict, singleOutcome: CarrierOutcome?) {
        guard let partial = e["_partial"]?.objectValue, e["results"] != nil else { return }
        checkPartial(partial, outcome: nil, output: output, multi: true, label: "", into: &v)
    }

    static func successes(_ output: ParseOutput) -> [String] {
        guard case .perCode(let results, _) = output else { return [] }
        // One entry per tracked shipment: a number answered twice counts twice.
        return results.keys.sorted().flatMap { code in
            output.shipments(for: code).filter { if case .tracked = $0 { true } else { false } }.map { _ in code }
        }
    }

    static func checkPartial(_ partial: [String: JSONValue], outcome: CarrierOutcome?, output: ParseOutput,
                             multi: Bool, label: String, into v: inout Verdict) {
        func miss(_ fact: String, _ expected: String, _ actual: String) {
            v.mismatches.append("\(label)\(fact): expected \(expected), got \(actual)")
        }
        // Events the source dated to the Unix epoch had no date in the body: ours need
        // a time, so scripts leave them out; facts about them are not checked and the
        // indexes of the others skip them.
        let undated = Set(partial.compactMap { key, value -> Int? in
            guard let (index, field) = eventKey(key), field == "timestamp", value.stringValue.map(isEpoch) == true else { return nil }
            return index
        })
        func ourIndex(_ index: Int) -> Int {
            index < 0 ? index + undated.filter { $0 < 0 && $0 > index }.count : index - undated.filter { $0 >= 0 && $0 < index }.count
        }
        for (key, value) in partial.sorted(by: { $0.key < $1.key }) {
            if key == "result_count" || key == "codes" {
                if !label.isEmpty { continue } // a per-result entry: counted at the top level
                let codes = successes(output)
                let counted: Int = {
                    // ActiveShipping counts every TrackInfo, errors included.
                    if v.rules.activeShipping, case .perCode(let all, _) = output { return all.keys.reduce(0) { $0 + output.shipments(for: $1).count } }
                    return codes.count
                }()
                if key == "result_count", case .number(let n) = value, Int(n) != counted {
                    miss("result count", String(Int(n)), "\(counted) (\(codes.joined(separator: ", ")))")
                }
                if key == "codes", let want = value.arrayValue?.compactMap(\.stringValue), want.sorted() != codes {
                    miss("codes", want.sorted().joined(separator: ", "), codes.joined(separator: ", "))
                }
                continue
            }
            if multi {
                // Top-level partials of a multi-result expectation: only per-code "not found" notes remain.
                if let text = value.stringValue, text.lowercased().contains("not found") {
                    let o = output.outcome(for: key)
                    if case .failed(let f) = o, f.kind == .notFound {} else { miss("\(key)", "not_found", describe(o)) }
                } else {
                    v.unchecked.append("_partial.\(key)")
                }
                continue
            }
            let evs = events(outcome) ?? []
            if value.isNull, !v.rules.fullScope, key != "eventos", eventKey(key)?.1?.hasPrefix("location.") != true { continue } // not asserted
            let newest = events(outcome).flatMap { ShipmentStatus.effectiveTimeline($0).last }
            switch key {
            case "latest_event.code":
                if let s = value.stringValue, newest?.code != s { miss(key, "\"\(s)\"", newest.map { "\"\($0.code)\"" } ?? describe(outcome)) }
            case "latest_event.description":
                if let s = value.stringValue, !(newest.map { v.rules.descriptionMatches(s, $0.description) } ?? false) {
                    miss(key, "\"\(s)\"", newest.map { "\"\($0.description)\"" } ?? describe(outcome))
                }
            case "status.timestamp" where value.stringValue?.hasPrefix("parsed as") == true:
                // The current status has a time: ours is the newest event's.
                if newest == nil { miss(key, "a current status with a time", describe(outcome)) }
            case "expectation.ETAFrom/ETATo" where value.stringValue?.hasPrefix("parsed as") == true:
                // Once delivered, the delivery time stands for the estimate (as for karrio's estimated_delivery).
                if case .tracked(let r)? = outcome, r.estimatedDelivery != nil || (r.status == .delivered && r.deliveredAt != nil) {} else {
                    miss(key, "an estimated delivery", "none (\(describe(outcome)))")
                }
            case "event_count":
                if case .number(let n) = value, Int(n) - undated.count != evs.count {
                    miss("event count", String(Int(n)) + (undated.isEmpty ? "" : " (\(undated.count) undated, left out)"), "\(evs.count) (\(describe(outcome)))")
                }
            case "eventos" where value.isNull:
                if !evs.isEmpty { miss("eventos", "none", "\(evs.count) events") }
            case "mensagem":
                if case .failed(let f)? = outcome, f.message?.isEmpty == false {} else { miss("mensagem", "a failure with a message", describe(outcome)) }
            case "events_after_library_sort[].tipo":
                let want = (value.arrayValue ?? []).compactMap(\.stringValue).sorted()
                let got = evs.map(\.code).sorted()
                if want != got { miss("event codes (as a multiset)", want.joined(separator: ","), got.joined(separator: ",")) }
            case "events[0].status.type":
                if value.stringValue == "ERROR" { if case .failed? = outcome {} else { miss(key, "a failure", describe(outcome)) } }
                else { v.unchecked.append("\(label)_partial.\(key)") }
            case "events[0].status.status":
                v.unchecked.append("\(label)_partial.\(key) (the library's own numbering)")
            default:
                if let (sourceIndex, field) = eventKey(key) {
                    if undated.contains(sourceIndex) {
                        v.unchecked.append("\(label)_partial.\(key) (an undated event: the source's epoch placeholder; scripts leave events without a time out)")
                        continue
                    }
                    let rawIndex = ourIndex(sourceIndex)
                    let index = rawIndex < 0 ? evs.count + rawIndex : rawIndex
                    if let text = value.stringValue, field == nil, text.contains("NotFound") {
                        if case .failed(let f)? = outcome, f.kind == .notFound {} else { miss(key, "not_found", describe(outcome)) }
                        continue
                    }
                    guard index >= 0, index < evs.count else { miss(key, "event \(index) to exist", "\(evs.count) events (\(describe(outcome)))"); continue }
                    let ev = evs[index]
                    switch field {
                    case nil:
                        if let object = value.objectValue { checkSROEvent(object, ev, label: "\(label)\(key)", into: &v) }
                        else { v.unchecked.append("\(label)_partial.\(key)") }
                    case "description"?:
                        if let s = value.stringValue, normalize(s) != normalize(ev.description) { miss(key, "\"\(s)\"", "\"\(ev.description)\"") }
                    case "code"?:
                        if let s = value.stringValue, s != ev.code { miss(key, "\"\(s)\"", "\"\(ev.code)\"") }
                    case "timestamp"? where value.stringValue?.hasPrefix("parsed as") == true:
                        break // the event exists (checked above) and every event of ours has a time
                    case "destination"?:
                        if let object = value.objectValue { checkLocation(object, ev.destination, label: "\(label)\(key)", into: &v) }
                    case let f? where f.hasPrefix("location."):
                        let fields: [String: String?] = ["location.city": ev.location?.city, "location.state": ev.location?.state,
                                                         "location.country": ev.location?.country, "location.postal_code": ev.location?.postalCode]
                        if value.isNull, let got = fields[f] {
                            if let got { miss(key, "none", "\"\(got)\"") }
                        } else if let want = value.stringValue, let got = fields[f] {
                            // A postal code the carrier cut to its area (K1N for K1N5X8) is the same place.
                            let prefixOK = f == "location.postal_code" && got.map { !$0.isEmpty && want.uppercased().hasPrefix($0.uppercased()) } == true
                            if got?.lowercased() != want.lowercased() && !prefixOK { miss(key, "\"\(want)\"", got.map { "\"\($0)\"" } ?? "none") }
                        } else { v.unchecked.append("\(label)_partial.\(key)") }
                    default:
                        v.unchecked.append("\(label)_partial.\(key)")
                    }
                } else {
                    v.unchecked.append("\(label)_partial.\(key)")
                }
            }
        }
    }

    /// ActiveShipping's time for an event whose EventDate/EventTime were empty.
    static func isEpoch(_ text: String) -> Bool {
        text.hasPrefix("1970-01-01T00:00:00")
    }

    /// "events[3].destination" → (3, "destination"); "events[0]" → (0, nil); "events[-1]" → (-1, nil): the last
    static func eventKey(_ key: String) -> (Int, String?)? {
        guard key.hasPrefix("events["), let close = key.firstIndex(of: "]") else { return nil }
        guard let index = Int(key[key.index(key.startIndex, offsetBy: 7)..<close]) else { return nil }
        let rest = key[key.index(after: close)...]
        if rest.isEmpty { return (index, nil) }
        guard rest.hasPrefix(".") else { return nil }
        return (index, String(rest.dropFirst()))
    }

    /// An event in the correios-sro-xml gem's names.
    static func checkSROEvent(_ e: [String: JSONValue], _ ev: TrackingEvent, label: String, into v: inout Verdict) {
        func miss(_ f: String, _ want: String, _ got: String?) { v.mismatches.append("\(label).\(f): expected \"\(want)\", got \(got.map { "\"\($0)\"" } ?? "none")") }
        let local = localComponents(ev)
        for (key, value) in e.sorted(by: { $0.key < $1.key }) {
            guard let want = value.stringValue else { continue }
            switch key {
            case "type": if want != ev.code { miss(key, want, ev.code) }
            case "status": if want != ev.subcode { miss(key, want, ev.subcode) }
            case "description": if normalize(want) != normalize(ev.description) { miss(key, want, ev.description) }
            case "date": if normalizeDate(want) != local.date { miss(key, want, local.date) }
            case "hour": if want != local.time { miss(key, want, local.time) }
            case "place": if want != ev.location?.facility { miss(key, want, ev.location?.facility) }
            case "code": if want != ev.location?.postalCode { miss(key, want, ev.location?.postalCode) }
            case "city": if want != ev.location?.city { miss(key, want, ev.location?.city) }
            case "state": if want != ev.location?.state { miss(key, want, ev.location?.state) }
            default: v.unchecked.append("\(label).\(key)")
            }
        }
    }

    static func checkLocation(_ e: [String: JSONValue], _ loc: EventLocation?, label: String, into v: inout Verdict) {
        let fields: [String: String?] = ["place": loc?.facility, "code": loc?.postalCode, "city": loc?.city,
                                         "neighborhood": loc?.district, "state": loc?.state]
        for (key, value) in e.sorted(by: { $0.key < $1.key }) {
            guard let want = value.stringValue else { continue }
            guard let got = fields[key] else { v.unchecked.append("\(label).\(key)"); continue }
            if got != want { v.mismatches.append("\(label).\(key): expected \"\(want)\", got \(got.map { "\"\($0)\"" } ?? "none")") }
        }
    }

    /// An event in karrio's / ActiveShipping's names.
    static func checkEvent(_ e: JSONValue, _ ev: TrackingEvent, label: String, into v: inout Verdict) {
        func miss(_ f: String, _ want: String, _ got: String) { v.mismatches.append("\(label).\(f): expected \(want), got \(got)") }
        let local = localComponents(ev)
        if let code = e["code"]?.stringValue, code != ev.code { miss("code", "\"\(code)\"", "\"\(ev.code)\"") }
        if let d = e["description"]?.stringValue, !v.rules.descriptionMatches(d, ev.description) {
            miss("description", "\"\(d)\"", "\"\(ev.description)\"")
        }
        // karrio writes 1900-01-01 00:00 when it could not read a carrier's time: not an assertion.
        let placeholder = e["date"]?.stringValue == "1900-01-01"
        if placeholder { v.unchecked.append("\(label).date/time (karrio's 1900-01-01 placeholder)") }
        if !placeholder, let date = e["date"]?.stringValue, normalizeDate(date) != local.date { miss("date", date, local.date) }
        if !placeholder, let time = e["time"]?.stringValue, !timeMatches(time, local) { miss("time", time, local.time) }
        if let place = e["location"]?.stringValue {
            // Our fields, and their comma-separated parts ("1785 FROBISHER ST, UNIT C" in facility).
            let fields = [ev.location?.facility, ev.location?.city, ev.location?.district, ev.location?.state,
                          ev.location?.country, ev.location?.postalCode].compactMap { $0?.lowercased() }
            let ours = fields + fields.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            // A part that is none of our fields still matches when each of its words is a word of
            // ours: karrio joins a depot code and its name with "-" and keeps CDATA whitespace
            // ("PNA-\n   Pamplona" for our "Pamplona (PNA)").
            let ourWords = Set(fields.flatMap(words))
            let missing = place.split(separator: ",").map { normalize(String($0)).lowercased() }
                .filter { !$0.isEmpty && !ours.contains($0) && !ours.contains(where: { $0.contains(" ") && $0 == place.lowercased() })
                    && !Set(words($0)).isSubset(of: ourWords) }
            if !missing.isEmpty { miss("location", "\"\(place)\"", "\"\(ev.location?.summary ?? "")\"") }
        }
        // karrio's event timestamp is the carrier's wall time with a ".000Z" it does not mean.
        if !placeholder, let stamp = e["timestamp"]?.stringValue {
            if !timestampMatches(stamp, local, meridiem: e["time"]?.stringValue) { miss("timestamp", stamp, wallTime(local)) }
        }
        for key in (e.objectValue ?? [:]).keys.sorted() where !["code", "description", "date", "time", "location", "timestamp"].contains(key) {
            guard e[key]?.isNull == false else { continue }
            // karrio's per-event status is its own table's, and some connectors copy the
            // shipment's status onto every event (australiapost: all "delivered").
            v.unchecked.append("\(label).\(key)" + (key == "status" ? " (karrio's own per-event status)" : ""))
        }
    }

    /// "2021-01-21T11:04:27.000Z" against our local wall time to the second. When the
    /// event's karrio `time` carries a meridiem, karrio read the hour with %H and dropped
    /// it, so the hour is compared modulo 12 (see `timeMatches`).
    static func timestampMatches(_ expected: String, _ local: Timestamp.Components, meridiem time: String?) -> Bool {
        var stamp = String(expected.prefix(19))
        var ours = wallTime(local)
        // Built from an HH:MM reading, karrio's seconds are 00: compared to the minute.
        if stamp.hasSuffix(":00") { stamp = String(stamp.prefix(16)); ours = String(ours.prefix(16)) }
        if stamp == ours { return true }
        let upper = time?.uppercased() ?? ""
        guard upper.hasSuffix("AM") || upper.hasSuffix("PM"), let h = Int(stamp.dropFirst(11).prefix(2)) else { return false }
        var shifted = local
        shifted.hour = h
        return h % 12 == local.hour % 12 && wallTime(shifted).hasPrefix(stamp)
    }

    /// "2021-01-21T11:04:27": local date and time to the second.
    static func wallTime(_ c: Timestamp.Components) -> String {
        c.date + "T" + c.time + ":" + (c.second < 10 ? "0" : "") + String(c.second)
    }

    /// The wall-clock time the carrier printed: UTC shifted into the event's zone.
    static func localComponents(_ ev: TrackingEvent) -> Timestamp.Components { EventZone.local(ev) }

    /// karrio prints "HH:MM AM/PM" but reads the hour with %H and drops the
    /// meridiem, so "10:45 pm" comes out as "10:45 AM": with a suffix, the hour
    /// is compared modulo 12.
    static func timeMatches(_ expected: String, _ local: Timestamp.Components) -> Bool {
        let hhmm = String(expected.prefix(5))
        if hhmm == local.time { return true }
        let upper = expected.uppercased()
        guard upper.hasSuffix("AM") || upper.hasSuffix("PM"), let h = Int(hhmm.prefix(2)) else { return false }
        return h % 12 == local.hour % 12 && hhmm.suffix(2) == local.time.suffix(2)
    }

    /// How one source library wrote its facts.
    struct SourceRules {
        var activeShipping: Bool
        var ascending: Bool
        /// The source compared its whole result (`_assertion_scope: full`): a null is "the parser gave nothing".
        var fullScope: Bool

        init(source: String, expected: JSONValue) {
            activeShipping = source.hasPrefix("active_shipping")
            fullScope = expected["_assertion_scope"]?.stringValue == "full"
            // ActiveShipping always sorts events oldest first; others say so when they do.
            ascending = activeShipping || expected["_extra"]?["event_order"]?.stringValue?.contains("ascending") == true
        }

        /// ActiveShipping upper-cases messages and keeps only their first words
        /// ("DELIVERED" for "Delivered, In/At Mailbox").
        func descriptionMatches(_ expected: String, _ ours: String) -> Bool {
            let e = CorpusVocabulary.normalize(expected), o = CorpusVocabulary.normalize(ours)
            if e == o { return true }
            return activeShipping && o.lowercased().hasPrefix(e.lowercased())
        }
    }

    /// Lower-cased runs of letters and digits.
    static func words(_ s: String) -> [String] {
        s.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    /// "26/12/2016" → "2016-12-26"; ISO dates unchanged.
    static func normalizeDate(_ s: String) -> String {
        let parts = s.split(separator: "/")
        if parts.count == 3, parts[2].count == 4 { return "\(parts[2])-\(parts[1])-\(parts[0])" }
        return String(s.prefix(10))
    }

    static func normalize(_ s: String) -> String {
        s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func describe(_ outcome: CarrierOutcome?) -> String {
        switch outcome {
        case nil: return "no result"
        case .tracked(let r)?: return "\(r.status.rawValue) with \(r.events.count) events"
        case .failed(let f)?: return "failure \(f.kind.rawValue)" + (f.message.map { " (\($0))" } ?? "")
        }
    }

    static func describe(_ output: ParseOutput) -> String {
        switch output {
        case .whole(let f): return "whole-response failure \(f.kind.rawValue)"
        case .perCode(let r, _): return "\(r.count) results (\(r.keys.sorted().joined(separator: ", ")))"
        }
    }
}
