import Foundation

/// A JSON document as a value, for golden comparisons with readable diffs.
public indirect enum JSONValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(parsing data: Data) throws {
        self = JSONValue(any: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    init(any: Any) {
        switch any {
        case is NSNull: self = .null
        case let n as NSNumber:
            // JSONSerialization gives booleans as NSNumber too; tell them apart by type.
            if String(cString: n.objCType) == "c" { self = .bool(n.boolValue) } else { self = .number(n.doubleValue) }
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONValue.init(any:)))
        case let o as [String: Any]: self = .object(o.mapValues(JSONValue.init(any:)))
        default: self = .null
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    public var isNull: Bool { self == .null }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let d): d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .string(let s): "\"" + s.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
        case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!.description)" }.joined(separator: ", ") + "}"
        }
    }

    public func prettyPrinted() -> String {
        func render(_ v: JSONValue, _ indent: String) -> String {
            switch v {
            case .array(let a) where !a.isEmpty:
                let inner = indent + "  "
                return "[\n" + a.map { inner + render($0, inner) }.joined(separator: ",\n") + "\n" + indent + "]"
            case .object(let o) where !o.isEmpty:
                let inner = indent + "  "
                return "{\n" + o.keys.sorted().map { inner + "\"\($0)\": " + render(o[$0]!, inner) }.joined(separator: ",\n") + "\n" + indent + "}"
            default: return v.description
            }
        }
        return render(self, "")
    }
}

/// One difference between an expected and an actual document.
public struct JSONDifference: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var expected: String
    public var actual: String
    public var description: String { "\(path): expected \(expected), got \(actual)" }
}

extension JSONValue {
    /// Every place where `actual` differs from `self`, by path.
    public func differences(from actual: JSONValue, path: String = "$") -> [JSONDifference] {
        switch (self, actual) {
        case (.object(let e), .object(let a)):
            var out: [JSONDifference] = []
            for key in Set(e.keys).union(a.keys).sorted() {
                let p = path + "." + key
                switch (e[key], a[key]) {
                case (let ev?, let av?): out += ev.differences(from: av, path: p)
                case (let ev?, nil): out.append(JSONDifference(path: p, expected: ev.description, actual: "(absent)"))
                case (nil, let av?): out.append(JSONDifference(path: p, expected: "(absent)", actual: av.description))
                default: break
                }
            }
            return out
        case (.array(let e), .array(let a)):
            var out: [JSONDifference] = []
            if e.count != a.count {
                out.append(JSONDifference(path: path + ".length", expected: String(e.count), actual: String(a.count)))
            }
            for i in 0..<min(e.count, a.count) { out += e[i].differences(from: a[i], path: "\(path)[\(i)]") }
            return out
        default:
            return self == actual ? [] : [JSONDifference(path: path, expected: description, actual: actual.description)]
        }
    }
}
