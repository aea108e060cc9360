import Foundation
import RastroCore

/// A stored carrier response with what rastro recorded from it: the input of a replay.
public struct RecordedResponse: Sendable {
    /// One tracking number the request asked for, as the store knew it at that poll.
    public struct Shipment: Sendable {
        public var shipmentId: Int64
        public var dispatchedAt: Timestamp
        /// Every event stored for the shipment up to and including this poll (recorded_at ≤ received_at), newest first.
        public var events: [EventRecord]
    }

    public var response: RawResponseRecord
    public var poll: PollRecord
    /// The tracking numbers the request asked for, in order.
    public var codes: [String]
    /// By tracking number; a number whose shipment was deleted is missing.
    public var shipments: [String: Shipment]

    public var headers: [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(response.headers.utf8))) ?? [:]
    }
}
