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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Timestamp {
    /// The wall clock. Only the outermost layer (commands, the service's default `now`) reads it;
    /// everything below takes `now` as a parameter.
    public static var now: Timestamp { Timestamp(secondsSinceEpoch: Int64(time(nil))) }
}
