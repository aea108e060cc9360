import Foundation
import Logging
import RastroCore
import Synchronization

/// Logs one JSON object per line, for log shippers (journald → Loki, Vector, …):
/// `{"timestamp":"2026-01-05T10:00:00.123Z","level":"info","label":"rastro","message":"status changed","carrier":"acme",…}`.
///
/// Metadata is flattened into the object: a nested dictionary's keys become
/// `parent.child`; a key that would shadow one of the four fixed fields gets a
/// `metadata.` prefix. Values are strings (arrays of strings for list metadata),
/// so a field's type never changes between lines.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    /// Writes each line (with its newline) through `write`.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    /// Writes to standard error, one `write(2)` per line so concurrent lines never interleave.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in
            stderrLock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
        }
    }

    private static let stderrLock = Mutex(())

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        write(Self.line(timestamp: Date(), level: event.level, label: label, message: "\(event.message)", metadata: merged))
    }

    /// The line for one event; a pure function, so tests can check it exactly.
    public static func line(timestamp: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var fields: [(String, Logger.Metadata.Value)] = []
        flatten(metadata, prefix: "", into: &fields)
        var out = "{\"timestamp\":" + quoted(iso8601(timestamp)) + ",\"level\":" + quoted(level.rawValue)
            + ",\"label\":" + quoted(label) + ",\"message\":" + quoted(message)
        let fixed: Set<String> = ["timestamp", "level", "label", "message"]
        for (key, value) in fields.sorted(by: { $0.0 < $1.0 }) {
            out += "," + quoted(fixed.contains(key) ? "metadata." + key : key) + ":" + json(value)
        }
        return out + "}\n"
    }

    private static func flatten(_ metadata: Logger.Metadata, prefix: String, into fields: inout [(String, Logger.Metadata.Value)]) {
        for (key, value) in metadata {
            if case .dictionary(let nested) = value {
                flatten(nested, prefix: prefix + key + ".", into: &fields)
            } else {
                fields.append((prefix + key, value))
            }
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): quoted(s)
        case .stringConvertible(let c): quoted(c.description)
        case .array(let items): "[" + items.map(json).joined(separator: ",") + "]"
        case .dictionary(let d): "{" + d.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        JSONText.writeString(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// UTC with milliseconds, without a shared formatter (log calls come from every thread).
    static func iso8601(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ n: Int32, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }
}
