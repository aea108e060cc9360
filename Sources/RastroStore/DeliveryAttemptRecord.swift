import GRDB
import RastroCore

/// One try at delivering an outbox row, kept for the operator.
public struct DeliveryAttemptRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "delivery_attempt"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public enum Outcome: String, Codable, Sendable, DatabaseValueConvertible { case sent, retry, failed }

    public var id: Int64?
    public var outboxId: Int64
    public var attemptedAt: Timestamp
    public var durationMs: Int64
    public var outcome: Outcome
    public var detail: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
