import CCurl
import Foundation
import Synchronization

/// libcurl's multi interface on a dedicated thread.
///
/// Callers hand over configured easy handles with `submit`; the engine thread
/// adds them to the multi handle, drives all transfers with
/// `curl_multi_perform`/`curl_multi_poll`, and calls each completion on that
/// thread when its transfer ends. `curl_multi_wakeup` interrupts the poll when
/// new work arrives, so a submission never waits for a timeout.
public final class CurlMultiEngine: Sendable {
    /// One engine for the process: curl shares connections and DNS cache across its transfers.
    public static let shared = CurlMultiEngine()

    private struct Submission: @unchecked Sendable {
        // The easy handle belongs to the engine thread from submission until completion.
        let easy: UnsafeMutableRawPointer
        let completion: @Sendable (CURLcode) -> Void
    }

    private struct State {
        var pending: [Submission] = []
        var stopping = false
    }

    private let multi: MultiHandle
    private let state = Mutex(State())

    /// The CURLM pointer, only touched on the engine thread (and by curl_multi_wakeup, which is thread-safe).
    private final class MultiHandle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        init() {
            _ = CurlMultiEngine.globalInit
            pointer = curl_multi_init()
        }
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(maxConnectionsPerHost: Int = 16) {
        multi = MultiHandle()
        rastro_curl_multi_setopt_long(multi.pointer, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        // The thread holds the engine until shutdown(); the shared engine lives as long as the process.
        let thread = Thread { [self] in run() }
        thread.name = "rastro.curl"
        thread.start()
    }

    /// Starts a transfer; `completion` runs on the engine thread with curl's result code.
    func submit(_ easy: UnsafeMutableRawPointer, completion: @escaping @Sendable (CURLcode) -> Void) {
        let accepted = state.withLock { state -> Bool in
            if state.stopping { return false }
            state.pending.append(Submission(easy: easy, completion: completion))
            return true
        }
        if accepted { curl_multi_wakeup(multi.pointer) } else { completion(CURLE_ABORTED_BY_CALLBACK) }
    }

    /// Stops the thread after failing whatever is still running (tests and shutdown).
    public func shutdown() {
        state.withLock { $0.stopping = true }
        curl_multi_wakeup(multi.pointer)
    }

    private func run() {
        var running: [UnsafeMutableRawPointer: @Sendable (CURLcode) -> Void] = [:]
        while true {
            let (incoming, stopping) = state.withLock { state -> ([Submission], Bool) in
                defer { state.pending.removeAll() }
                return (state.pending, state.stopping)
            }
            for submission in incoming {
                if curl_multi_add_handle(multi.pointer, submission.easy) == CURLM_OK {
                    running[submission.easy] = submission.completion
                } else {
                    submission.completion(CURLE_FAILED_INIT)
                }
            }
            if stopping {
                for (easy, completion) in running {
                    curl_multi_remove_handle(multi.pointer, easy)
                    completion(CURLE_ABORTED_BY_CALLBACK)
                }
                curl_multi_cleanup(multi.pointer)
                return
            }
            var stillRunning: Int32 = 0
            curl_multi_perform(multi.pointer, &stillRunning)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi.pointer, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi.pointer, easy)
                running.removeValue(forKey: easy)?(code)
            }
            // Sleeps until a socket is ready, a curl timer is due, or submit() wakes it.
            curl_multi_poll(multi.pointer, nil, 0, 1000, nil)
        }
    }
}
