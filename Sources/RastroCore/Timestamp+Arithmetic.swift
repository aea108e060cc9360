// Whole-second arithmetic: the store and the scheduler count in seconds.
extension Timestamp {
    public static func + (t: Timestamp, d: Duration) -> Timestamp {
        Timestamp(secondsSinceEpoch: t.secondsSinceEpoch + d.components.seconds)
    }

    public static func - (a: Timestamp, b: Timestamp) -> Duration {
        .seconds(a.secondsSinceEpoch - b.secondsSinceEpoch)
    }
}

extension Timestamp {
    public static func - (t: Timestamp, d: Duration) -> Timestamp {
        Timestamp(secondsSinceEpoch: t.secondsSinceEpoch - d.components.seconds)
    }
}
