import CCurl
import Foundation
import RastroCore

/// Why a request was not performed or did not complete.
public struct TransportError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case hostNotAllowed, timeout, tooLarge, connection, invalidURL }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The URL's host is not in the carrier's allow-list.
        public static let hostNotAllowed = Kind(.hostNotAllowed)
        public static let timeout = Kind(.timeout)
        /// The response body passed the size cap.
        public static let tooLarge = Kind(.tooLarge)
        public static let connection = Kind(.connection)
        public static let invalidURL = Kind(.invalidURL)
        public var description: String { base.rawValue }
    }

    public let kind: Kind
    public let message: String
    public var description: String { message }
}

/// Which hosts a carrier may reach: the script's `hosts`, plus the host of a
/// base URL the operator configured (a staging or loopback server).
public struct EgressPolicy: Sendable, Hashable {
    public var hosts: Set<String>

    public init(hosts: some Sequence<String>) { self.hosts = Set(hosts.map { $0.lowercased() }) }

    public func allows(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host?.lowercased() else { return false }
        return hosts.contains(host)
    }
}

/// HTTP through libcurl's multi interface.
///
/// Every transfer runs on one dedicated thread (`CurlMultiEngine`), so slow
/// carriers never occupy Swift's cooperative pool and hundreds of requests can
/// be in flight at once. Redirects are never followed (a carrier that moves is
/// a carrier that changed), only http/https are spoken, signals are off
/// (CURLOPT_NOSIGNAL), and bodies over the cap abort the transfer.
public final class CurlHTTPClient: Sendable {
    public let maxResponseBytes: Int
    let engine: CurlMultiEngine

    public init(maxResponseBytes: Int = 8 << 20, engine: CurlMultiEngine = .shared) {
        self.maxResponseBytes = maxResponseBytes
        self.engine = engine
    }

    /// `pinned`: connect to this address for the URL's host (checked by the caller), so a DNS
    /// answer that changes between the check and the connection cannot redirect the request.
    public func perform(_ request: HTTPRequest, policy: EgressPolicy, pinned: String? = nil) async throws -> HTTPResponse {
        guard policy.allows(request.url) else {
            let host = URLComponents(string: request.url)?.host ?? request.url
            throw TransportError(kind: .hostNotAllowed, message: "\(host) is not in the carrier's allowed hosts (\(policy.hosts.sorted().joined(separator: ", ")))")
        }
        let transfer = try HTTPTransfer(request, cap: maxResponseBytes, pinned: pinned)
        return try await withCheckedThrowingContinuation { continuation in
            engine.submit(transfer.easy) { code in
                continuation.resume(with: Result { try transfer.finish(code) })
            }
        }
    }
}

/// One HTTP request's easy handle and what it collects. Owned by the caller
/// until submitted, then by the engine thread until its completion runs.
final class HTTPTransfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    let request: HTTPRequest
    let cap: Int
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var resolveList: UnsafeMutablePointer<curl_slist>?
    private let sink: Sink

    /// Collects the body and headers; refuses bytes past the cap.
    final class Sink {
        var body: [UInt8] = []
        var headerLines: [String] = []
        var overflow = false
        let cap: Int
        init(cap: Int) { self.cap = cap }
    }

    init(_ request: HTTPRequest, cap: Int, pinned: String? = nil) throws {
        guard let h = curl_easy_init() else { throw TransportError(kind: .connection, message: "curl_easy_init failed") }
        easy = h
        self.request = request
        self.cap = cap
        sink = Sink(cap: cap)
        let sinkPtr = Unmanaged.passUnretained(sink).toOpaque()

        rastro_curl_setopt_string(h, CURLOPT_URL, request.url)
        rastro_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        rastro_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        rastro_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
        rastro_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(request.timeout * 1000))
        rastro_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(min(request.timeout, 10) * 1000))
        rastro_curl_setopt_string(h, CURLOPT_ACCEPT_ENCODING, "")
        rastro_curl_setopt_string(h, CURLOPT_USERAGENT, "rastro/0.1")
        rastro_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method)
        if request.method == "HEAD" { rastro_curl_setopt_long(h, CURLOPT_NOBODY, 1) }
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        headerList = curl_slist_append(headerList, "Expect:")
        rastro_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList)
        if let pinned, let components = URLComponents(string: request.url), let host = components.host {
            let port = components.port ?? (components.scheme == "https" ? 443 : 80)
            let address = pinned.contains(":") ? "[\(pinned)]" : pinned
            resolveList = curl_slist_append(resolveList, "\(host):\(port):\(address)")
            rastro_curl_setopt_slist(h, CURLOPT_RESOLVE, resolveList)
        }
        if let body = request.body {
            // COPYPOSTFIELDS: curl keeps its own copy, so no buffer has to outlive this call.
            rastro_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            _ = body.withUnsafeBufferPointer { buf in
                rastro_curl_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buf.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
        }
        rastro_curl_setopt_writefn(h, CURLOPT_WRITEFUNCTION) { ptr, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            if sink.body.count + n > sink.cap { sink.overflow = true; return 0 }
            sink.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: n))
            return n
        }
        rastro_curl_setopt_pointer(h, CURLOPT_WRITEDATA, sinkPtr)
        rastro_curl_setopt_writefn(h, CURLOPT_HEADERFUNCTION) { ptr, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            sink.headerLines.append(String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self))
            return n
        }
        rastro_curl_setopt_pointer(h, CURLOPT_HEADERDATA, sinkPtr)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        curl_slist_free_all(resolveList)
    }

    /// The response, or why there is none; called on the engine thread when the transfer ends.
    func finish(_ code: CURLcode) throws -> HTTPResponse {
        if sink.overflow {
            throw TransportError(kind: .tooLarge, message: "response body exceeds \(cap) bytes")
        }
        guard code == CURLE_OK else {
            let text = String(cString: curl_easy_strerror(code))
            let kind: TransportError.Kind = code == CURLE_OPERATION_TIMEDOUT ? .timeout : code == CURLE_URL_MALFORMAT ? .invalidURL : .connection
            throw TransportError(kind: kind, message: "\(request.method) \(request.url): \(text)")
        }
        var status = 0
        rastro_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: Self.headers(sink.headerLines), body: sink.body)
    }

    /// Headers of the last response (after a 100-continue, say), names lowercased.
    static func headers(_ lines: [String]) -> [String: String] {
        var headers: [String: String] = [:]
        for line in lines {
            if line.hasPrefix("HTTP/") { headers = [:]; continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        return headers
    }
}
