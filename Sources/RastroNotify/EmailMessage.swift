import Foundation
import RastroCore

/// A MIME email: multipart/alternative with a text and an HTML part, UTF-8,
/// base64 bodies, CRLF line ends, and the outbox row's stable Message-ID.
public struct EmailMessage: Sendable, Hashable {
    public var from: String
    public var to: String
    public var subject: String
    public var text: String
    public var html: String
    /// Without angle brackets: `rastro-…@rastro`.
    public var messageID: String
    public var date: Timestamp
    public var locale: String
    public var template: String

    public init(from: String, to: String, subject: String, text: String, html: String, messageID: String,
                date: Timestamp, locale: String, template: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
        self.locale = locale
        self.template = template
    }

    /// The envelope sender: the address inside `from`.
    public var fromAddress: String { Self.address(in: from) }

    static func address(in header: String) -> String {
        if let open = header.lastIndex(of: "<"), let close = header.lastIndex(of: ">"), open < close {
            return String(header[header.index(after: open)..<close])
        }
        return header.trimmingCharacters(in: .whitespaces)
    }

    /// The message as sent over SMTP or written to a `.eml` file.
    public var rendered: [UInt8] {
        let boundary = "rastro-alt-" + StableHash.fnv1a64(messageID)
        var lines = [
            "From: \(Self.encodeHeader(from))",
            "To: \(to)",
            "Subject: \(Self.encodeHeader(subject))",
            "Date: \(Self.rfc5322(date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Language: \(locale)",
            "X-Rastro-Template: \(template)",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
        ]
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            lines.append("--\(boundary)")
            lines.append("Content-Type: \(type); charset=utf-8")
            lines.append("Content-Transfer-Encoding: base64")
            lines.append("")
            lines.append(contentsOf: Self.base64Lines(Data(body.utf8)))
        }
        lines.append("--\(boundary)--")
        lines.append("")
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// RFC 2047 encoded-word when the header has non-ASCII text.
    static func encodeHeader(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.utf8.allSatisfy({ $0 < 128 }) { return clean }
        // Keep a display name's address readable: encode only the name part.
        if let open = clean.lastIndex(of: "<"), clean.hasSuffix(">") {
            let name = clean[..<open].trimmingCharacters(in: .whitespaces)
            return "=?UTF-8?B?\(Data(name.utf8).base64EncodedString())?= \(clean[open...])"
        }
        return "=?UTF-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }

    static func base64Lines(_ data: Data) -> [String] {
        let encoded = data.base64EncodedString()
        var out: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            out.append(String(encoded[index..<end]))
            index = end
        }
        return out
    }

    static func rfc5322(_ t: Timestamp) -> String {
        let c = t.components(offsetSeconds: 0)
        let days = t.secondsSinceEpoch >= 0 ? t.secondsSinceEpoch / 86400 : (t.secondsSinceEpoch - 86399) / 86400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][c.month - 1]
        return "\(weekday), \(c.day) \(month) \(c.year) \(c.time):\(String(format: "%02d", c.second)) +0000"
    }
}
