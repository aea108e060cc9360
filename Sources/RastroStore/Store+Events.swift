import GRDB
import RastroCore

/// What merging reported events into a shipment did.
struct EventMerge: Sendable {
    /// Events not stored before, newest first (as carriers list them).
    var added: [TrackingEvent]
    /// Their identities, in the same order (the change key is made of them).
    var addedIdentities: [String]
    /// The shipment's effective timeline after the merge, oldest first.
    var timeline: [TrackingEvent]
}

extension Store {
    /// Stores the events not seen before (by identity) and re-derives the shipment's
    /// status from all its events; `shipment` is changed in memory only.
    ///
    /// One read of the shipment's stored events serves both the deduplication and
    /// the derivation: this runs for every shipment of every poll and push.
    static func mergeEvents(_ events: [TrackingEvent], into shipment: inout Shipment, carrier: String, source: EventRecord.Source,
                            pollId: Int64?, now: Timestamp, db: Database) throws -> EventMerge {
        let stored = try EventRecord.storedEvents(shipmentId: shipment.id!, db: db)
        let merge = Self.merge(events, stored: stored, carrier: carrier, into: &shipment)
        try insertAdded(merge, shipmentId: shipment.id!, source: source, pollId: pollId, now: now, db: db)
        return merge
    }

    /// The merge, computed from the stored events alone (no database): the writer and
    /// the notification preparation (`prepareNotifications`) compute it the same way.
    static func merge(_ events: [TrackingEvent], stored: [EventRecord.Stored], carrier: String, into shipment: inout Shipment) -> EventMerge {
        var all = stored
        var seen = Set(stored.map(\.identity))
        // New rows get ids above every stored one, in insertion order: ties sort as they will in the table.
        var nextId = (stored.map(\.id).max() ?? 0) + 1
        var added: [TrackingEvent] = []
        var identities: [String] = []
        for event in events.reversed() {  // carriers list newest first; store oldest first
            let identity = event.identity(carrier: carrier)
            guard seen.insert(identity).inserted else { continue }
            all.append(.init(id: nextId, identity: identity, event: event))
            nextId += 1
            added.insert(event, at: 0)
            identities.insert(identity, at: 0)
        }
        let timeline = derive(&shipment, from: newestFirst(all))
        return EventMerge(added: added, addedIdentities: identities, timeline: timeline)
    }

    /// Writes a merge's new events, oldest first.
    static func insertAdded(_ merge: EventMerge, shipmentId: Int64, source: EventRecord.Source, pollId: Int64?, now: Timestamp, db: Database) throws {
        for (event, identity) in zip(merge.added, merge.addedIdentities).reversed() {
            let record = EventRecord(shipmentId: shipmentId, identity: identity, event: event, source: source, pollId: pollId, recordedAt: now)
            // The merge read the stored events in this transaction: a duplicate here means that read was wrong.
            guard try record.insertIgnoringDuplicate(db) != nil else {
                throw StoreError.invalid("event \(identity) of shipment \(shipmentId) is stored already; the poll is retried")
            }
        }
    }

    /// Newest first, ties by row id (insertion order): what the status derivation expects.
    static func newestFirst(_ stored: [EventRecord.Stored]) -> [TrackingEvent] {
        stored.sorted { $0.event.occurredAt != $1.event.occurredAt ? $0.event.occurredAt > $1.event.occurredAt : $0.id > $1.id }.map(\.event)
    }

    /// The status the events say (newest first), within the rule that expired stays
    /// expired unless a later event shows where the parcel went.
    static func derive(_ shipment: inout Shipment, from events: [TrackingEvent]) -> [TrackingEvent] {
        let timeline = ShipmentStatus.effectiveTimeline(events)
        let derived = ShipmentStatus.derive(timeline: timeline)
        if shipment.status == .expired {
            if derived.isTerminal { shipment.status = derived }
            return timeline
        }
        if events.isEmpty { return timeline }
        shipment.status = derived
        if derived == .delivered, shipment.deliveredAt == nil {
            shipment.deliveredAt = timeline.last(where: { $0.status == .delivered })?.occurredAt
        }
        return timeline
    }
}
