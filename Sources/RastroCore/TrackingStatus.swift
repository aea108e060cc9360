/// The normalized status of a shipment or of one of its events.
///
/// The carrier's own code and text always travel beside it; this is only what
/// rastro decides they mean.
public enum TrackingStatus: String, Sendable, Codable, CaseIterable, Hashable {
    /// Registered, no carrier data yet.
    case pending
    case infoReceived = "info_received"
    case inTransit = "in_transit"
    case outForDelivery = "out_for_delivery"
    case availableForPickup = "available_for_pickup"
    case attemptFailed = "attempt_failed"
    case delivered
    case exception
    case returnedToSender = "returned_to_sender"
    /// The tracking window ended without a delivery.
    case expired

    /// Terminal statuses stop polling.
    public var isTerminal: Bool {
        switch self {
        case .delivered, .returnedToSender, .expired: true
        default: false
        }
    }
}
