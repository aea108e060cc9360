import Foundation
import RastroTransport

/// Where emails go: SMTP, or `.eml` files when no SMTP server is configured.
public protocol MailTransport: Sendable {
    func send(_ message: EmailMessage) async throws
    var description: String { get }
}

/// Why an email was not sent; `permanent` failures are not retried (a 5xx answer, say).
public struct MailError: Error, Sendable, CustomStringConvertible {
    public let permanent: Bool
    public let message: String
    public var description: String { message }
}

/// Writes each message to `<folder>/<Message-ID>.eml`, the way Django's and Rails'
/// file mail backends do. Writing again (a retry) replaces the same file.
public struct FileMailTransport: MailTransport {
    public let folder: URL

    public init(folder: URL) { self.folder = folder }

    public var description: String { "files in \(folder.path)" }

    public func send(_ message: EmailMessage) async throws {
        let folder = folder
        let safe = message.messageID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "@" ? $0 : "_" }
        let bytes = message.rendered
        // An atomic write fsyncs the file: on a GCD thread, so the wait for the disk never
        // holds one of the few threads that run the HTTP handlers (under a push load both
        // were often parked here).
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Self.queue.async {
                continuation.resume(with: Result {
                    do {
                        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                        try Data(bytes).write(to: folder.appendingPathComponent(String(safe) + ".eml"), options: .atomic)
                    } catch {
                        throw MailError(permanent: false, message: "cannot write to \(folder.path): \(error.localizedDescription)")
                    }
                })
            }
        }
    }

    private static let queue = DispatchQueue(label: "rastro.mail.files", attributes: .concurrent)
}

/// SMTP through libcurl (`smtp://host:port` with optional STARTTLS, or `smtps://`).
public struct SMTPMailTransport: MailTransport {
    public let client: SMTPClient
    public let settings: SMTPClient.Settings

    public init(settings: SMTPClient.Settings, client: SMTPClient = SMTPClient()) {
        self.settings = settings
        self.client = client
    }

    public var description: String { "SMTP \(settings.url)" }

    public func send(_ message: EmailMessage) async throws {
        do {
            try await client.send(from: message.fromAddress, to: [message.to], message: message.rendered, settings: settings)
        } catch let error as SMTPClient.Failure {
            throw MailError(permanent: error.permanent, message: error.message)
        }
    }
}
