import Foundation
import RastroCore

/// Offsets of the zones events carry: IANA names, "UTC", or fixed "+hh:mm".
public enum EventZone {
    public static func offsetSeconds(_ zone: String?, at t: Timestamp) -> Int {
        guard let zone, !zone.isEmpty else { return 0 }
        if zone == "UTC" || zone == "Z" || zone == "GMT" { return 0 }
        if let first = zone.first, first == "+" || first == "-" {
            let digits = zone.dropFirst().filter(\.isNumber)
            guard digits.count == 2 || digits.count == 4, let value = Int(digits) else { return 0 }
            let (h, m) = digits.count == 2 ? (value, 0) : (value / 100, value % 100)
            return (h * 3600 + m * 60) * (first == "-" ? -1 : 1)
        }
        guard let tz = TimeZone(identifier: zone) else { return 0 }
        return tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.secondsSinceEpoch)))
    }

    /// The wall-clock time the carrier printed for this event.
    public static func local(_ event: TrackingEvent) -> Timestamp.Components {
        event.occurredAt.components(offsetSeconds: offsetSeconds(event.zone, at: event.occurredAt))
    }
}
