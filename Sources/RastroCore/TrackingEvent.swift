/// Where an event happened (or where the parcel was sent next).
public struct EventLocation: Sendable, Codable, Hashable {
    public var facility: String?
    public var city: String?
    public var district: String?
    public var state: String?
    public var country: String?
    public var postalCode: String?

    public init(facility: String? = nil, city: String? = nil, district: String? = nil,
                state: String? = nil, country: String? = nil, postalCode: String? = nil) {
        self.facility = facility
        self.city = city
        self.district = district
        self.state = state
        self.country = country
        self.postalCode = postalCode
    }

    public var isEmpty: Bool {
        facility == nil && city == nil && district == nil && state == nil && country == nil && postalCode == nil
    }

    /// "Facility, City, State, Country" with the parts that exist.
    public var summary: String {
        var out = ""
        for part in [facility, city, state, country] {
            guard let part, !part.isEmpty else { continue }
            if !out.isEmpty { out += ", " }
            out += part
        }
        return out
    }
}

/// One tracking event as a carrier script reports it, normalized.
public struct TrackingEvent: Sendable, Codable, Hashable {
    /// When it happened, in UTC.
    public var occurredAt: Timestamp
    /// The zone the carrier's local time was in (IANA name or fixed offset), if known.
    public var zone: String?
    public var status: TrackingStatus
    /// The carrier's own event code (Correios: `codigo`, e.g. "BDE").
    public var code: String
    /// A second carrier code when the carrier needs two (Correios: `tipo`, e.g. "01").
    public var subcode: String?
    public var description: String
    public var location: EventLocation?
    public var destination: EventLocation?
    /// This event withdraws the one before it (Correios `EST`).
    public var retractsPrevious: Bool

    public init(occurredAt: Timestamp, zone: String? = nil, status: TrackingStatus, code: String,
                subcode: String? = nil, description: String, location: EventLocation? = nil,
                destination: EventLocation? = nil, retractsPrevious: Bool = false) {
        self.occurredAt = occurredAt
        self.zone = zone
        self.status = status
        self.code = code
        self.subcode = subcode
        self.description = description
        self.location = location
        self.destination = destination
        self.retractsPrevious = retractsPrevious
    }
}
