import RastroCore

/// The tracking API of the demo carrier, served by rastro itself so the quick
/// start shows parcels moving with no carrier account and no network.
///
/// A tracking number `DEMO-<SCENARIO>-<anything>` walks through the scenario's
/// events, one every few seconds after the shipment's dispatch time; the
/// `carriers/demo` script polls this feed over real HTTP like any carrier.
public enum DemoCarrierFeed {
    struct Step {
        let after: Int64
        let code: String
        let text: String
        let city: String
        let state: String
    }

    static let posted = Step(after: 0, code: "PO", text: "Label created, parcel posted", city: "São Paulo", state: "SP")
    static let sorted = Step(after: 10, code: "AF", text: "Arrived at the sorting centre", city: "São Paulo", state: "SP")
    static let moving = Step(after: 25, code: "TR", text: "In transit to the destination hub", city: "Curitiba", state: "PR")
    static func outForDelivery(_ after: Int64) -> Step { Step(after: after, code: "OD", text: "Out for delivery", city: "Curitiba", state: "PR") }
    static func attempt(_ after: Int64) -> Step { Step(after: after, code: "NA", text: "Delivery attempt failed: nobody at the address", city: "Curitiba", state: "PR") }

    static let scenarios: [String: [Step]] = [
        "DELIVERED": [posted, sorted, moving, outForDelivery(40),
                      Step(after: 55, code: "DL", text: "Delivered, signed by the recipient", city: "Curitiba", state: "PR")],
        "EXCEPTION": [posted, sorted, moving, outForDelivery(40), attempt(50),
                      Step(after: 60, code: "EX", text: "Address not found, parcel held at the depot", city: "Curitiba", state: "PR")],
        "RETURNED": [posted, sorted, moving, outForDelivery(40), attempt(50),
                     Step(after: 65, code: "RS", text: "Returned to the sender", city: "São Paulo", state: "SP")],
        "PICKUP": [posted, sorted, moving,
                   Step(after: 40, code: "PU", text: "Available for pickup at the post office", city: "Curitiba", state: "PR")],
        // Never moves past posting: shows a shipment expiring at the end of its window.
        "STUCK": [posted],
    ]

    /// Tracking numbers that show every scenario, for `rastro serve --demo`.
    public static let sampleNumbers = ["DEMO-DELIVERED-1", "DEMO-EXCEPTION-1", "DEMO-RETURNED-1", "DEMO-PICKUP-1"]

    public struct Event: Codable, Sendable, Equatable {
        public var time: String
        public var code: String
        public var text: String
        public var city: String
        public var state: String
    }

    public struct Parcel: Codable, Sendable, Equatable {
        public var code: String
        public var events: [Event]?
        public var error: String?
    }

    public struct Answer: Codable, Sendable, Equatable {
        public var parcels: [Parcel]
    }

    /// What the feed says at `now` about each (number, dispatch time); newest event first.
    public static func answer(for queries: [(code: String, dispatchedAt: Timestamp)], now: Timestamp) -> Answer {
        Answer(parcels: queries.map { query in
            let parts = query.code.split(separator: "-")
            guard parts.count >= 2, parts[0] == "DEMO", let steps = scenarios[String(parts[1])] else {
                return Parcel(code: query.code, events: nil, error: "not_found")
            }
            let events = steps.filter { query.dispatchedAt + .seconds($0.after) <= now }.reversed().map { step in
                Event(time: (query.dispatchedAt + .seconds(step.after)).iso8601, code: step.code, text: step.text, city: step.city, state: step.state)
            }
            return Parcel(code: query.code, events: Array(events), error: nil)
        })
    }
}
