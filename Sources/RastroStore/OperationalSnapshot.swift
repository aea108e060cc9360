import RastroCore

/// How the service is doing, read in one transaction: per carrier, what is
/// being polled and how far behind polling is; per notification kind, what
/// waits to be sent and what failed. Metrics gauges and `rastro status` show it.
public struct OperationalSnapshot: Sendable, Equatable {
    public struct Carrier: Sendable, Equatable {
        public var id: String
        /// Shipments still being polled: not delivered, returned, expired or cancelled.
        public var activeShipments: Int
        /// Active shipments whose next poll time has come (a poll in flight is not due: its lease holds it).
        public var dueShipments: Int
        /// The earliest next-poll time among the due shipments; nil when none is due.
        public var oldestDue: Timestamp?
        /// When a poll of this carrier last came back `ok`; nil if none ever did.
        public var lastSuccessfulPoll: Timestamp?

        public init(id: String, activeShipments: Int = 0, dueShipments: Int = 0, oldestDue: Timestamp? = nil, lastSuccessfulPoll: Timestamp? = nil) {
            self.id = id
            self.activeShipments = activeShipments
            self.dueShipments = dueShipments
            self.oldestDue = oldestDue
            self.lastSuccessfulPoll = lastSuccessfulPoll
        }
    }

    public struct Outbox: Sendable, Equatable {
        public var kind: OutboxRecord.Kind
        /// Notifications not sent yet, including those waiting for a retry.
        public var pending: Int
        /// Notifications that gave up (after about three days, or on a permanent error).
        public var failed: Int
        /// The earliest attempt time among pending notifications whose time has come; nil when none is due.
        public var oldestDue: Timestamp?

        public init(kind: OutboxRecord.Kind, pending: Int = 0, failed: Int = 0, oldestDue: Timestamp? = nil) {
            self.kind = kind
            self.pending = pending
            self.failed = failed
            self.oldestDue = oldestDue
        }
    }

    /// The `now` the snapshot was taken at; lags are measured from it.
    public var takenAt: Timestamp
    /// Sorted by id: every carrier with an active shipment, plus those asked for.
    public var carriers: [Carrier]
    /// One entry per kind (email, webhook), zeros included.
    public var outbox: [Outbox]

    public init(takenAt: Timestamp, carriers: [Carrier], outbox: [Outbox]) {
        self.takenAt = takenAt
        self.carriers = carriers
        self.outbox = outbox
    }

    public subscript(carrier id: String) -> Carrier? { carriers.first { $0.id == id } }
    public subscript(outbox kind: OutboxRecord.Kind) -> Outbox? { outbox.first { $0.kind == kind } }

    /// How far behind polling is for `carrier`: now − the oldest due poll, zero when nothing is overdue.
    public func queueLag(_ carrier: Carrier) -> Duration {
        carrier.oldestDue.map { max(.zero, takenAt - $0) } ?? .zero
    }

    /// How long the oldest due notification of this kind has waited; zero when none is due.
    public func outboxLag(_ outbox: Outbox) -> Duration {
        outbox.oldestDue.map { max(.zero, takenAt - $0) } ?? .zero
    }
}
