/// The strict subset of TOML 1.0 that rastro's configuration file uses:
/// `[table]` and `[dotted.table]` headers, `key = value` lines (bare, quoted or
/// dotted keys), single-line basic and literal strings, decimal integers, floats,
/// booleans, and `#` comments. Anything else (arrays, inline tables, dates,
/// multi-line strings) is refused with the line it is on, so a file never means
/// something other than what it seems to.
public struct TOMLDocument: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)

        /// "a string", "an integer" …: for error messages.
        public var typeName: String {
            switch self {
            case .string: "a string"
            case .integer: "an integer"
            case .float: "a float"
            case .boolean: "a boolean"
            }
        }
    }

    /// A value with its full path (table names, then the key) and the line that set it.
    public struct Entry: Sendable, Equatable {
        public var path: [String]
        public var value: Value
        public var line: Int
    }

    /// A `[table]` header, kept so an unknown section is reported even when it is empty.
    public struct Header: Sendable, Equatable {
        public var path: [String]
        public var line: Int
    }

    public private(set) var entries: [Entry] = []
    public private(set) var headers: [Header] = []

    /// Parses `text`; errors name `file` and the line.
    public init(parsing text: String, file: String) throws(ConfigurationError) {
        var table: [String] = []
        var defined: [[String]: Int] = [:]
        var declared: [[String]: Int] = [:]
        // "\r\n" is one Character in Swift, so Windows line ends are split on explicitly.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, rawLine) in lines.enumerated() {
            let line = index + 1
            func fail(_ message: String) -> ConfigurationError { ConfigurationError(file: file, line: line, message) }
            var scanner = Scanner(rawLine)
            scanner.skipSpaces()
            if scanner.atEndOrComment { continue }
            do {
                if scanner.peek == "[" {
                    scanner.advance()
                    if scanner.peek == "[" { throw fail("arrays of tables ([[…]]) are not supported") }
                    let path = try scanner.keyPath()
                    scanner.skipSpaces()
                    guard scanner.peek == "]" else { throw fail("expected ] to close the table name") }
                    scanner.advance()
                    try scanner.expectEndOfLine()
                    if let first = declared[path] { throw fail("table [\(path.joined(separator: "."))] is already defined at line \(first)") }
                    if let first = defined[path] { throw fail("[\(path.joined(separator: "."))] is already a value, set at line \(first)") }
                    declared[path] = line
                    headers.append(Header(path: path, line: line))
                    table = path
                } else {
                    let path = table + (try scanner.keyPath())
                    scanner.skipSpaces()
                    guard scanner.peek == "=" else { throw fail("expected = after the key") }
                    scanner.advance()
                    scanner.skipSpaces()
                    let value = try scanner.value()
                    try scanner.expectEndOfLine()
                    let name = path.joined(separator: ".")
                    if let first = defined[path] { throw fail("\(name) is already set at line \(first)") }
                    if declared[path] != nil { throw fail("\(name) is already a table") }
                    for prefix in 1..<path.count where defined[Array(path.prefix(prefix))] != nil {
                        throw fail("\(path.prefix(prefix).joined(separator: ".")) is a value, not a table")
                    }
                    defined[path] = line
                    entries.append(Entry(path: path, value: value, line: line))
                }
            } catch let error as Scanner.Failure {
                throw fail(error.message)
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw fail("\(error)")
            }
        }
    }
}

/// Reads one line; throws `Failure` with what was expected.
private struct Scanner {
    struct Failure: Error { let message: String }

    private let text: Substring
    private var index: Substring.Index

    init(_ text: Substring) {
        self.text = text
        index = text.startIndex
    }

    var peek: Character? { index < text.endIndex ? text[index] : nil }
    var atEndOrComment: Bool { peek == nil || peek == "#" }
    mutating func advance() { index = text.index(after: index) }

    mutating func skipSpaces() {
        while let c = peek, c == " " || c == "\t" { advance() }
    }

    mutating func expectEndOfLine() throws {
        skipSpaces()
        guard atEndOrComment else { throw Failure(message: "unexpected text after the value: \(text[index...])") }
    }

