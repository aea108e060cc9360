import Synchronization

/// Wakes a loop that otherwise looks for work every so often.
///
/// The scheduler used to check a flag every 25 ms, so a slot freed by a finished batch
/// sat idle until the next check. A signal given while nobody waits is kept, so the
/// next wait returns at once.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal (at once if one came since the last wait), after
    /// `timeout`, or when the task is cancelled. One waiter at a time.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Cancelled: the signal came first (or the loop is stopping); nothing to do.
                do { try await Task.sleep(for: timeout) } catch { return }
                self.signal()
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let now = state.withLock { s -> Bool in
                        if s.pending || Task.isCancelled {
                            s.pending = false
                            return true
                        }
                        s.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                signal()
            }
            // The timeout's signal, if it fired, was used by this wait, not left for the next.
            state.withLock { $0.pending = false }
            group.cancelAll()
        }
    }
}
