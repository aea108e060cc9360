extension ResponseRedactor {
    /// Walks a JSON text and rewrites only the values that need it, copying every
    /// other byte (spacing, key order, number spelling) as it was. nil when the
    /// text is not JSON: the caller falls back to the text patterns.
    struct JSONWalk {
        let input: [UInt8]
        let codec: TextCodec
        let redactor: ResponseRedactor
        var out: [UInt8] = []
        var i = 0

        init(input: [UInt8], codec: TextCodec, redactor: ResponseRedactor) {
            self.input = input
            self.codec = codec
            self.redactor = redactor
            out.reserveCapacity(input.count)
        }

        struct NotJSON: Error {}

        mutating func run() -> [UInt8]? {
            do {
                try value(key: nil, ancestors: [], depth: 0)
                space()
                guard i == input.count else { return nil }
                return out
            } catch {
                return nil
            }
        }

        mutating func space() {
            while i < input.count, ResponseRedactor.isSpace(input[i]) { out.append(input[i]); i += 1 }
        }

        mutating func expect(_ c: Character) throws {
            guard i < input.count, input[i] == c.asciiValue! else { throw NotJSON() }
            out.append(input[i])
            i += 1
        }

        /// Arrays pass their key to their elements (`streetLines: ["…", "…"]`); objects add their key to the ancestors.
        mutating func value(key: String?, ancestors: [String], depth: Int) throws {
            guard depth < 256 else { throw NotJSON() }
            space()
            guard i < input.count else { throw NotJSON() }
            switch input[i] {
            case UInt8(ascii: "{"):
                try expect("{")
                let inner = key.map { ancestors + [$0] } ?? ancestors
                space()
                if i < input.count, input[i] == UInt8(ascii: "}") { try expect("}"); return }
                while true {
                    space()
                    let (raw, name) = try string()
                    out.append(contentsOf: raw)
                    space()
                    try expect(":")
                    try value(key: name, ancestors: inner, depth: depth + 1)
                    space()
                    if i < input.count, input[i] == UInt8(ascii: ",") { try expect(","); continue }
                    try expect("}")
                    return
                }
            case UInt8(ascii: "["):
                try expect("[")
                space()
                if i < input.count, input[i] == UInt8(ascii: "]") { try expect("]"); return }
                while true {
                    try value(key: key, ancestors: ancestors, depth: depth + 1)
                    space()
                    if i < input.count, input[i] == UInt8(ascii: ",") { try expect(","); continue }
                    try expect("]")
                    return
                }
            case UInt8(ascii: "\""):
                let (raw, text) = try string()
                let redacted = redactor.redactValue(text, key: key, ancestors: ancestors)
                if redacted == text { out.append(contentsOf: raw) } else { out.append(contentsOf: Self.quoted(redacted, codec)) }
            default:
                let start = i
                while i < input.count, !ResponseRedactor.isSpace(input[i]), ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(input[i]) { i += 1 }
                let token = String(decoding: input[start..<i], as: UTF8.self)
                guard !token.isEmpty else { throw NotJSON() }
                if ["true", "false", "null"].contains(token) { out.append(contentsOf: input[start..<i]); return }
                guard token.first == "-" || token.first!.isNumber, Double(token) != nil else { throw NotJSON() }
                // A number under a personal key (a CPF or phone sent as a number): same count of digits, still a number.
                if let key, redactor.rule(for: key, ancestors: ancestors.map(ResponseRedactor.normalize)) != nil {
                    var masked = input[start..<i].map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) ? UInt8(ascii: "0") : $0 }
                    if let d = masked.firstIndex(where: { $0 == UInt8(ascii: "0") }) { masked[d] = UInt8(ascii: "1") }
                    out.append(contentsOf: masked)
                } else {
                    out.append(contentsOf: input[start..<i])
                }
            }
        }

        /// A string token: its raw bytes (quotes included) and its decoded text.
        mutating func string() throws -> ([UInt8], String) {
            guard i < input.count, input[i] == UInt8(ascii: "\"") else { throw NotJSON() }
            let start = i
            i += 1
            var scalars = String.UnicodeScalarView()
            var plainStart = i
            func flush(_ end: Int) { scalars.append(contentsOf: codec.decode(input[plainStart..<end]).unicodeScalars) }
            while true {
                guard i < input.count else { throw NotJSON() }
                let c = input[i]
                if c == UInt8(ascii: "\"") { flush(i); i += 1; break }
                guard c == UInt8(ascii: "\\") else { i += 1; continue }
                flush(i)
                guard i + 1 < input.count else { throw NotJSON() }
                let e = input[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var unit = try hex4()
                    if (0xD800..<0xDC00).contains(unit), i + 1 < input.count, input[i] == UInt8(ascii: "\\"), input[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                default: throw NotJSON()
                }
                plainStart = i
            }
            return (Array(input[start..<i]), String(scalars))
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= input.count, let v = UInt32(String(decoding: input[i..<i + 4], as: UTF8.self), radix: 16) else { throw NotJSON() }
            i += 4
            return v
        }

        static func quoted(_ text: String, _ codec: TextCodec) -> [UInt8] {
            var s = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": s += "\\\""
                case "\\": s += "\\\\"
                case "\n": s += "\\n"
                case "\r": s += "\\r"
                case "\t": s += "\\t"
                default:
                    if scalar.value < 0x20 { s += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16) } else { s.unicodeScalars.append(scalar) }
                }
            }
            s += "\""
            return codec.encode(s)
        }
    }
}
