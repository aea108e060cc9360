/// When to poll a shipment next: a pure function of the poll's outcome, the
/// shipment and `now` (plus one injected random draw for jitter).
///
/// The platform's policy is the default: poll at registration, then every 6 h
/// (± 10 %) until a terminal status or 12.5 days after dispatch, then `expired`.
/// Errors back off exponentially instead of waiting the cadence, and they do not
/// use up the window: a shipment expires only on an *answered* poll after the
/// window ended (or, if the carrier never answers again, after a grace period),
/// so an outage at the end of the window is not mistaken for a lost parcel.
public struct PollPolicy: Sendable, Hashable {
    public var every: Duration
    public var window: Duration
    /// Fraction of `every` the next poll may move either way, so shipments
    /// registered together spread out instead of hitting the carrier at once.
    public var jitter: Double
    public var backoff: Backoff
    /// How long after the window's end failing polls keep trying before the shipment expires anyway.
    public var unreachableGrace: Duration
    /// The shortest gap between two "poll now" requests for one shipment.
    public var pollNowCooldown: Duration

    public init(every: Duration = .seconds(6 * 3600), window: Duration = .seconds(12 * 86400 + 12 * 3600),
                jitter: Double = 0.1, backoff: Backoff = .poll, unreachableGrace: Duration = .seconds(3 * 86400),
                pollNowCooldown: Duration = .seconds(300)) {
        self.every = every
        self.window = window
        self.jitter = min(max(jitter, 0), 0.5)
        self.backoff = backoff
        self.unreachableGrace = unreachableGrace
        self.pollNowCooldown = pollNowCooldown
    }

    public static let platformDefault = PollPolicy()

    /// How a poll ended, as far as scheduling cares.
    public enum Outcome: Sendable, Hashable {
        /// The carrier answered about the number: events, no change, not found or invalid.
        case answered
        /// Nothing usable: transport error, 5xx, auth, broken response, script error.
        /// `retryAfter` is the carrier's own request (HTTP 429 / Retry-After).
        case failed(retryAfter: Duration? = nil)
    }

    public enum Decision: Sendable, Hashable {
        case pollAt(Timestamp)
        /// Terminal status reached: no more polls.
        case stop
        case expire(ExpiryReason)
    }

    public enum ExpiryReason: String, Sendable, Hashable {
        /// The window ended and the carrier's last answer was not a delivery.
        case windowEnded = "window_ended"
        /// The window and its grace period ended with the carrier still failing.
        case carrierUnreachable = "carrier_unreachable"
    }

    /// The decision after a poll. `status` is the shipment's status after the poll,
    /// `consecutiveFailures` counts this poll when it failed (1 for a first failure).
    /// `unit` ∈ [0, 1) is the random draw used for jitter.
    public func next(after outcome: Outcome, status: TrackingStatus, dispatchedAt: Timestamp,
                     consecutiveFailures: Int, now: Timestamp, unit: Double) -> Decision {
        if status.isTerminal { return .stop }
        let deadline = dispatchedAt + window
        switch outcome {
        case .answered:
            if now >= deadline { return .expire(.windowEnded) }
            let spread = every * (jitter * (2 * min(max(unit, 0), 1) - 1))
            let proposed = now + (every + spread)
            // One last look exactly at the window's end rather than none after it.
            return .pollAt(min(proposed, deadline))
        case .failed(let retryAfter):
            let giveUp = deadline + unreachableGrace
            if now >= giveUp { return .expire(.carrierUnreachable) }
            var delay = backoff.delay(attempt: max(1, consecutiveFailures), unit: unit)
            if let retryAfter, retryAfter > delay { delay = min(retryAfter, .seconds(86400)) }
            return .pollAt(min(now + delay, giveUp))
        }
    }

    /// Whether a "poll now" request is allowed, or when it will be.
    public func pollNow(lastRequestedAt: Timestamp?, now: Timestamp) -> Result<Timestamp, CooldownActive> {
        guard let last = lastRequestedAt else { return .success(now) }
        let allowedAt = last + pollNowCooldown
        return allowedAt <= now ? .success(now) : .failure(CooldownActive(allowedAt: allowedAt))
    }

    public struct CooldownActive: Error, Sendable, Hashable {
        public let allowedAt: Timestamp
        public init(allowedAt: Timestamp) { self.allowedAt = allowedAt }
    }
}
