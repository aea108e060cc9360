import GRDB
import RastroCore

/// One notification to deliver: an email or a webhook, with its stable id.
public struct OutboxRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outbox"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public enum Kind: String, Codable, Sendable, DatabaseValueConvertible { case email, webhook }
    public enum Status: String, Codable, Sendable, DatabaseValueConvertible { case pending, sent, failed }

    public var id: Int64?
    public var messageId: String
    public var dedupeKey: String
    public var merchantId: Int64
    public var shipmentId: Int64?
    public var kind: Kind
    public var template: String?
    public var recipient: String?
    public var locale: String?
    public var endpoint: String?
    public var event: String?
    public var payload: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Timestamp?
    public var leaseOwner: String?
    public var lastError: String?
    public var createdAt: Timestamp
    public var sentAt: Timestamp?
    public var failedAt: Timestamp?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// What a rule decided should be sent, before it has an id: the store turns it into an outbox row.
public struct OutboxIntent: Sendable, Hashable {
    public var kind: OutboxRecord.Kind
    public var template: String?
    public var recipient: String?
    public var locale: String?
    public var endpoint: String?
    public var event: String?
    public var payload: String
    /// Identifies the intent within its change; with the change's identity it makes the dedupe key.
    public var key: String
    /// Send no earlier than this (quiet hours).
    public var notBefore: Timestamp?

    public init(kind: OutboxRecord.Kind, template: String? = nil, recipient: String? = nil, locale: String? = nil,
                endpoint: String? = nil, event: String? = nil, payload: String, key: String, notBefore: Timestamp? = nil) {
        self.notBefore = notBefore
        self.kind = kind
        self.template = template
        self.recipient = recipient
        self.locale = locale
        self.endpoint = endpoint
        self.event = event
        self.payload = payload
        self.key = key
    }
}
