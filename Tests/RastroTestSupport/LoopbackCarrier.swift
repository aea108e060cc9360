import Foundation

/// A carrier HTTP server on 127.0.0.1 (Tests/helpers/carrier_server.py),
/// serving the routes given; stopped when the test is done with it.
public final class LoopbackCarrier {
    public let port: Int
    public let requestLog: URL
    private let process: Process
    private let directory: URL

    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public init(routes: [[String: Any]]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-carrier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let spec = directory.appendingPathComponent("spec.json")
        try JSONSerialization.data(withJSONObject: ["routes": routes]).write(to: spec)
        requestLog = directory.appendingPathComponent("requests.jsonl")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.packageRoot.appendingPathComponent("Tests/helpers/carrier_server.py").path, spec.path, requestLog.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // Wait for the server's own signal that it listens, not for a fixed time.
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8), text.hasPrefix("PORT "),
              let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "carrier server did not start"])
        }
        self.port = port
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request the server received, in order.
    public func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOf: requestLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    deinit {
        // SIGKILL: the child may inherit a signal mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
