import Foundation

/// Corpus facts whose source got the carrier's body wrong.
///
/// The corpus transcribes what another project asserted; now and then that
/// project misread the body (a status taken from the oldest event, events it
/// never looked for, a typo in its own test). Such a fact cannot be fixed in
/// the vocabulary without weakening it for every other case, and must not be
/// fixed in the carrier script, which would then be wrong. An erratum replaces
/// the one fact, in one corpus file, with the value rastro asserts instead:
///
/// - keyed by the corpus file (`<carrier>/<name>.<ext>`) and the fact's path in
///   its `.expected.json` (`status`, `results[0].events`, `errors[0].message`);
/// - it applies only while the corpus still asserts `corpus` there; if the
///   corpus changes, the case fails until the erratum is revisited;
/// - `rastro` is written in the source's own words (karrio's `delivery_failed`,
///   not our `attempt_failed`) and is checked through `CorpusVocabulary` like
///   any other fact: a wrong erratum value fails the case;
/// - `reason` says, in one line, what the body or the carrier's documentation
///   shows.
///
/// `rastro carrier test` reports these facts on the case's line
/// (`ok  corpus/bpost/x.xml  (2 facts by erratum: delivered, status)`) and
/// counts them on its last line. Keep this table short: prefer a script fix or
/// a general vocabulary row whenever the source's reading is defensible.
///
/// | file | fact | source asserted | rastro asserts | why |
/// |---|---|---|---|---|
/// | australiapost/karrio_auspost_track.json | results[0].events | 0 events | the body's 8 | karrio reads `trackable_items[].events`, not a consignment's `items[].events` |
/// | bpost/karrio_bpost_item_tracking.xml | delivered, status | false, in_transit | true, delivered | karrio takes the status from the oldest stateInfo; the newest is U01 at the body's deliveryTime |
/// | dhl_universal/karrio_dhl_unified_tracking.json | status | in_transit | info_received | karrio's fallback for a statusCode its table lacks; DHL's `pre-transit` is "awaiting shipment" |
/// | dpd/karrio_dpd_parcel_lifecycle.xml | status | out_for_delivery | delivery_failed | the current ReturningFromDelivery says the parcel is back at the depot after an unsuccessful attempt |
/// | fedex/active_shipping_fedex_multiple_results.xml | errors[0].message | "…unqiue…" | "…unique…" | a typo in ActiveShipping's own message text |
/// | fedex/karrio_fedex_ws_track_reply.xml | estimated_delivery | 2016-11-17 | none | that date is the ANTICIPATED_TENDER (hand-over to FedEx), not a delivery estimate |
public struct CorpusErratum: Sendable, Hashable {
    /// `<carrier>/<name>.<ext>`, relative to the corpus folder.
    public var file: String
    /// The fact's path in the `.expected.json`: keys separated by `.`, list indexes as `[N]`.
    public var fact: String
    /// What the source asserted; the erratum applies only while the corpus says this.
    public var corpus: JSONValue
    /// What rastro asserts instead, in the source's vocabulary.
    public var rastro: JSONValue
    /// One line: what the body or the carrier's documentation shows.
    public var reason: String

    public init(file: String, fact: String, corpus: JSONValue, rastro: JSONValue, reason: String) {
        self.file = file
        self.fact = fact
        self.corpus = corpus
        self.rastro = rastro
        self.reason = reason
    }

    public var carrier: String { String(file.prefix { $0 != "/" }) }
}

