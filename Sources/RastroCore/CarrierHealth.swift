/// How a carrier integration is doing, judged from its recent polls.
public enum CarrierState: String, Sendable, Codable, CaseIterable, Comparable {
    case healthy, degraded, broken

    var severity: Int { switch self { case .healthy: 0; case .degraded: 1; case .broken: 2 } }
    public static func < (a: Self, b: Self) -> Bool { a.severity < b.severity }
}

/// What one poll (one request) said about the integration.
public enum PollVerdict: String, Sendable, Codable, CaseIterable {
    case newEvents = "new_events", unchanged, notFound = "not_found", invalidNumber = "invalid_number"
    case auth, rateLimited = "rate_limited", temporary, broken

    public enum Class: Sendable { case good, transient, bad }

    /// Valid answers are good — a quiet carrier is a healthy one. Refused credentials
    /// and responses the script no longer understands are the integration failing;
    /// 5xx, timeouts and rate limits are passing trouble.
    public var `class`: Class {
        switch self {
        case .newEvents, .unchanged, .notFound, .invalidNumber: .good
        case .temporary, .rateLimited: .transient
        case .auth, .broken: .bad
        }
    }

    /// One request's verdict from its shipments' outcomes: the worst of them.
    public static func aggregate(_ items: [PollVerdict]) -> PollVerdict? {
        let order: [PollVerdict] = [.broken, .auth, .temporary, .rateLimited, .newEvents, .unchanged, .notFound, .invalidNumber]
        return order.first(where: items.contains)
    }
}

/// The thresholds of carrier health (the `[health]` settings); each is documented in docs/carrier-health.md.
public struct HealthThresholds: Sendable, Hashable {
    /// How many recent polls are judged.
    public var window = 50
    /// Shares are not judged on fewer settled polls than this.
    public var minimumPolls = 10
    /// This many failing polls in a row, mostly bad (auth/broken): broken at once.
    public var brokenRun = 10
    /// Share of bad polls among the settled ones that makes a carrier broken…
    public var brokenShare = 0.5
    /// …and degraded.
    public var degradedShare = 0.2
    /// Share of transient failures (5xx, timeouts, rate limits) that makes a carrier degraded.
    public var transientShare = 0.5
    /// No valid answer at all for this long, whatever the failures: broken.
    public var outageAfter: Duration = .seconds(3600)
    /// Good polls in a row that end a breakage.
    public var recoveryRun = 5
    /// A degraded carrier is healthy again when its shares fall below threshold × this (no flapping).
    public var hysteresis = 0.5
    /// An active shipment with no new event for this long is stale…
    public var staleAfter: Duration = .seconds(5 * 86400)
    /// …and this share of stale active shipments (among at least `staleMinimum`) makes a carrier degraded.
    public var staleShare = 0.8
    public var staleMinimum = 20

    public init() {}
}

/// One poll as carrier health sees it.
public struct HealthObservation: Sendable, Hashable {
    public var at: Timestamp
    public var verdict: PollVerdict
    /// `ResponseShape.describe` of the response.
    public var shape: String

    public init(at: Timestamp, verdict: PollVerdict, shape: String) {
        self.at = at
        self.verdict = verdict
        self.shape = shape
    }
}

/// A change of a carrier's state: alerted once, logged once.
public struct HealthTransition: Sendable, Hashable {
    public var carrier: String
    public var from: CarrierState
    public var to: CarrierState
    public var reason: String
    /// When the trouble (or the recovery) began: the first poll that showed it.
    public var since: Timestamp
    public var at: Timestamp
}

/// A carrier's health as a value-type state machine: feed it polls (and, now and
/// then, the share of stale shipments); it answers with a transition when the
/// state changes, and nothing otherwise. No clock, no I/O.
///
/// The rules, in order:
/// 1. The trailing run of failing polls is judged as a whole. It makes the carrier
///    broken when it holds `brokenRun` bad polls, or when it has lasted
///    `outageAfter` with no valid answer; until then it is undecided (a blip or a
///    breakage: we know within `brokenRun` polls), so it counts for nothing.
/// 2. Over the settled polls of the window (at least `minimumPolls`): a bad share
///    ≥ `brokenShare` is broken; a bad share ≥ `degradedShare`, a transient share
///    ≥ `transientShare`, or too many stale shipments is degraded.
/// 3. Broken ends only with `recoveryRun` good polls in a row; the window then
///    forgets the breakage. Degraded ends when its shares fall below threshold × `hysteresis`.
public struct CarrierHealth: Sendable {
    public let carrier: String
    public var thresholds: HealthThresholds
    public private(set) var state: CarrierState
    public private(set) var reason: String
    public private(set) var since: Timestamp?
    public private(set) var observations: [HealthObservation] = []
    /// The usual shape of a good answer, e.g. `JSON {parcels}`.
    public private(set) var norm: String?
    public private(set) var lastSuccess: Timestamp?
    public private(set) var stale: (active: Int, stale: Int) = (0, 0)

    public init(carrier: String, thresholds: HealthThresholds = .init(), state: CarrierState = .healthy,
                reason: String = "no problem seen", since: Timestamp? = nil) {
        self.carrier = carrier
        self.thresholds = thresholds
        self.state = state
        self.reason = reason
        self.since = since
    }

    /// Takes a state recorded elsewhere (the store, at start or by another process) without a transition.
    public mutating func adopt(state: CarrierState, reason: String, since: Timestamp?) {
        self.state = state
        self.reason = reason
        self.since = since
    }

    /// Adds a poll without judging (loading history); returns nothing.
    public mutating func replay(_ observation: HealthObservation) { append(observation) }

    public mutating func record(_ observation: HealthObservation) -> HealthTransition? {
        append(observation)
        return judge(now: observation.at)
    }

