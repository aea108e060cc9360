import Foundation
import GRDB
import RastroCore

extension Store {
    /// A carrier's stored responses since `since` (the first `limit`, oldest first), each
    /// with its poll and the shipments' events as they stood when it was recorded.
    public func recordedResponses(carrier: String, since: Timestamp? = nil, limit: Int = 1000) throws -> [RecordedResponse] {
        try read { db in
            var request = RawResponseRecord.filter(Column("carrier") == carrier)
            if let since { request = request.filter(Column("received_at") >= since) }
            let responses = try request.order(Column("received_at"), Column("id")).limit(limit).fetchAll(db)
            return try responses.map { response in
                guard let poll = try PollRecord.fetchOne(db, key: response.pollId) else {
                    throw StoreError.invalid("raw response \(response.id ?? 0) names poll \(response.pollId), which is gone")
                }
                let codes = response.codes.split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
                var shipments: [String: RecordedResponse.Shipment] = [:]
                for code in codes where shipments[code] == nil {
                    guard let id = try Self.shipmentId(carrier: carrier, code: code, pollId: poll.id!, before: response.receivedAt, db: db),
                          let dispatched = try Timestamp.fetchOne(db, sql: "SELECT dispatched_at FROM shipment WHERE id = ?", arguments: [id])
                    else { continue }
                    let events = try EventRecord
                        .filter(Column("shipment_id") == id && Column("recorded_at") <= response.receivedAt)
                        .order(Column("occurred_at").desc, Column("id").desc).fetchAll(db)
                    shipments[code] = .init(shipmentId: id, dispatchedAt: dispatched, events: events)
                }
                return RecordedResponse(response: response, poll: poll, codes: codes, shipments: shipments)
            }
        }
    }

    /// The shipment a polled number belonged to. Two merchants may track the same number:
    /// the one this poll stored events for wins, else the oldest registered before the response.
    static func shipmentId(carrier: String, code: String, pollId: Int64, before: Timestamp, db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: """
            SELECT s.id FROM shipment s
            WHERE s.carrier = ? AND s.tracking_number = ? AND s.created_at <= ?
            ORDER BY EXISTS (SELECT 1 FROM event e WHERE e.shipment_id = s.id AND e.poll_id = ?) DESC, s.id
            LIMIT 1
            """, arguments: [carrier, code, before, pollId])
    }
}
