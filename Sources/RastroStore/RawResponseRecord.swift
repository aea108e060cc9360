import Foundation
import GRDB
import RastroCore

/// A carrier response as received, deflated; the input of `rastro carrier replay`.
public struct RawResponseRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "raw_response"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var pollId: Int64
    public var carrier: String
    public var receivedAt: Timestamp
    public var httpStatus: Int
    /// JSON object of the response headers.
    public var headers: String
    /// zlib-deflated body.
    public var body: Data
    public var bodySize: Int
    /// The tracking numbers the request asked for, comma-separated.
    public var codes: String

    public func inflatedBody() throws -> [UInt8] { try Deflate.inflate(body, expectedSize: bodySize) }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
