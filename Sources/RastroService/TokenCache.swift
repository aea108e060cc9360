import RastroCarriers
import RastroCore

/// Carrier auth tokens, kept until shortly before they expire.
///
/// Concurrent polls of one carrier share one token request: the first caller
/// fetches, the others await the same task.
actor TokenCache {
    private var tokens: [String: AuthToken] = [:]
    private var inFlight: [String: Task<AuthToken, any Error>] = [:]
    /// A token is renewed this long before its expiry, so it never dies mid-request.
    let margin: Int64 = 60
    /// Lifetime assumed when a carrier does not say.
    let defaultLifetime: Int64 = 3600

    func token(for carrier: String, now: Timestamp, fetch: @escaping @Sendable () async throws -> AuthToken) async throws -> AuthToken {
        if let token = tokens[carrier], (token.expiresAt?.secondsSinceEpoch ?? Int64.max) - margin > now.secondsSinceEpoch {
            return token
        }
        if let running = inFlight[carrier] { return try await running.value }
        let task = Task { try await fetch() }
        inFlight[carrier] = task
        defer { inFlight[carrier] = nil }
        var token = try await task.value
        if token.expiresAt == nil { token.expiresAt = Timestamp(secondsSinceEpoch: now.secondsSinceEpoch + defaultLifetime) }
        tokens[carrier] = token
        return token
    }

    /// Forgets a token the carrier refused.
    func invalidate(_ carrier: String) { tokens[carrier] = nil }
}
