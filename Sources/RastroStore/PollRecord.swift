import GRDB
import RastroCore

/// One request to a carrier (covering one or more shipments) and how it ended.
public struct PollRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "poll"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var carrier: String
    /// Content hash of the script that ran, so a replay knows what produced a result.
    public var scriptVersion: String
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    public var durationMs: Int64
    public var httpStatus: Int?
    /// `ok`, or the failure kind of the whole poll (`temporary`, `broken`, `auth`, …).
    public var outcome: String
    public var error: String?
    /// What the poll said about the integration: the worst of its shipments' outcomes (carrier health).
    public var verdict: String?
    /// `ResponseShape.describe` of the response.
    public var shape: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
