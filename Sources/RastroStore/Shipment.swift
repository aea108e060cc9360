import GRDB
import RastroCore

/// A parcel a merchant asked rastro to follow: one row per (merchant, carrier, number).
public struct Shipment: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "shipment"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var merchantId: Int64
    public var carrier: String
    public var trackingNumber: String
    public var orderId: String?
    public var invoiceNumber: String?
    public var customerEmail: String?
    public var customerName: String?
    public var customerLocale: String?
    public var marketplaceEndpoint: String?
    public var dispatchedAt: Timestamp
    public var createdAt: Timestamp
    public var status: TrackingStatus
    public var statusChangedAt: Timestamp
    public var estimatedDelivery: Timestamp?
    public var deliveredAt: Timestamp?
    public var expiryReason: String?
    public var cancelledAt: Timestamp?
    /// When the scheduler will poll next; nil once polling has stopped.
    public var nextPollAt: Timestamp?
    /// Set while a poll holds the shipment (and left behind if the process died mid-poll).
    public var leaseOwner: String?
    /// Consecutive failed polls (drives the backoff); 0 after an answer.
    public var pollFailures: Int
    public var lastPolledAt: Timestamp?
    public var lastOutcome: String?
    public var pollRequestedAt: Timestamp?

    public init(id: Int64? = nil, merchantId: Int64, carrier: String, trackingNumber: String, orderId: String? = nil,
                invoiceNumber: String? = nil, customerEmail: String? = nil, customerName: String? = nil, customerLocale: String? = nil,
                marketplaceEndpoint: String? = nil, dispatchedAt: Timestamp, createdAt: Timestamp, status: TrackingStatus = .pending,
                statusChangedAt: Timestamp, estimatedDelivery: Timestamp? = nil, deliveredAt: Timestamp? = nil, expiryReason: String? = nil,
                cancelledAt: Timestamp? = nil, nextPollAt: Timestamp? = nil, leaseOwner: String? = nil, pollFailures: Int = 0,
                lastPolledAt: Timestamp? = nil, lastOutcome: String? = nil, pollRequestedAt: Timestamp? = nil) {
        self.id = id
        self.merchantId = merchantId
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.orderId = orderId
        self.invoiceNumber = invoiceNumber
        self.customerEmail = customerEmail
        self.customerName = customerName
        self.customerLocale = customerLocale
        self.marketplaceEndpoint = marketplaceEndpoint
        self.dispatchedAt = dispatchedAt
        self.createdAt = createdAt
        self.status = status
        self.statusChangedAt = statusChangedAt
        self.estimatedDelivery = estimatedDelivery
        self.deliveredAt = deliveredAt
        self.expiryReason = expiryReason
        self.cancelledAt = cancelledAt
        self.nextPollAt = nextPollAt
        self.leaseOwner = leaseOwner
        self.pollFailures = pollFailures
        self.lastPolledAt = lastPolledAt
        self.lastOutcome = lastOutcome
        self.pollRequestedAt = pollRequestedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Decoding by column name without Codable: shipments are read on every poll and push,
    /// and GRDB's Codable path (keyed containers per row) showed up in profiles.
    public init(row: Row) throws {
        id = row["id"]
        merchantId = row["merchant_id"]
        carrier = row["carrier"]
        trackingNumber = row["tracking_number"]
        orderId = row["order_id"]
        invoiceNumber = row["invoice_number"]
        customerEmail = row["customer_email"]
        customerName = row["customer_name"]
        customerLocale = row["customer_locale"]
        marketplaceEndpoint = row["marketplace_endpoint"]
        dispatchedAt = row["dispatched_at"]
        createdAt = row["created_at"]
        status = row["status"]
        statusChangedAt = row["status_changed_at"]
        estimatedDelivery = row["estimated_delivery"]
        deliveredAt = row["delivered_at"]
        expiryReason = row["expiry_reason"]
        cancelledAt = row["cancelled_at"]
        nextPollAt = row["next_poll_at"]
        leaseOwner = row["lease_owner"]
        pollFailures = row["poll_failures"]
        lastPolledAt = row["last_polled_at"]
        lastOutcome = row["last_outcome"]
        pollRequestedAt = row["poll_requested_at"]
    }
}

/// What a caller gives to register a shipment.
public struct NewShipment: Sendable, Hashable {
    public var carrier: String
    public var trackingNumber: String
    public var orderId: String?
    public var invoiceNumber: String?
    public var customerEmail: String?
    public var customerName: String?
    public var customerLocale: String?
    public var marketplaceEndpoint: String?
    /// Defaults to the registration time.
    public var dispatchedAt: Timestamp?

    public init(carrier: String, trackingNumber: String, orderId: String? = nil, invoiceNumber: String? = nil,
                customerEmail: String? = nil, customerName: String? = nil, customerLocale: String? = nil,
                marketplaceEndpoint: String? = nil, dispatchedAt: Timestamp? = nil) {
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.orderId = orderId
        self.invoiceNumber = invoiceNumber
        self.customerEmail = customerEmail
        self.customerName = customerName
        self.customerLocale = customerLocale
        self.marketplaceEndpoint = marketplaceEndpoint
        self.dispatchedAt = dispatchedAt
    }
}
