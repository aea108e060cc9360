import GRDB
import RastroCore

extension Store {
    // MARK: Merchants

    public func addMerchant(name: String, now: Timestamp, defaultLocale: String? = nil) throws -> Merchant {
        try write { db in
            if try Merchant.filter(Column("name") == name).fetchOne(db) != nil {
                throw StoreError.conflict("a merchant named \(name) already exists")
            }
            var merchant = Merchant(name: name, createdAt: now, defaultLocale: defaultLocale)
            try merchant.insert(db)
            return merchant
        }
    }

    /// The merchant with this name, created on first use (the CLI's "default" merchant).
    public func ensureMerchant(name: String, now: Timestamp) throws -> Merchant {
        try write { db in
            if let existing = try Merchant.filter(Column("name") == name).fetchOne(db) { return existing }
            var merchant = Merchant(name: name, createdAt: now)
            try merchant.insert(db)
            return merchant
        }
    }

    /// Sets (or clears, with nil) a merchant's cadence and window overrides, in seconds.
    public func setMerchantPolling(name: String, every: Int64?, window: Int64?, now: Timestamp) throws -> Merchant {
        if let every, every <= 0 { throw StoreError.invalid("poll cadence must be positive") }
        if let window, window <= 0 { throw StoreError.invalid("poll window must be positive") }
        return try write { db in
            var merchant = try Merchant.filter(Column("name") == name).fetchOne(db) ?? Merchant(name: name, createdAt: now)
            merchant.pollEvery = every
            merchant.pollWindow = window
            try merchant.save(db)
            return merchant
        }
    }

    public func merchant(named name: String) throws -> Merchant? {
        try read { db in try Merchant.filter(Column("name") == name).fetchOne(db) }
    }

    public func merchant(id: Int64) throws -> Merchant? {
        try read { db in try Merchant.fetchOne(db, key: id) }
    }

    // MARK: Shipments

    /// Registers a shipment; its first poll is due at once. A second registration
    /// of the same carrier and number for the same merchant is a conflict.
    public func registerShipment(_ new: NewShipment, merchantId: Int64, now: Timestamp,
                                 notify: (@Sendable (Shipment, Merchant) -> [OutboxIntent])? = nil) throws -> Shipment {
        try write { db in
            let existing = try Shipment
                .filter(Column("merchant_id") == merchantId && Column("carrier") == new.carrier && Column("tracking_number") == new.trackingNumber)
                .fetchOne(db)
            if existing != nil { throw StoreError.conflict("\(new.carrier) \(new.trackingNumber) is already registered") }
            var shipment = Shipment(
                merchantId: merchantId, carrier: new.carrier, trackingNumber: new.trackingNumber, orderId: new.orderId,
                invoiceNumber: new.invoiceNumber, customerEmail: new.customerEmail, customerName: new.customerName,
                customerLocale: new.customerLocale, marketplaceEndpoint: new.marketplaceEndpoint,
                dispatchedAt: new.dispatchedAt ?? now, createdAt: now, status: .pending, statusChangedAt: now,
                nextPollAt: now, pollFailures: 0)
            try shipment.insert(db)
            if let notify, let merchant = try Merchant.fetchOne(db, key: merchantId) {
                _ = try Self.insertOutbox(notify(shipment, merchant), changeKey: "registered", merchantId: merchantId, shipmentId: shipment.id, now: now, db: db)
            }
            return shipment
        }
    }

    /// One shipment, only if it belongs to `merchantId` (nil: any merchant's, for the operator).
    public func shipment(id: Int64, merchantId: Int64?) throws -> Shipment? {
        try read { db in
            var request = Shipment.filter(Column("id") == id)
            if let merchantId { request = request.filter(Column("merchant_id") == merchantId) }
            return try request.fetchOne(db)
        }
    }

    /// A merchant's shipments with this tracking number (one per carrier at most).
    public func shipments(trackingNumber: String, merchantId: Int64) throws -> [Shipment] {
        try read { db in
            try Shipment.filter(Column("tracking_number") == trackingNumber && Column("merchant_id") == merchantId)
                .order(Column("id")).fetchAll(db)
        }
    }

    public struct ShipmentFilter: Sendable, Hashable {
        public var status: TrackingStatus?
        public var carrier: String?
        public var orderId: String?
        public var invoiceNumber: String?
        public init(status: TrackingStatus? = nil, carrier: String? = nil, orderId: String? = nil, invoiceNumber: String? = nil) {
            self.status = status
            self.carrier = carrier
            self.orderId = orderId
            self.invoiceNumber = invoiceNumber
        }
    }

    /// A page of a merchant's shipments (nil: every merchant's, for the operator), newest first;
    /// pass the last id seen as `before` for the next page.
    public func shipments(merchantId: Int64?, filter: ShipmentFilter = .init(), limit: Int = 50, before: Int64? = nil) throws -> [Shipment] {
        try read { db in
            var request = Shipment.all()
            if let merchantId { request = request.filter(Column("merchant_id") == merchantId) }
            if let status = filter.status { request = request.filter(Column("status") == status) }
            if let carrier = filter.carrier { request = request.filter(Column("carrier") == carrier) }
            if let orderId = filter.orderId { request = request.filter(Column("order_id") == orderId) }
            if let invoice = filter.invoiceNumber { request = request.filter(Column("invoice_number") == invoice) }
            if let before { request = request.filter(Column("id") < before) }
            return try request.order(Column("id").desc).limit(max(1, min(limit, 500))).fetchAll(db)
        }
    }

    /// A shipment's stored events, oldest first (retracted ones included; see `ShipmentStatus.effectiveTimeline`).
    public func events(shipmentId: Int64) throws -> [EventRecord] {
        try read { db in
            try EventRecord.filter(Column("shipment_id") == shipmentId)
                .order(Column("occurred_at"), Column("id")).fetchAll(db)
        }
    }

    /// "Poll now": due at once unless one was asked within the policy's cooldown.
    public func requestPoll(shipmentId: Int64, merchantId: Int64, policy: PollPolicy, now: Timestamp) throws -> Result<Timestamp, PollPolicy.CooldownActive> {
        try write { db in
            guard var shipment = try Shipment.filter(Column("id") == shipmentId && Column("merchant_id") == merchantId).fetchOne(db) else {
                throw StoreError.notFound("shipment \(shipmentId)")
            }
            if shipment.cancelledAt != nil || shipment.status.isTerminal {
                throw StoreError.conflict("shipment \(shipmentId) is \(shipment.cancelledAt != nil ? "cancelled" : shipment.status.rawValue); it is not polled any more")
            }
            let result = policy.pollNow(lastRequestedAt: shipment.pollRequestedAt, now: now)
            if case .success = result {
                shipment.pollRequestedAt = now
                // A poll in flight (leased) will reschedule itself; don't steal its lease.
                if shipment.leaseOwner == nil { shipment.nextPollAt = now }
                try shipment.update(db)
            }
            return result
        }
    }

    /// Stops polling a shipment for good.
    public func cancelShipment(id: Int64, merchantId: Int64, now: Timestamp) throws -> Shipment {
        try write { db in
            guard var shipment = try Shipment.filter(Column("id") == id && Column("merchant_id") == merchantId).fetchOne(db) else {
                throw StoreError.notFound("shipment \(id)")
            }
            if shipment.cancelledAt == nil {
                shipment.cancelledAt = now
                shipment.nextPollAt = nil
                try shipment.update(db)
            }
            return shipment
        }
    }
}
