/// Why a carrier could not give a result for a tracking number.
public enum CarrierFailureKind: String, Sendable, Codable, CaseIterable {
    /// The carrier does not know the number (yet).
    case notFound = "not_found"
    /// The number is malformed for this carrier.
    case invalidNumber = "invalid_number"
    /// Credentials were refused or the token expired.
    case auth
    /// Too many requests; retry after `retryAfter` seconds.
    case rateLimited = "rate_limited"
    /// A passing fault (5xx, timeout, maintenance): retry with backoff.
    case temporary
    /// The response no longer matches what the script understands. Counts against carrier health.
    case broken
}

/// A typed failure returned by a carrier script.
public struct CarrierFailure: Sendable, Codable, Hashable, Error {
    public var kind: CarrierFailureKind
    public var message: String?
    /// The carrier's own error code, when it gives one.
    public var code: String?
    public var retryAfter: Double?

    public init(kind: CarrierFailureKind, message: String? = nil, code: String? = nil, retryAfter: Double? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
        self.retryAfter = retryAfter
    }
}

/// What a carrier reported for one tracking number.
public struct TrackingResult: Sendable, Codable, Hashable {
    public var status: TrackingStatus
    /// Newest first, as carriers list them.
    public var events: [TrackingEvent]
    public var estimatedDelivery: Timestamp?
    public var deliveredAt: Timestamp?
    public var signedBy: String?

    public init(status: TrackingStatus, events: [TrackingEvent], estimatedDelivery: Timestamp? = nil,
                deliveredAt: Timestamp? = nil, signedBy: String? = nil) {
        self.status = status
        self.events = events
        self.estimatedDelivery = estimatedDelivery
        self.deliveredAt = deliveredAt
        self.signedBy = signedBy
    }
}

/// One tracking number's outcome from a poll.
public enum CarrierOutcome: Sendable, Hashable {
    case tracked(TrackingResult)
    case failed(CarrierFailure)
}
