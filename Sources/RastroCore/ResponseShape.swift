/// A short description of what a carrier answered — its kind and outline, not its
/// content — so carrier health can say "returned HTML instead of JSON {parcels}".
///
/// Cheap on purpose (it runs for every poll): the content type, sniffed from the
/// first bytes when the header is missing or generic, then only the top level of
/// the body: a JSON object's keys or an XML document's root element.
public enum ResponseShape {
    /// The shape recorded when no response arrived (connection refused, timeout, script error before the request).
    public static let noResponse = "no response"

    public static func describe(status: Int, contentType: String?, body: [UInt8]) -> String {
        let kind = kind(contentType: contentType, body: body)
        var outline: String
        switch kind {
        case "JSON": outline = jsonOutline(body).map { "JSON \($0)" } ?? "JSON"
        case "XML": outline = xmlRoot(body).map { "XML <\($0)>" } ?? "XML"
        case "": outline = body.isEmpty ? "an empty body" : "a body of unknown type"
        default: outline = kind
        }
        if !(200..<300).contains(status) { outline = "HTTP \(status) " + outline }
        return outline
    }

    /// JSON, XML, HTML, text, or the content type as given.
    static func kind(contentType: String?, body: [UInt8]) -> String {
        let type = contentType?.split(separator: ";").first.map { $0.filter { $0 != " " && $0 != "\t" }.lowercased() } ?? ""
        if type.hasSuffix("json") { return "JSON" }
        if type.contains("html") { return "HTML" }
        if type.hasSuffix("xml") { return sniff(body) == "HTML" ? "HTML" : "XML" }
        if type.isEmpty || type == "text/plain" || type == "application/octet-stream" {
            if let sniffed = sniff(body) { return sniffed }
            return type.isEmpty ? "" : "text"
        }
        return type
    }

    static func sniff(_ body: [UInt8]) -> String? {
        guard let first = body.firstIndex(where: { !isSpace($0) }) else { return nil }
        switch body[first] {
        case UInt8(ascii: "{"), UInt8(ascii: "["): return "JSON"
        case UInt8(ascii: "<"):
            let head = String(decoding: body[first..<min(body.count, first + 256)], as: UTF8.self).lowercased()
            return head.contains("<html") || head.hasPrefix("<!doctype html") ? "HTML" : "XML"
        default: return nil
        }
    }

    /// `{a,b,c}` (sorted, at most 8) for an object, `[…]` for an array; nil when not JSON.
    static func jsonOutline(_ body: [UInt8]) -> String? {
        guard let start = body.firstIndex(where: { !isSpace($0) }) else { return nil }
        if body[start] == UInt8(ascii: "[") { return "[…]" }
        guard body[start] == UInt8(ascii: "{") else { return nil }
        var keys: [String] = []
        var depth = 0
        var i = start
        var expectKey = false
        while i < body.count {
            let c = body[i]
            if c == UInt8(ascii: "\"") {
                // A string: at depth 1 right after `{` or `,` it is a key.
                var j = i + 1
                while j < body.count, body[j] != UInt8(ascii: "\"") { j += body[j] == UInt8(ascii: "\\") ? 2 : 1 }
                if depth == 1, expectKey, j <= body.count {
                    keys.append(String(decoding: body[(i + 1)..<min(j, body.count, i + 1 + 40)], as: UTF8.self))
                    expectKey = false
                }
                i = j + 1
                continue
            }
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { i = body.count }
            case UInt8(ascii: ","):
                if depth == 1 { expectKey = true }
            default: break
            }
            i += 1
        }
        let sorted = Array(Set(keys)).sorted()
        return "{" + sorted.prefix(8).joined(separator: ",") + (sorted.count > 8 ? ",…" : "") + "}"
    }

    /// The name of the first element, past the XML declaration, comments and doctype.
    static func xmlRoot(_ body: [UInt8]) -> String? {
        var i = 0
        while i < body.count {
            guard let open = body[i...].firstIndex(of: UInt8(ascii: "<")), open + 1 < body.count else { return nil }
            let next = body[open + 1]
            if next == UInt8(ascii: "?") || next == UInt8(ascii: "!") {
                guard let close = body[open...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
                i = close + 1
                continue
            }
            var end = open + 1
            while end < body.count, !isSpace(body[end]), body[end] != UInt8(ascii: ">"), body[end] != UInt8(ascii: "/") { end += 1 }
            let name = String(decoding: body[(open + 1)..<min(end, open + 41)], as: UTF8.self)
            // Namespace prefixes vary between otherwise equal documents.
            return name.split(separator: ":").last.map(String.init) ?? name
        }
        return nil
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0xEF || c == 0xBB || c == 0xBF }
}
