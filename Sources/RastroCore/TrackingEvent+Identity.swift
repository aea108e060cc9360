extension TrackingEvent {
    /// A stable identity for "the same event seen again": carrier, code, time and place.
    ///
    /// Two polls, or a poll and a push, that report one scan produce one identity,
    /// so the store keeps it once. The description only counts when the carrier
    /// gives no code (some carriers only send text), because carriers re-word
    /// descriptions between API versions while codes stay. FNV-1a 64 over a
    /// canonical text: stable across processes and platforms, unlike `hashValue`.
    public func identity(carrier: String) -> String {
        var parts = [carrier, code, subcode ?? "", String(occurredAt.secondsSinceEpoch)]
        if code.isEmpty { parts.append(description.lowercased()) }
        if let location {
            parts.append([location.facility, location.city, location.state, location.country, location.postalCode]
                .map { ($0 ?? "").lowercased() }.joined(separator: "/"))
        }
        if retractsPrevious { parts.append("retracts") }
        return StableHash.fnv1a64(parts.joined(separator: "\u{1F}"))
    }
}

/// A hash that is the same in every process and on every platform (unlike
/// `hashValue`, which is seeded per process): for identities and versions that
/// are stored.
public enum StableHash {
    public static func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