public enum CorpusErrata {
    /// Every erratum. Each one is a fact a source got wrong, never a way to make a case pass.
    public static let all: [CorpusErratum] = [
        CorpusErratum(
            file: "australiapost/karrio_auspost_track.json", fact: "results[0].events",
            corpus: .array([]),
            rastro: .array([
                auspost("2021-02-03", "08:08", "Processed by air carrier"),
                auspost("2021-01-29", "11:31", "Processed by air carrier"),
                auspost("2021-01-29", "04:54", "Processed by air carrier"),
                auspost("2021-01-28", "01:59", "Cleared and awaiting international departure", "BRISBANE QLD"),
                auspost("2021-01-27", "23:51", "Arrived at facility", "BRISBANE QLD"),
                auspost("2021-01-27", "11:06", "Received by Australia Post", "BEENLEIGH QLD"),
                auspost("2021-01-27", "03:04", "Shipping information approved by Australia Post"),
                auspost("2021-01-27", "00:22", "Shipping information received by Australia Post"),
            ]),
            reason: "the body has 8 events for ET123456789AU under trackable_items[0].items[0].events (a consignment's items); karrio reads only trackable_items[].events"),
        CorpusErratum(
            file: "bpost/karrio_bpost_item_tracking.xml", fact: "delivered",
            corpus: .bool(false), rastro: .bool(true),
            reason: "the newest stateInfo is U01 \"DistributedNormally - regular\" at the body's deliveryTime 2012-11-23T09:31:07; karrio reads the status from the oldest one (T00)"),
        CorpusErratum(
            file: "bpost/karrio_bpost_item_tracking.xml", fact: "status",
            corpus: .string("in_transit"), rastro: .string("delivered"),
            reason: "same as delivered: karrio's in_transit is its reading of the oldest stateInfo, T00 \"Sorted\""),
        CorpusErratum(
            file: "dhl_universal/karrio_dhl_unified_tracking.json", fact: "status",
            corpus: .string("in_transit"), rastro: .string("info_received"),
            reason: "statusCode is \"pre-transit\", DHL's \"currently awaiting shipment, and tracking will be updated when received\"; in_transit is karrio's fallback for a code its table (delivered, transit, failure, unknown) lacks"),
        CorpusErratum(
            file: "dpd/karrio_dpd_parcel_lifecycle.xml", fact: "status",
            corpus: .string("out_for_delivery"), rastro: .string("delivery_failed"),
            reason: "the current statusInfo is ReturningFromDelivery, which DPD describes in the body as \"After an unsuccessful delivery attempt the parcel is back at the recipient depot.\"; karrio files it with Courier under out_for_delivery"),
        CorpusErratum(
            file: "fedex/active_shipping_fedex_multiple_results.xml", fact: "errors[0].message",
            corpus: .string("Multiple matches were found. Specify a unqiue identifier: 2456987000~123456789012~FX, 2456979001~123456789012~FX, 2456979000~123456789012~FX"),
            rastro: .string("Multiple matches were found. Specify a unique identifier: 2456987000~123456789012~FX, 2456979001~123456789012~FX, 2456979000~123456789012~FX"),
            reason: "\"unqiue\" is a typo in ActiveShipping's own message, not in the body; the identifiers are the body's three TrackingNumberUniqueIdentifier"),
        CorpusErratum(
            file: "fedex/karrio_fedex_ws_track_reply.xml", fact: "estimated_delivery",
            corpus: .string("2016-11-17"), rastro: .null,
            reason: "the body's only date besides the scans is DatesOrTimes ANTICIPATED_TENDER, which FedEx defines as when the shipper is expected to hand the package over, not an estimated delivery"),
    ]

    private static func auspost(_ date: String, _ time: String, _ description: String, _ location: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["date": .string(date), "time": .string(time), "description": .string(description)]
        if let location { o["location"] = .string(location) }
        return .object(o)
    }

    /// The errata for one corpus file.
    public static func errata(for file: String, in table: [CorpusErratum] = all) -> [CorpusErratum] {
        table.filter { $0.file == file }
    }

    /// `expected` with each erratum's fact replaced by rastro's value, and the
    /// problems with errata that no longer fit the corpus (path gone, or the
    /// source now asserts something else).
    public static func apply(_ errata: [CorpusErratum], to expected: JSONValue) -> (JSONValue, problems: [String]) {
        var doc = expected
        var problems: [String] = []
        for erratum in errata {
            guard let path = FactPath(erratum.fact) else {
                problems.append("erratum \(erratum.fact): not a fact path (keys separated by '.', indexes as [N])")
                continue
            }
            guard let current = path.value(in: doc) else {
                problems.append("erratum \(erratum.fact): the corpus has no such fact")
                continue
            }
            guard current == erratum.corpus else {
                problems.append("erratum \(erratum.fact): written for the corpus value \(erratum.corpus), the corpus now asserts \(current)")
                continue
            }
            doc = path.replacing(in: doc, with: erratum.rastro)
        }
        return (doc, problems)
    }
}

/// `results[0].events`, `errors[0].message`, `status`: a path into a JSON document.
struct FactPath: Sendable, Hashable {
    enum Step: Sendable, Hashable { case key(String), index(Int) }
    var steps: [Step]

    init?(_ text: String) {
        var steps: [Step] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            let key = rest.prefix { $0 != "[" }
            guard !key.isEmpty else { return nil }
            steps.append(.key(String(key)))
            rest = rest.dropFirst(key.count)
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]"),
                      let i = Int(rest[rest.index(after: rest.startIndex)..<close]), i >= 0 else { return nil }
                steps.append(.index(i))
                rest = rest[rest.index(after: close)...]
            }
        }
        guard !steps.isEmpty else { return nil }
        self.steps = steps
    }

    func value(in doc: JSONValue) -> JSONValue? {
        var node = doc
        for step in steps {
            switch step {
            case .key(let k):
                guard let next = node[k] else { return nil }
                node = next
            case .index(let i):
                guard let a = node.arrayValue, i < a.count else { return nil }
                node = a[i]
            }
        }
        return node
    }

    /// The document with the value at this path replaced (the path must exist).
    func replacing(in doc: JSONValue, with value: JSONValue) -> JSONValue {
        func go(_ node: JSONValue, _ rest: ArraySlice<Step>) -> JSONValue {
            guard let step = rest.first else { return value }
            switch (step, node) {
            case (.key(let k), .object(var o)):
                if let child = o[k] { o[k] = go(child, rest.dropFirst()) }
                return .object(o)
            case (.index(let i), .array(var a)) where i < a.count:
                a[i] = go(a[i], rest.dropFirst())
                return .array(a)
            default:
                return node
            }
        }
        return go(doc, steps[...])
    }
}
