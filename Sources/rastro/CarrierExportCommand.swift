import ArgumentParser
import Foundation
import RastroCarriers
import RastroCore
import RastroService
import RastroStore

struct CarrierExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a carrier's stored responses as fixture files, personal data redacted.",
        discussion: """
        For each stored response: <out>/<id>-response-<n>.<json|xml|html|txt> (the body) and \
        <out>/<id>-response-<n>-meta.json ({http_status, content_type, codes, received_at, poll_id, redacted}). \
        Names, addresses (street, number, complement, district, postal code), documents (CPF, CNPJ, tax ids), \
        phones, emails and who signed are replaced by placeholders of the same kind; codes, statuses, dates, \
        city, state, country and event descriptions stay (see Sources/RastroCarriers/ResponseRedactor.swift). \
        Look the files over before committing them: redaction goes by field names and patterns.
        """
    )

    @Argument(help: "Carrier id.")
    var id: String

    @OptionGroup var range: StoredResponsesOption

    @Option(help: "Folder to write the fixtures to (created when missing).")
    var out: String

    @Flag(help: "Write the bodies exactly as received (they hold customers' personal data: keep them out of the repository).")
    var noRedact = false

    @Option(name: .long, help: "Data folder: the SQLite database lives in <data>/rastro.sqlite.")
    var data: String = "data"

    func run() async throws {
        let since = try range.sinceTimestamp(now: .now)
        let store = try Self.openExisting(data: data)
        let responses = try store.rawResponses(carrier: id, since: since, limit: range.limit)
        guard !responses.isEmpty else {
            throw ReplayError("no stored responses for carrier '\(id)'\(since.map { " since \($0.iso8601)" } ?? "") in \(store.path)")
        }
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let redactor = ResponseRedactor()
        for response in responses {
            let headers = (try? JSONDecoder().decode([String: String].self, from: Data(response.headers.utf8))) ?? [:]
            let contentType = headers["content-type"]
            let raw = try response.inflatedBody()
            let body = noRedact ? raw : redactor.redact(raw, contentType: contentType)
            let name = "\(id)-response-\(response.id ?? 0)"
            try Data(body).write(to: folder.appendingPathComponent("\(name).\(Self.fileExtension(contentType: contentType, body: body))"))
            let meta: [String: Any] = [
                "http_status": response.httpStatus, "content_type": contentType ?? NSNull(),
                "codes": response.codes.split(separator: ",").map(String.init), "received_at": response.receivedAt.iso8601,
                "poll_id": response.pollId, "redacted": !noRedact,
            ]
            let json = try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try json.write(to: folder.appendingPathComponent("\(name)-meta.json"))
        }
        print("wrote \(responses.count) responses of \(id) to \(folder.path)\(noRedact ? " (NOT redacted)" : ", redacted")")
    }

    /// The extension `rastro carrier test` reads a body by: from the content type, else the first character.
    static func fileExtension(contentType: String?, body: [UInt8]) -> String {
        let type = contentType?.lowercased() ?? ""
        if type.contains("json") { return "json" }
        if type.contains("html") { return "html" }
        if type.contains("xml") { return "xml" }
        switch body.first(where: { !" \t\r\n".utf8.contains($0) }) {
        case UInt8(ascii: "{"), UInt8(ascii: "["): return "json"
        case UInt8(ascii: "<"): return String(decoding: body.prefix(512), as: UTF8.self).lowercased().contains("<html") ? "html" : "xml"
        default: return "txt"
        }
    }

    /// The database, which must exist: these commands read what `serve` recorded.
    static func openExisting(data: String) throws -> Store {
        let path = URL(fileURLWithPath: data).appendingPathComponent("rastro.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ReplayError("no database at \(path) (--data names the folder `rastro serve` writes to)")
        }
        do { return try Store(path: path) } catch { throw ReplayError("\(error)") }
    }
}
