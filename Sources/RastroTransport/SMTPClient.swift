import CCurl
import Foundation

/// Sends one message over SMTP with libcurl, on the shared multi engine.
public final class SMTPClient: Sendable {
    public struct Settings: Sendable, Hashable {
        /// `smtp://host:port` (plain, or STARTTLS with `startTLS`) or `smtps://host:port` (TLS from the start).
        public var url: String
        public var username: String?
        public var password: String?
        /// Require STARTTLS on an smtp:// URL.
        public var startTLS: Bool
        public var timeout: Double

        public init(url: String, username: String? = nil, password: String? = nil, startTLS: Bool = false, timeout: Double = 30) {
            self.url = url
            self.username = username
            self.password = password
            self.startTLS = startTLS
            self.timeout = timeout
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// A 5xx answer from the server: retrying will not help.
        public let permanent: Bool
        public let message: String
        public var description: String { message }
    }

    let engine: CurlMultiEngine

    public init(engine: CurlMultiEngine = .shared) { self.engine = engine }

    public func send(from: String, to recipients: [String], message: [UInt8], settings: Settings) async throws {
        let transfer = try SMTPTransfer(from: from, to: recipients, message: message, settings: settings)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            engine.submit(transfer.easy) { code in
                continuation.resume(with: Result { try transfer.finish(code) })
            }
        }
    }
}

/// One SMTP transfer's easy handle and the message it reads from.
final class SMTPTransfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    private var recipients: UnsafeMutablePointer<curl_slist>?
    private let source: Source
    private let url: String

    final class Source {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    init(from: String, to: [String], message: [UInt8], settings: SMTPClient.Settings) throws {
        guard let h = curl_easy_init() else { throw SMTPClient.Failure(permanent: false, message: "curl_easy_init failed") }
        easy = h
        url = settings.url
        source = Source(message)
        rastro_curl_setopt_string(h, CURLOPT_URL, settings.url)
        rastro_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        rastro_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        rastro_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(settings.timeout * 1000))
        rastro_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(min(settings.timeout, 10) * 1000))
        rastro_curl_setopt_string(h, CURLOPT_MAIL_FROM, "<\(from)>")
        for r in to { recipients = curl_slist_append(recipients, "<\(r)>") }
        rastro_curl_setopt_slist(h, CURLOPT_MAIL_RCPT, recipients)
        if settings.startTLS { rastro_curl_setopt_long(h, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }
        if let user = settings.username { rastro_curl_setopt_string(h, CURLOPT_USERNAME, user) }
        if let password = settings.password { rastro_curl_setopt_string(h, CURLOPT_PASSWORD, password) }
        rastro_curl_setopt_long(h, CURLOPT_UPLOAD, 1)
        rastro_curl_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.count))
        // Same C signature as a write callback: (char *buffer, size_t size, size_t nitems, void *userdata).
        rastro_curl_setopt_writefn(h, CURLOPT_READFUNCTION) { buffer, size, count, user in
            let source = Unmanaged<Source>.fromOpaque(user!).takeUnretainedValue()
            let n = min(size * count, source.bytes.count - source.offset)
            guard n > 0, let buffer else { return 0 }
            source.bytes.withUnsafeBufferPointer { all in
                UnsafeMutableRawPointer(buffer).copyMemory(from: all.baseAddress! + source.offset, byteCount: n)
            }
            source.offset += n
            return n
        }
        rastro_curl_setopt_pointer(h, CURLOPT_READDATA, Unmanaged.passUnretained(source).toOpaque())
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(recipients)
    }

    func finish(_ code: CURLcode) throws {
        guard code != CURLE_OK else { return }
        var reply = 0
        rastro_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &reply)
        let text = String(cString: curl_easy_strerror(code))
        throw SMTPClient.Failure(permanent: reply >= 500 && reply < 600,
                                 message: "SMTP \(url): \(text)\(reply > 0 ? " (server answered \(reply))" : "")")
    }
}
