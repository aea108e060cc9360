/// Exponential backoff with jitter, for polls that failed and deliveries that bounced.
///
/// "Equal jitter": the delay for attempt n is half of min(cap, base·2ⁿ⁻¹) plus a
/// random share of the other half, so retries never bunch at zero (as full
/// jitter can) and never exceed the cap. Randomness is injected.
public struct Backoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration, cap: Duration) {
        precondition(base > .zero && cap >= base, "backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
    }

    /// Polls: a minute, doubling, at most six hours (the normal cadence).
    public static let poll = Backoff(base: .seconds(60), cap: .seconds(6 * 3600))

    /// The ceiling for attempt `attempt` (1-based): min(cap, base·2^(attempt-1)).
    public func ceiling(attempt: Int) -> Duration {
        let exponent = max(0, min(attempt - 1, 40))
        let baseSeconds = Double(base.components.seconds) + Double(base.components.attoseconds) / 1e18
        let capSeconds = Double(cap.components.seconds) + Double(cap.components.attoseconds) / 1e18
        return .milliseconds(Int64(min(capSeconds, baseSeconds * Double(1 << exponent)) * 1000))
    }

    /// The delay before retry number `attempt`, with `unit` ∈ [0, 1) as the random draw.
    public func delay(attempt: Int, unit: Double) -> Duration {
        let ceiling = ceiling(attempt: attempt)
        let u = min(max(unit, 0), 0.999_999)
        return ceiling / 2 + (ceiling / 2) * u
    }

    public func delay(attempt: Int, using rng: inout some RandomNumberGenerator) -> Duration {
        delay(attempt: attempt, unit: Double.random(in: 0..<1, using: &rng))
    }
}

extension Duration {
    /// Whole seconds, rounded down; what the store's integer clocks hold.
    public var wholeSeconds: Int64 { components.seconds }
}
