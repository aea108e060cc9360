import Testing
@testable import RastroCore

@Suite("Poll policy and backoff")
struct PollPolicyTests {
    let policy = PollPolicy.platformDefault
    let dispatched = Timestamp(secondsSinceEpoch: 1_700_000_000)

    @Test func anAnsweredPollComesBackInSixHoursGiveOrTakeTheJitter() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<1_000 {
            let now = dispatched + .seconds(Int64.random(in: 0...(10 * 86400), using: &rng))
            let decision = policy.next(after: .answered, status: .inTransit, dispatchedAt: dispatched,
                                       consecutiveFailures: 0, now: now, unit: Double.random(in: 0..<1, using: &rng))
            guard case .pollAt(let at) = decision else { Issue.record("expected a poll, got \(decision)"); return }
            let gap = (at - now).wholeSeconds
            #expect(gap >= Int64(6 * 3600 * 0.9) && gap <= Int64(6 * 3600 * 1.1))
        }
    }

    @Test func theLastPollFallsOnTheWindowsEndAndThenTheShipmentExpires() {
        let nearEnd = dispatched + .seconds(12 * 86400 + 10 * 3600)
        let decision = policy.next(after: .answered, status: .inTransit, dispatchedAt: dispatched, consecutiveFailures: 0, now: nearEnd, unit: 0.9)
        #expect(decision == .pollAt(dispatched + policy.window))
        let atEnd = dispatched + policy.window
        #expect(policy.next(after: .answered, status: .inTransit, dispatchedAt: dispatched, consecutiveFailures: 0, now: atEnd, unit: 0.5) == .expire(.windowEnded))
    }

    @Test func terminalStatusesStopPolling() {
        for status in TrackingStatus.allCases where status.isTerminal {
            #expect(policy.next(after: .answered, status: status, dispatchedAt: dispatched, consecutiveFailures: 0, now: dispatched, unit: 0) == .stop)
        }
    }

    @Test func failuresDoNotUseUpTheWindow() {
        let atEnd = dispatched + policy.window + .seconds(60)
        let decision = policy.next(after: .failed(), status: .inTransit, dispatchedAt: dispatched, consecutiveFailures: 3, now: atEnd, unit: 0.5)
        guard case .pollAt = decision else { Issue.record("a failing poll at the window's end expired the shipment: \(decision)"); return }
        let afterGrace = dispatched + policy.window + policy.unreachableGrace
        #expect(policy.next(after: .failed(), status: .inTransit, dispatchedAt: dispatched, consecutiveFailures: 30, now: afterGrace, unit: 0.5) == .expire(.carrierUnreachable))
    }

    @Test func aCarriersRetryAfterIsHonoured() {
        let now = dispatched + .seconds(3600)
        let decision = policy.next(after: .failed(retryAfter: .seconds(900)), status: .inTransit, dispatchedAt: dispatched, consecutiveFailures: 1, now: now, unit: 0)
        #expect(decision == .pollAt(now + .seconds(900)))
    }

    @Test func pollNowHasACooldown() {
        let now = dispatched + .seconds(1000)
        #expect(policy.pollNow(lastRequestedAt: nil, now: now) == .success(now))
        #expect(policy.pollNow(lastRequestedAt: now - .seconds(10), now: now) == .failure(.init(allowedAt: now + .seconds(290))))
        #expect(policy.pollNow(lastRequestedAt: now - .seconds(300), now: now) == .success(now))
    }

    // Backoff properties over many seeds.
    @Test func backoffStaysWithinHalfToAllOfItsCeilingAndNeverPassesTheCap() {
        var rng = SplitMix64(seed: 42)
        let backoff = Backoff.poll
        for _ in 0..<10_000 {
            let attempt = Int.random(in: 1...60, using: &rng)
            let delay = backoff.delay(attempt: attempt, using: &rng)
            let ceiling = backoff.ceiling(attempt: attempt)
            #expect(delay >= ceiling / 2 && delay <= ceiling)
            #expect(delay <= backoff.cap)
        }
    }

    @Test func backoffCeilingsDoubleUntilTheCap() {
        let backoff = Backoff(base: .seconds(60), cap: .seconds(3600))
        var previous = Duration.zero
        for attempt in 1...20 {
            let ceiling = backoff.ceiling(attempt: attempt)
            #expect(ceiling >= previous)
            #expect(ceiling == min(.seconds(60 * (1 << (attempt - 1))), .seconds(3600)))
            previous = ceiling
        }
    }

    @Test func failedPollsAreScheduledWithinTheBackoffBounds() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            let failures = Int.random(in: 1...20, using: &rng)
            let now = dispatched + .seconds(Int64.random(in: 0...(12 * 86400), using: &rng))
            let decision = policy.next(after: .failed(), status: .inTransit, dispatchedAt: dispatched, consecutiveFailures: failures, now: now, unit: Double.random(in: 0..<1, using: &rng))
            guard case .pollAt(let at) = decision else { Issue.record("\(decision)"); return }
            let ceiling = policy.backoff.ceiling(attempt: failures)
            #expect(at - now >= .seconds((ceiling / 2).wholeSeconds) && at - now <= ceiling)
            #expect(at > now)
        }
    }
}
