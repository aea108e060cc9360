import Foundation
import GRDB
import RastroCore

/// An API key: its public prefix (for lookup) and the SHA-256 of the whole key. The key itself is never stored.
public struct APIKey: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "api_key"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    /// nil: an operator key (cross-merchant reads).
    public var merchantId: Int64?
    public var prefix: String
    public var hash: [UInt8]
    public var name: String
    public var createdAt: Timestamp
    public var revokedAt: Timestamp?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    enum CodingKeys: String, CodingKey { case id, merchantId, prefix, hash, name, createdAt, revokedAt }

    public init(id: Int64? = nil, merchantId: Int64?, prefix: String, hash: [UInt8], name: String, createdAt: Timestamp, revokedAt: Timestamp? = nil) {
        self.id = id
        self.merchantId = merchantId
        self.prefix = prefix
        self.hash = hash
        self.name = name
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// By column name, not Codable: a key is read on every request (see `Merchant.init(row:)`).
    public init(row: Row) throws {
        id = row["id"]
        merchantId = row["merchant_id"]
        prefix = row["prefix"]
        hash = [UInt8](row["hash"] as Data)
        name = row["name"]
        createdAt = row["created_at"]
        revokedAt = row["revoked_at"]
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(Int64.self, forKey: .id)
        merchantId = try c.decodeIfPresent(Int64.self, forKey: .merchantId)
        prefix = try c.decode(String.self, forKey: .prefix)
        hash = [UInt8](try c.decode(Data.self, forKey: .hash))
        name = try c.decode(String.self, forKey: .name)
        createdAt = try c.decode(Timestamp.self, forKey: .createdAt)
        revokedAt = try c.decodeIfPresent(Timestamp.self, forKey: .revokedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encodeIfPresent(merchantId, forKey: .merchantId)
        try c.encode(prefix, forKey: .prefix)
        try c.encode(Data(hash), forKey: .hash)
        try c.encode(name, forKey: .name)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(revokedAt, forKey: .revokedAt)
    }
}
