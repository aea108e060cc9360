import Synchronization

/// Events handed over from the service, awaited by the test: each `next` resumes
/// when an event arrives (a signal), or with nil when the timeout passes first.
public final class Inbox<T: Sendable>: Sendable {
    private struct State {
        var buffer: [T] = []
        var waiter: (id: Int, continuation: CheckedContinuation<T?, Never>)?
        var nextId = 0
    }
    private let state = Mutex(State())

    public init() {}

    public func put(_ value: T) {
        let waiter = state.withLock { s -> CheckedContinuation<T?, Never>? in
            if let w = s.waiter { s.waiter = nil; return w.continuation }
            s.buffer.append(value)
            return nil
        }
        waiter?.resume(returning: value)
    }

    /// Everything delivered and not yet read.
    public func drain() -> [T] { state.withLock { s in defer { s.buffer.removeAll() }; return s.buffer } }

    public func next(timeout: Duration) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let ready: T?? = state.withLock { s in
                if !s.buffer.isEmpty { return .some(s.buffer.removeFirst()) }
                s.nextId += 1
                s.waiter = (s.nextId, continuation)
                return .none
            }
            if case .some(let value) = ready { continuation.resume(returning: value); return }
            let id = state.withLock { $0.nextId }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.state.withLock { s -> CheckedContinuation<T?, Never>? in
                    guard let w = s.waiter, w.id == id else { return nil }
                    s.waiter = nil
                    return w.continuation
                }
                expired?.resume(returning: nil)
            }
        }
    }
}

