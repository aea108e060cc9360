/// The status a shipment is in, as a pure function of its events.
///
/// Rules: the newest event wins; `delivered` outranks a later
/// out-for-delivery scan (carriers sometimes file the scan late); an event
/// that retracts the previous one (Correios `EST`) removes it from the
/// timeline. Input order does not matter.
public enum ShipmentStatus {
    public static func derive(from events: [TrackingEvent]) -> TrackingStatus {
        derive(timeline: effectiveTimeline(events))
    }

    /// The status of an effective timeline (oldest first), when it is at hand already.
    public static func derive(timeline: [TrackingEvent]) -> TrackingStatus {
        guard let newest = timeline.last else { return .pending }
        if newest.status == .outForDelivery, timeline.contains(where: { $0.status == .delivered }) {
            return .delivered
        }
        return newest.status
    }

    /// Oldest first, duplicates and retracted events removed.
    public static func effectiveTimeline(_ events: [TrackingEvent]) -> [TrackingEvent] {
        // Stable order: by time, then by the carrier's listing (carriers list newest first,
        // so a later position in the input means older among equal times).
        let ordered = events.enumerated().sorted { a, b in
            a.element.occurredAt != b.element.occurredAt ? a.element.occurredAt < b.element.occurredAt : a.offset > b.offset
        }.map(\.element)
        var timeline: [TrackingEvent] = []
        // Equal events have equal times, so they sit together in this order: a duplicate
        // can only be among the events of the same second seen so far (no hashing of
        // whole events, which was a visible share of every poll).
        var sameTime: [TrackingEvent] = []
        for event in ordered {
            if let last = sameTime.last, last.occurredAt != event.occurredAt { sameTime.removeAll(keepingCapacity: true) }
            if sameTime.contains(event) { continue }
            sameTime.append(event)
            if event.retractsPrevious {
                if !timeline.isEmpty { timeline.removeLast() }
                continue
            }
            timeline.append(event)
        }
        return timeline
    }
}
