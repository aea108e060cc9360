import Foundation
import Synchronization

/// Starts one of Tests/helpers/*.py, which prints "PORT <n>" once it listens on 127.0.0.1.
public enum PythonHelper {
    static func start(_ script: String, arguments: [String]) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", LoopbackCarrier.packageRoot.appendingPathComponent("Tests/helpers/\(script)").path] + arguments
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
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(script) did not start"])
        }
        return (process, port)
    }

    /// Runs a helper to completion with `input` on its standard input: its exit status and standard output
    /// (standard error is appended after a blank line, for failure messages).
    public static func run(_ script: String, arguments: [String] = [], input: Data) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", LoopbackCarrier.packageRoot.appendingPathComponent("Tests/helpers/\(script)").path] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Write and read on separate threads: a large input or output would otherwise fill a pipe and stall both sides.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errors = Mutex(Data())
        let reader = Thread { errors.withLock { $0 = stderr.fileHandleForReading.readDataToEndOfFile() } }
        reader.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while reader.isExecuting || writer.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        let text = String(decoding: output, as: UTF8.self)
        let problems = errors.withLock { String(decoding: $0, as: UTF8.self) }
        return (process.terminationStatus, problems.isEmpty ? text : text + "\n\n" + problems)
    }

    static func stop(_ process: Process) {
        // SIGKILL: the child may inherit a signal mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.
public final class LoopbackSMTP {
    public let port: Int
    public let inbox: URL
    private let process: Process

    /// `port`: listen on this port (to bring a server "back" where one was down); 0 picks one.
    public init(port: Int = 0, inbox: URL? = nil) throws {
        self.inbox = inbox ?? FileManager.default.temporaryDirectory.appendingPathComponent("rastro-smtp-\(UUID().uuidString)")
        (process, self.port) = try PythonHelper.start("smtp_server.py", arguments: [self.inbox.path, String(port)])
    }

    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// Raw messages received, in order.
    public func messages() -> [Data] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: inbox.path)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
        return files.compactMap { FileManager.default.contents(atPath: inbox.appendingPathComponent($0).path) }
    }

    public func stop() { PythonHelper.stop(process) }

    deinit { PythonHelper.stop(process) }
}

/// A port nothing listens on (yet): bind, read the port, close.
public func unusedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
