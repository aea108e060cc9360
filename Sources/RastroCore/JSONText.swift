import Foundation

/// JSON text of the `[String: Any]` documents rastro builds (API answers,
/// notification payloads, webhook bodies): keys sorted, slashes unescaped.
///
/// Not `JSONSerialization`: with `.sortedKeys` it compares keys through
/// `NSString` and ICU collation, and it was a third of the CPU of every
/// recorded poll. This writes bytes directly; key order is Swift's `<`
/// (stable, locale-free).
public enum JSONText {
    public static func bytes(_ object: Any) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(object, into: &out)
        return out
    }

    public static func string(_ object: Any) -> String {
        String(decoding: bytes(object), as: UTF8.self)
    }

    static func write(_ value: Any, into out: inout [UInt8]) {
        switch value {
        case let s as String: writeString(s, into: &out)
        case let b as Bool: out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case let i as Int: out.append(contentsOf: String(i).utf8)
        case let i as Int64: out.append(contentsOf: String(i).utf8)
        case let i as Int32: out.append(contentsOf: String(i).utf8)
        case let d as Double:
            if !d.isFinite { out.append(contentsOf: "null".utf8) }
            else if d == d.rounded(), abs(d) < 1e15 { out.append(contentsOf: String(Int64(d)).utf8) }
            else { out.append(contentsOf: String(d).utf8) }
        case let s as Substring: writeString(String(s), into: &out)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(object[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, item) in array.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull: out.append(contentsOf: "null".utf8)
        case let n as NSNumber: out.append(contentsOf: n.stringValue.utf8)
        default:
            // An Optional that is nil arrives here as `Optional<T>.none` inside Any.
            if case Optional<Any>.none = value as Any? { out.append(contentsOf: "null".utf8); return }
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional {
                if let inner = mirror.children.first?.value { write(inner, into: &out) } else { out.append(contentsOf: "null".utf8) }
            } else {
                writeString(String(describing: value), into: &out)
            }
        }
    }

    /// A JSON string. Besides what JSON requires, U+2028 and U+2029 are escaped: they
    /// end lines in JavaScript and in some log viewers (the JSON log handler shares this).
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole. (0xE2 starts U+2028/U+2029.)
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0xE2 }) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex = Array("0123456789abcdef".utf8)
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                out.append(contentsOf: Array("\\u202".utf8) + [bytes[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9")])
                i += 2
            default: out.append(byte)
            }
            i += 1
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONText {
    /// A JSON document built with types instead of `Any`: no dynamic casts when it is
    /// written, which the `[String: Any]` path paid for every value of every payload.
    public enum Value: Sendable, Hashable {
        case string(String)
        case int(Int64)
        case bool(Bool)
        case null
        case array([Value])
        /// Keys are written sorted, like `[String: Any]` documents.
        case object([(String, Value)])

        public static func == (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case let (.string(x), .string(y)): x == y
            case let (.int(x), .int(y)): x == y
            case let (.bool(x), .bool(y)): x == y
            case (.null, .null): true
            case let (.array(x), .array(y)): x == y
            case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            default: false
            }
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(JSONText.bytes(self))
        }

        /// A string, or null when absent.
        public static func string(_ value: String?) -> Value { value.map(Value.string) ?? .null }

        /// The same document as `[String: Any]` / `[Any]` / scalars (NSNull for null).
        public var any: Any {
            switch self {
            case .string(let s): s
            case .int(let i): Int(i)
            case .bool(let b): b
            case .null: NSNull()
            case .array(let items): items.map(\.any)
            case .object(let fields): Dictionary(fields.map { ($0.0, $0.1.any) }, uniquingKeysWith: { _, last in last })
            }
        }

        /// The value of `key` in an object.
        public subscript(key: String) -> Value? {
            guard case .object(let fields) = self else { return nil }
            return fields.last { $0.0 == key }?.1
        }
    }

    public static func bytes(_ value: Value) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(value, into: &out)
        return out
    }

    public static func string(_ value: Value) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    static func write(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .string(let s): writeString(s, into: &out)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            // Sorted by key, then by position: of a repeated key the last is written (as `any` keeps it).
            let order = fields.indices.sorted { fields[$0].0 != fields[$1].0 ? fields[$0].0 < fields[$1].0 : $0 < $1 }
            var first = true
            for (n, i) in order.enumerated() {
                if n + 1 < order.count, fields[order[n + 1]].0 == fields[i].0 { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(fields[i].0, into: &out)
                out.append(UInt8(ascii: ":"))
                write(fields[i].1, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
