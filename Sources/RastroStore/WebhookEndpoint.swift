import GRDB
import RastroCore

/// A merchant's named webhook destination with its signing secret (`whsec_<base64>`).
public struct WebhookEndpoint: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "webhook_endpoint"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var merchantId: Int64
    public var name: String
    /// nil: the shipment's own marketplace endpoint URL is used (the `marketplace` endpoint).
    public var url: String?
    public var secret: String
    public var createdAt: Timestamp
    public var disabledAt: Timestamp?
    public var disabledReason: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