    public mutating func updateStale(active: Int, stale count: Int, now: Timestamp) -> HealthTransition? {
        stale = (active, count)
        return judge(now: now)
    }

    private mutating func append(_ observation: HealthObservation) {
        observations.append(observation)
        if observations.count > thresholds.window { observations.removeFirst(observations.count - thresholds.window) }
        if observation.verdict.class == .good {
            lastSuccess = max(lastSuccess ?? observation.at, observation.at)
            // The norm is the most common good shape in the window.
            var counts: [String: Int] = [:]
            for o in observations where o.verdict.class == .good { counts[o.shape, default: 0] += 1 }
            norm = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        }
    }

    /// The state the rules give now, with its reason and start.
    public func assessment(now: Timestamp) -> (state: CarrierState, reason: String, since: Timestamp?) {
        let t = thresholds
        let run = Array(observations.reversed().prefix { $0.verdict.class != .good }.reversed())
        let badInRun = run.filter { $0.verdict.class == .bad }
        if badInRun.count >= t.brokenRun {
            return (.broken, describe(run, of: run.count, lead: "the last \(run.count) polls failed:"), run.first?.at)
        }
        if let first = run.first, run.count >= 3, now - first.at >= t.outageAfter {
            return (.broken, describe(run, of: run.count, lead: "no valid answer for \(Self.words(now - first.at)):"), first.at)
        }
        var settled = observations.dropLast(run.count)
        if state == .broken {
            let good = observations.reversed().prefix { $0.verdict.class == .good }.count
            if good < t.recoveryRun { return (state, reason, since) }
            settled = settled.suffix(good)   // the breakage is behind us: judge what came after it
        }
        var verdict: (CarrierState, String, Timestamp?) = (.healthy, "no problem seen", nil)
        let relax = state == .degraded ? t.hysteresis : 1
        if settled.count >= t.minimumPolls {
            let bad = settled.filter { $0.verdict.class == .bad }
            let transient = settled.filter { $0.verdict.class == .transient }
            let n = Double(settled.count)
            if Double(bad.count) / n >= t.brokenShare {
                return (.broken, describe(bad, of: settled.count), bad.first?.at)
            }
            if Double(bad.count) / n >= t.degradedShare * relax {
                verdict = (.degraded, describe(bad, of: settled.count), bad.first?.at)
            } else if Double(transient.count) / n >= t.transientShare * relax {
                verdict = (.degraded, describe(transient, of: settled.count), transient.first?.at)
            }
        }
        if verdict.0 == .healthy, stale.active >= t.staleMinimum, Double(stale.stale) / Double(stale.active) >= t.staleShare * relax {
            let pct = Int((Double(stale.stale) * 100 / Double(stale.active)).rounded())
            verdict = (.degraded, "\(pct)% of \(stale.active) active shipments have had no new event for \(Self.words(t.staleAfter))", now)
        }
        if state == .broken, verdict.0 == .healthy {
            verdict.1 = "recovered: the last \(observations.reversed().prefix { $0.verdict.class == .good }.count) polls were answered normally"
        }
        return verdict
    }

    private mutating func judge(now: Timestamp) -> HealthTransition? {
        let (next, why, start) = assessment(now: now)
        guard next != state else {
            if next != .healthy { reason = why }
            return nil
        }
        let transition = HealthTransition(carrier: carrier, from: state, to: next, reason: why, since: start ?? now, at: now)
        if state == .broken {
            // The breakage is over: judge from here on what the carrier does now.
            let good = observations.reversed().prefix { $0.verdict.class == .good }.count
            observations.removeFirst(observations.count - good)
        }
        state = next
        reason = why
        since = transition.since
        return transition
    }

    /// "82% of the last 50 polls returned HTML instead of JSON {parcels} since 2026-11-23 14:05 UTC"
    func describe(_ failures: [HealthObservation], of total: Int, lead: String? = nil) -> String {
        guard let first = failures.first else { return "no problem seen" }
        var groups: [String: (count: Int, verdict: PollVerdict, shape: String)] = [:]
        for f in failures {
            let key = f.verdict.rawValue + "|" + f.shape
            groups[key, default: (0, f.verdict, f.shape)].count += 1
        }
        let top = groups.values.max { $0.count < $1.count || ($0.count == $1.count && $0.shape > $1.shape) }!
        let what: String
        switch top.verdict {
        case .broken:
            if let norm, norm != top.shape { what = "returned \(top.shape) instead of \(norm)" }
            else { what = "returned \(top.shape) that the script no longer understands" }
        case .auth: what = "were refused (authentication failed: \(top.shape))"
        case .rateLimited: what = "were rate limited (\(top.shape))"
        case .temporary: what = top.shape == ResponseShape.noResponse ? "got no response" : "failed temporarily (\(top.shape))"
        default: what = "answered \(top.shape)"
        }
        let at = first.at.components(offsetSeconds: 0)
        let when = "since \(at.date) \(at.time) UTC"
        if let lead { return "\(lead) \(top.count == failures.count ? "all" : "\(top.count) of them") \(what) \(when)" }
        let pct = Int((Double(top.count) * 100 / Double(max(total, 1))).rounded())
        return "\(pct)% of the last \(total) polls \(what) \(when)"
    }

    /// "1 h 5 min", "3 days"
    static func words(_ d: Duration) -> String {
        let s = d.components.seconds
        if s >= 86400, s % 86400 == 0 { return "\(s / 86400) day\(s == 86400 ? "" : "s")" }
        if s >= 3600 { return "\(s / 3600) h" + (s % 3600 >= 60 ? " \(s % 3600 / 60) min" : "") }
        return "\(max(1, s / 60)) min"
    }
}
