import Foundation
import RastroCore
import Synchronization

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
        guard let tz = timeZone(zone) else { return 0 }
        return tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.secondsSinceEpoch)))
    }

    /// Zones by name, made once: `TimeZone(identifier:)` loads ICU data and ran for
    /// every event of every notification. Carriers use a handful of zones.
    private static let zones = Mutex<[String: TimeZone?]>([:])

    private static func timeZone(_ name: String) -> TimeZone? {
        if let hit = zones.withLock({ $0[name] }) { return hit }
        let made = TimeZone(identifier: name)
        zones.withLock { if $0.count < 1024 { $0[name] = made } }
        return made
    }

    /// The wall-clock time the carrier printed for this event.
    public static func local(_ event: TrackingEvent) -> Timestamp.Components {
        event.occurredAt.components(offsetSeconds: offsetSeconds(event.zone, at: event.occurredAt))
    }
}
