import GRDB
import RastroCore

// The shipment reads of every poll and push, decoded by position.
//
// `Shipment.init(row:)` looks each of 24 columns up by name (a lowercased copy of
// the name, a dictionary probe), and GRDB builds that dictionary for every
// statement it runs. Per poll the shipment is read twice (the plan on a reader,
// the writer's check); per push, twice as well. Here the columns are named once,
// in `selection`, and read by index; a test pins `init(selected:)` to `init(row:)`.

extension Shipment {
    /// The columns `init(selected:)` reads, in its order.
    static let selection = """
        id, merchant_id, carrier, tracking_number, order_id, invoice_number, customer_email, customer_name, customer_locale, \
        marketplace_endpoint, dispatched_at, created_at, status, status_changed_at, estimated_delivery, delivered_at, expiry_reason, \
        cancelled_at, next_poll_at, lease_owner, poll_failures, last_polled_at, last_outcome, poll_requested_at
        """

    /// A row of `SELECT \(selection) FROM shipment …`.
    init(selected row: RawRow) {
        self.init(id: row[0] as Int64, merchantId: row[1], carrier: row[2], trackingNumber: row[3], orderId: row[4], invoiceNumber: row[5],
                  customerEmail: row[6], customerName: row[7], customerLocale: row[8], marketplaceEndpoint: row[9],
                  dispatchedAt: row[10], createdAt: row[11], status: row[12], statusChangedAt: row[13], estimatedDelivery: row[14],
                  deliveredAt: row[15], expiryReason: row[16], cancelledAt: row[17], nextPollAt: row[18], leaseOwner: row[19],
                  pollFailures: row[20], lastPolledAt: row[21], lastOutcome: row[22], pollRequestedAt: row[23])
    }

    /// The shipments `SELECT \(selection) FROM shipment <clause>` finds, in its order;
    /// `bind` binds the clause's parameters (see `RawStatement`).
    static func fetchSelected(_ db: Database, _ clause: String, bind: (inout RawStatement) -> Void) throws -> [Shipment] {
        var statement = try RawStatement(db.cachedStatement(sql: "SELECT \(selection) FROM shipment " + clause))
        bind(&statement)
        var out: [Shipment] = []
        try statement.forEachRow { out.append(Shipment(selected: $0)) }
        return out
    }

    /// The shipments with these ids, by id: one statement for a poll's whole batch.
    static func fetchSelected(_ db: Database, ids: [Int64]) throws -> [Int64: Shipment] {
        guard !ids.isEmpty else { return [:] }
        // Batches are at most a carrier's batch size (50 for Correios); SQLite allows 32,766 parameters.
        let shipments = try fetchSelected(db, "WHERE id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ",")))") { s in
            for id in ids { s.bind(id) }
        }
        return Dictionary(shipments.map { ($0.id!, $0) }, uniquingKeysWith: { a, _ in a })
    }
}
