import Foundation
import Testing

/// The crash soak (bench/soak.py) in its short form: the built binary killed with
/// SIGKILL ten times while it polls and delivers, then drained and verified. The
/// long form (200+ kills) is in docs/reliability.md.
///
/// A test of the serialized `rastro serve` suite, so it never runs beside that suite's
/// synchronous tests: those hold one of Swift's two cooperative threads for minutes, and
/// with the soak's load beside them the other thread's blocking helpers stalled the
/// async suites past their waits.
extension ServeTests {
    @Test(.timeLimit(.minutes(5)))
    func tenKillsDuringPollingAndDeliveryLoseNothingAndStoreNothingTwice() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Niced: the soak and the services it starts take the CPU only when the rest of the suite
        // does not want it (the suite's synchronous helpers hold the 2 cooperative threads while
        // their child processes start; under load, slower starts stall every async test).
        process.arguments = ["nice", "-n", "10", "python3", RastroBinary.root.appendingPathComponent("bench/soak.py").path,
                             "--binary", RastroBinary.executable.path, "--kills", "10", "--seed", "\(Int.random(in: 1...1_000_000))",
                             "--initial", "4", "--per-run", "1", "--uptime", "0.3", "1.5", "--drain-timeout", "90", "--self-check"]
        // On tmpfs when there is one: a kill -9 tests what the process leaves behind, which does
        // not depend on fsync reaching a disk, and the soak's many fsyncs would otherwise slow
        // every other suite's SQLite commits on a shared disk.
        let shm = URL(fileURLWithPath: "/dev/shm")
        let work = (FileManager.default.isWritableFile(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory)
            .appendingPathComponent("rastro-soak-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        process.arguments! += ["--work", work.path]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RASTRO_CORPUS")
        process.environment = env
        // Output to a file and the exit awaited, not blocked on: a test thread held for the
        // soak's half minute would starve the other suites' async tests of the shared pool.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-soak-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try handle.close()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text)")
        #expect(text.contains("PASS") && text.contains("self-check:"), "\(text)")
        // The table the soak prints: a run that killed nothing or delivered nothing proves nothing.
        func figure(_ name: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
        }
        #expect(figure("kills") == 10, "\(text)")
        #expect((figure("events served") ?? 0) > 0 && (figure("notifications intended") ?? 0) > 0, "\(text)")
        #expect(figure("lost") == 0 && figure("events stored twice") == 0 && figure("duplicates after dedup") == 0, "\(text)")
    }
}
