#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time consumed, for benchmarks that split a poll's cost by stage.
public enum CPUClock {
    /// The calling thread's CPU time, in nanoseconds.
    public static func thread() -> Int64 { read(CLOCK_THREAD_CPUTIME_ID) }

    /// The process's CPU time (user + system, all threads), in nanoseconds.
    public static func process() -> Int64 { read(CLOCK_PROCESS_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
