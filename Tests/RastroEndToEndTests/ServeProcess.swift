import Foundation
import RastroTestSupport

/// `rastro serve` as a child process on a temporary data folder, the way an
/// operator runs it; its log goes to a file the test can read.
final class ServeProcess {
    let process = Process()
    let log: URL
    private(set) var port = 0

    convenience init(data: URL, carriers: URL, extra: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(logIn: data, arguments: ["--port", "0", "--data", data.path, "--carriers", carriers.path, "--reload-every", "0.2"] + extra,
                      environment: environment)
    }

    /// `rastro serve` with exactly `arguments` (a configuration file's test sets no flag); the log goes to `logIn`.
    init(logIn folder: URL, arguments: [String], environment: [String: String] = [:]) throws {
        log = folder.appendingPathComponent("serve-\(UUID().uuidString.prefix(6)).log")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = RastroBinary.executable
        process.arguments = ["serve"] + arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // The listening line, in the text format (url=http://…) or the JSON one ("url":"http://…").
        guard let line = try waitForLine(timeout: 30, where: { $0.contains("url=http://") || $0.contains(#""url":"http://"#) }),
              let range = line.range(of: #"http://[0-9.]+:(\d+)"#, options: .regularExpression) else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "rastro serve did not start:\n\(logText)"])
        }
        port = Int(line[range].split(separator: ":").last!)!
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The first log line containing `text`, waiting for the process to write it.
    func waitForLog(containing text: String, timeout: TimeInterval) throws -> String? {
        try waitForLine(timeout: timeout) { $0.contains(text) }
    }

    /// The first log line that `matches`, waiting for the process to write it.
    func waitForLine(timeout: TimeInterval, where matches: (Substring) -> Bool) throws -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = logText.split(separator: "\n").first(where: matches) { return String(line) }
            if !process.isRunning { return nil }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends `signal` and waits for the exit status (nil if it did not exit in time).
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> Int32? {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill9(); return nil }
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill9() } }
}

/// Waits for `condition`, checking every 100 ms, up to `timeout`.
func eventually(timeout: TimeInterval = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try condition()
}
