extension TrackingEvent {
    /// A stable identity for "the same event seen again": carrier, code, time and place.
    ///
    /// Two polls, or a poll and a push, that report one scan produce one identity,
    /// so the store keeps it once. The description only counts when the carrier
    /// gives no code (some carriers only send text), because carriers re-word
    /// descriptions between API versions while codes stay. FNV-1a 64 over a
    /// canonical text: stable across processes and platforms, unlike `hashValue`.
    public func identity(carrier: String) -> String {
        // Hashed field by field, not by joining a string: this runs for every event of
        // every poll. The bytes fed are exactly those of the canonical text
        // `carrier␟code␟subcode␟seconds[␟description][␟facility/city/state/country/postal][␟retracts]`
        // (lowercased where shown), so identities stored by older versions still match.
        var h = StableHash.FNV()
        h.add(carrier)
        h.separator()
        h.add(code)
        h.separator()
        h.add(subcode ?? "")
        h.separator()
        h.add(String(occurredAt.secondsSinceEpoch))
        if code.isEmpty {
            h.separator()
            h.addLowercased(description)
        }
        if let location {
            h.separator()
            for (i, part) in [location.facility, location.city, location.state, location.country, location.postalCode].enumerated() {
                if i > 0 { h.add(UInt8(ascii: "/")) }
                h.addLowercased(part ?? "")
            }
        }
        if retractsPrevious {
            h.separator()
            h.add("retracts")
        }
        return h.hex
    }
}

/// A hash that is the same in every process and on every platform (unlike
/// `hashValue`, which is seeded per process): for identities and versions that
/// are stored.
public enum StableHash {
    public static func fnv1a64(_ text: String) -> String {
        var h = FNV()
        h.add(text)
        return h.hex
    }

    /// FNV-1a 64, fed piece by piece.
    public struct FNV {
        public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
        public init() {}

        public mutating func add(_ byte: UInt8) {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }

        public mutating func add(_ text: String) {
            for byte in text.utf8 { add(byte) }
        }

        /// The bytes of `text.lowercased()`, without building it when the text is ASCII.
        public mutating func addLowercased(_ text: String) {
            guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return add(text.lowercased()) }
            for byte in text.utf8 { add(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) }
        }

        /// The unit separator (U+001F) between parts.
        public mutating func separator() { add(0x1F) }

        /// 16 lowercase hex digits.
        public var hex: String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }
}