    /// `a`, `a.b`, `"quoted key".c`.
    mutating func keyPath() throws -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            switch peek {
            case "\"": parts.append(try basicString())
            case "'": parts.append(try literalString())
            default:
                var bare = ""
                while let c = peek, c.isASCII, c.isLetter || c.isNumber || c == "_" || c == "-" { bare.append(c); advance() }
                guard !bare.isEmpty else { throw Failure(message: "expected a key (letters, digits, _ and -, or a quoted string)") }
                parts.append(bare)
            }
            skipSpaces()
            guard peek == "." else { return parts }
            advance()
        }
    }

    mutating func value() throws -> TOMLDocument.Value {
        switch peek {
        case nil, "#": throw Failure(message: "expected a value after =")
        case "\"":
            if text[index...].hasPrefix("\"\"\"") { throw Failure(message: "multi-line strings are not supported") }
            return .string(try basicString())
        case "'":
            if text[index...].hasPrefix("'''") { throw Failure(message: "multi-line strings are not supported") }
            return .string(try literalString())
        case "[": throw Failure(message: "arrays are not supported")
        case "{": throw Failure(message: "inline tables are not supported")
        default:
            var word = ""
            while let c = peek, c != " ", c != "\t", c != "#" { word.append(c); advance() }
            if word == "true" { return .boolean(true) }
            if word == "false" { return .boolean(false) }
            if let n = Self.integer(word) { return .integer(n) }
            if let x = Self.float(word) { return .float(x) }
            throw Failure(message: "\(word) is not a string, number or boolean (strings are quoted)")
        }
    }

    private mutating func basicString() throws -> String {
        advance()
        var out = ""
        while let c = peek {
            advance()
            switch c {
            case "\"": return out
            case "\\":
                guard let e = peek else { break }
                advance()
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "u", "U":
                    let count = e == "u" ? 4 : 8
                    var hex = ""
                    for _ in 0..<count { if let h = peek { hex.append(h); advance() } }
                    guard hex.count == count, let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw Failure(message: "\\\(e)\(hex) is not a valid Unicode escape")
                    }
                    out.unicodeScalars.append(scalar)
                default: throw Failure(message: "unknown escape \\\(e) in a string")
                }
            default: out.append(c)
            }
        }
        throw Failure(message: "the string is not closed on this line")
    }

    private mutating func literalString() throws -> String {
        advance()
        var out = ""
        while let c = peek {
            advance()
            if c == "'" { return out }
            out.append(c)
        }
        throw Failure(message: "the string is not closed on this line")
    }

    /// Decimal only: `42`, `-7`, `+1_000`; no leading zeros.
    static func integer(_ word: String) -> Int64? {
        var digits = Substring(word)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        guard validDigits(digits), digits == "0" || digits.first != "0" else { return nil }
        return Int64(word.replacingOccurrences(of: "_", with: ""))
    }

    /// `1.5`, `-0.25`, `5e3`, `2.5E-2`: digits on both sides of the point.
    static func float(_ word: String) -> Double? {
        var rest = Substring(word)
        if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
        let mantissaEnd = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) ?? rest.endIndex
        let mantissa = rest[..<mantissaEnd]
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy(validDigits) else { return nil }
        if mantissaEnd < rest.endIndex {
            var exponent = rest[rest.index(after: mantissaEnd)...]
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            guard validDigits(exponent) else { return nil }
        } else if parts.count == 1 {
            return nil
        }
        return Double(word.replacingOccurrences(of: "_", with: ""))
    }

    /// Digits, with single underscores only between digits.
    private static func validDigits(_ s: Substring) -> Bool {
        guard let first = s.first, let last = s.last, first.isASCII, first.isNumber, last.isASCII, last.isNumber else { return false }
        var previousUnderscore = false
        for c in s {
            if c == "_" {
                if previousUnderscore { return false }
                previousUnderscore = true
            } else if c.isASCII, c.isNumber {
                previousUnderscore = false
            } else {
                return false
            }
        }
        return true
    }
}
