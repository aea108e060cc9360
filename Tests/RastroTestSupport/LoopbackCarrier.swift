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
        (process, port) = try PythonHelper.start("carrier_server.py", arguments: [spec.path, requestLog.path])
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Replaces the served routes at run time (a carrier changing its API mid-run).
    public func replaceRoutes(_ routes: [[String: Any]]) throws {
        let body = try JSONSerialization.data(withJSONObject: ["routes": routes])
        let status = try Self.rawPost(port: port, path: "/_control/spec", body: body)
        guard status == 204 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "spec swap answered \(status)"]) }
    }

    /// A minimal blocking HTTP/1.0 POST over a socket: the test support has no HTTP client of its own.
    static func rawPost(port: Int, path: String, body: Data) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var request = Data("POST \(path) HTTP/1.0\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request.append(body)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var reply = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &reply, reply.count, 0)
        let line = String(decoding: reply.prefix(max(0, n)), as: UTF8.self)
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Waits until the server has received `count` requests (it logs each on arrival,
    /// before any delay), checking every 10 ms; false if `timeout` passes first.
    public func waitForRequests(_ count: Int, timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if requests().count >= count { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return requests().count >= count
    }

    /// Every request the server received, in order.
    public func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOf: requestLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    deinit {
        PythonHelper.stop(process)
        try? FileManager.default.removeItem(at: directory)
    }
}
