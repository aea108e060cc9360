import ArgumentParser
import RastroCarriers
import RastroCore
import RastroStore

/// Which stored carrier responses a command reads: `--since` and `--limit`.
struct StoredResponsesOption: ParsableArguments {
    @Option(help: "Responses received since then: an ISO time (2026-11-01T00:00Z, 2026-11-01) or a duration back from now (2h, 3d, 1d12h).")
    var since: String?

    @Option(help: "At most this many responses, oldest first.")
    var limit = 1000

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1, got \(limit)") }
        _ = try sinceTimestamp(now: .now)
    }

    func sinceTimestamp(now: Timestamp) throws -> Timestamp? {
        guard let since else { return nil }
        if let d = DurationText.parse(since) { return now - d }
        if let t = Self.time(since) { return t }
        throw ValidationError("--since: not an ISO time (2026-11-01T00:00Z) or a duration (2h, 3d): \(since)")
    }

    /// ISO-8601 as `Timestamp` reads it, also without seconds or as a bare date (UTC midnight).
    static func time(_ text: String) -> Timestamp? {
        if let t = Timestamp(iso8601: text) { return t }
        // "2026-11-01T00:00Z" / "2026-11-01T00:00-03:00": insert the seconds.
        if text.count >= 17, text.dropFirst(10).first == "T", let t = Timestamp(iso8601: String(text.prefix(16)) + ":00" + text.dropFirst(16)) { return t }
        if text.count == 10 { return Timestamp(iso8601: text + "T00:00:00Z") }
        return nil
    }
}
