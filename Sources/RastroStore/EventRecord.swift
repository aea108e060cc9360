import Foundation
import GRDB
import RastroCore

/// A tracking event as stored: the normalized event, its identity and where it came from.
public struct EventRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "event"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public enum Source: String, Codable, Sendable, DatabaseValueConvertible { case poll, push, manual }

    public var id: Int64?
    public var shipmentId: Int64
    public var identity: String
    public var occurredAt: Timestamp
    public var zone: String?
    public var status: TrackingStatus
    public var code: String
    public var subcode: String?
    public var description: String
    public var facility: String?
    public var city: String?
    public var district: String?
    public var state: String?
    public var country: String?
    public var postalCode: String?
    /// JSON of the destination location, when the carrier gives one.
    public var destination: String?
    public var retractsPrevious: Bool
    public var source: Source
    public var pollId: Int64?
    public var recordedAt: Timestamp

    public init(shipmentId: Int64, carrier: String, event: TrackingEvent, source: Source, pollId: Int64?, recordedAt: Timestamp) {
        self.init(shipmentId: shipmentId, identity: event.identity(carrier: carrier), event: event, source: source, pollId: pollId, recordedAt: recordedAt)
    }

    /// With the identity computed already.
    init(shipmentId: Int64, identity: String, event: TrackingEvent, source: Source, pollId: Int64?, recordedAt: Timestamp) {
        self.shipmentId = shipmentId
        self.identity = identity
        occurredAt = event.occurredAt
        zone = event.zone
        status = event.status
        code = event.code
        subcode = event.subcode
        description = event.description
        facility = event.location?.facility
        city = event.location?.city
        district = event.location?.district
        state = event.location?.state
        country = event.location?.country
        postalCode = event.location?.postalCode
        destination = event.destination?.columnJSON
        retractsPrevious = event.retractsPrevious
        self.source = source
        self.pollId = pollId
        self.recordedAt = recordedAt
    }

    public var event: TrackingEvent {
        let location = EventLocation(facility: facility, city: city, district: district, state: state, country: country, postalCode: postalCode)
        return TrackingEvent(occurredAt: occurredAt, zone: zone, status: status, code: code, subcode: subcode, description: description,
                             location: location.isEmpty ? nil : location,
                             destination: destination.flatMap(EventLocation.init(columnJSON:)),
                             retractsPrevious: retractsPrevious)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Decoding by column name without Codable (read for every status derivation).
    public init(row: Row) throws {
        id = row["id"]
        shipmentId = row["shipment_id"]
        identity = row["identity"]
        occurredAt = row["occurred_at"]
        zone = row["zone"]
        status = row["status"]
        code = row["code"]
        subcode = row["subcode"]
        description = row["description"]
        facility = row["facility"]
        city = row["city"]
        district = row["district"]
        state = row["state"]
        country = row["country"]
        postalCode = row["postal_code"]
        destination = row["destination"]
        retractsPrevious = row["retracts_previous"]
        source = row["source"]
        pollId = row["poll_id"]
        recordedAt = row["recorded_at"]
    }
}
