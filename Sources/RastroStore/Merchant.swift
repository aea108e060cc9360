import GRDB
import RastroCore

/// A store whose shipments rastro tracks. Every shipment query is scoped to one.
public struct Merchant: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "merchant"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var name: String
    public var createdAt: Timestamp
    /// Cadence and window overrides in seconds (nil: the carrier's or the platform's).
    public var pollEvery: Int64?
    public var pollWindow: Int64?
    /// The locale of emails whose customer has none (before the `en` fallback).
    public var defaultLocale: String?

    public init(id: Int64? = nil, name: String, createdAt: Timestamp, pollEvery: Int64? = nil, pollWindow: Int64? = nil, defaultLocale: String? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.pollEvery = pollEvery
        self.pollWindow = pollWindow
        self.defaultLocale = defaultLocale
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// By column name, not Codable: every push and poll plan reads its merchant, and the
    /// Codable path (a keyed container and snake-case conversion per row) showed in profiles.
    public init(row: Row) throws {
        id = row["id"]
        name = row["name"]
        createdAt = row["created_at"]
        pollEvery = row["poll_every"]
        pollWindow = row["poll_window"]
        defaultLocale = row["default_locale"]
    }
}
