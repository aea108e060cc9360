import Testing
@testable import RastroService

/// The scheduler's wake-up: a freed slot or a registration starts the next pass at once.
@Suite("Wake signal", .timeLimit(.minutes(1)))
struct WakeSignalTests {
    @Test func aSignalGivenBeforeTheWaitEndsItAtOnce() async {
        let signal = WakeSignal()
        signal.signal()
        await signal.wait(timeout: .seconds(3600))
    }

    @Test func aSignalFromAnotherTaskEndsTheWait() async {
        let signal = WakeSignal()
        let waiting = Task { await signal.wait(timeout: .seconds(3600)) }
        // Signals before the wait starts are kept, so this cannot be lost to a race.
        signal.signal()
        await waiting.value
    }

    @Test func withoutASignalTheWaitEndsAtItsTimeout() async {
        let signal = WakeSignal()
        let clock = ContinuousClock()
        let waited = await clock.measure { await signal.wait(timeout: .milliseconds(20)) }
        #expect(waited >= .milliseconds(20))
    }

    @Test func aStoppingLoopIsNotLeftWaiting() async {
        let signal = WakeSignal()
        let waiting = Task { await signal.wait(timeout: .seconds(3600)) }
        waiting.cancel()
        await waiting.value
    }

    @Test func oneSignalEndsOneWaitNotTwo() async {
        let signal = WakeSignal()
        signal.signal()
        signal.signal()
        await signal.wait(timeout: .seconds(3600))
        let clock = ContinuousClock()
        let waited = await clock.measure { await signal.wait(timeout: .milliseconds(20)) }
        #expect(waited >= .milliseconds(20))
    }
}
