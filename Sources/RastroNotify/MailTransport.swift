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
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let safe = message.messageID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "@" ? $0 : "_" }
            try Data(message.rendered).write(to: folder.appendingPathComponent(String(safe) + ".eml"), options: .atomic)
        } catch {
            throw MailError(permanent: false, message: "cannot write to \(folder.path): \(error.localizedDescription)")
        }
    }
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
