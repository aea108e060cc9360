import GRDB
import RastroCore

/// What merging reported events into a shipment did.
struct EventMerge {
    /// Events stored for the first time, newest first (as carriers list them).
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
    /// the derivation: this runs for every shipment of every poll and push, and
    /// inserting blindly and reading everything back was two passes where one does.
    static func mergeEvents(_ events: [TrackingEvent], into shipment: inout Shipment, carrier: String, source: EventRecord.Source,
                            pollId: Int64?, now: Timestamp, db: Database) throws -> EventMerge {
        var stored = try EventRecord.storedEvents(shipmentId: shipment.id!, db: db)
        var seen = Set(stored.map(\.identity))
        var added: [TrackingEvent] = []
        var identities: [String] = []
        for event in events.reversed() {  // carriers list newest first; store oldest first
            let record = EventRecord(shipmentId: shipment.id!, carrier: carrier, event: event, source: source, pollId: pollId, recordedAt: now)
            guard seen.insert(record.identity).inserted, let id = try record.insertIgnoringDuplicate(db) else { continue }
            stored.append(.init(id: id, identity: record.identity, event: event))
            added.insert(event, at: 0)
            identities.insert(record.identity, at: 0)
        }
        // Newest first, ties by insertion order: what the status derivation expects.
        stored.sort { $0.event.occurredAt != $1.event.occurredAt ? $0.event.occurredAt > $1.event.occurredAt : $0.id > $1.id }
        let timeline = derive(&shipment, from: stored.map(\.event))
        return EventMerge(added: added, addedIdentities: identities, timeline: timeline)
    }

    /// Re-derives a shipment's status from all its stored events (a pure function of them);
    /// returns the effective timeline, oldest first.
    @discardableResult
    static func applyStatus(_ shipment: inout Shipment, db: Database) throws -> [TrackingEvent] {
        let stored = try EventRecord.storedEvents(shipmentId: shipment.id!, db: db)
            .sorted { $0.event.occurredAt != $1.event.occurredAt ? $0.event.occurredAt > $1.event.occurredAt : $0.id > $1.id }
        return Self.derive(&shipment, from: stored.map(\.event))
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
