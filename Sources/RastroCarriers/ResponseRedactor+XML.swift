extension ResponseRedactor {
    /// Walks an XML text element by element and rewrites element text and attribute
    /// values that need it, copying markup, comments and spacing as they were.
    /// nil when the markup is not well nested: the caller falls back to the patterns.
    struct XMLWalk {
        let input: [UInt8]
        let codec: TextCodec
        let redactor: ResponseRedactor
        var out: [UInt8] = []
        var i = 0
        /// Local names of the open elements, outermost first.
        var stack: [String] = []

        init(input: [UInt8], codec: TextCodec, redactor: ResponseRedactor) {
            self.input = input
            self.codec = codec
            self.redactor = redactor
            out.reserveCapacity(input.count)
        }

        struct NotXML: Error {}

        mutating func run() -> [UInt8]? {
            do {
                while i < input.count {
                    if input[i] == UInt8(ascii: "<") { try markup() } else { text() }
                }
                return stack.isEmpty ? out : nil
            } catch {
                return nil
            }
        }

        func starts(_ s: String, at j: Int) -> Bool {
            let bytes = Array(s.utf8)
            return j + bytes.count <= input.count && Array(input[j..<j + bytes.count]) == bytes
        }

        /// Copies through `end` (inclusive); throws when it never comes.
        mutating func copy(through end: String) throws {
            let bytes = Array(end.utf8)
            var j = i
            while j + bytes.count <= input.count {
                if Array(input[j..<j + bytes.count]) == bytes {
                    out.append(contentsOf: input[i..<j + bytes.count])
                    i = j + bytes.count
                    return
                }
                j += 1
            }
            throw NotXML()
        }

        /// Text between tags belongs to the innermost open element.
        mutating func text() {
            let start = i
            while i < input.count, input[i] != UInt8(ascii: "<") { i += 1 }
            out.append(contentsOf: rewrite(input[start..<i], key: stack.last, ancestors: stack.dropLast()))
        }

        func rewrite(_ bytes: ArraySlice<UInt8>, key: String?, ancestors: ArraySlice<String>) -> [UInt8] {
            let original = codec.decode(bytes)
            let redacted = redactor.redactValue(original, key: key, ancestors: Array(ancestors))
            guard redacted != original else { return Array(bytes) }
            // Keep the spacing around a replaced value (pretty-printed documents stay pretty).
            let lead = original.prefix { $0.isWhitespace }, trail = String(original.reversed().prefix { $0.isWhitespace }.reversed())
            let core = redacted.trimmingCharacters(in: .whitespacesAndNewlines)
            return codec.encode(String(lead) + core + trail)
        }

        mutating func markup() throws {
            if starts("<!--", at: i) { return try copy(through: "-->") }
            if starts("<?", at: i) { return try copy(through: "?>") }
            if starts("<![CDATA[", at: i) {
                let open = i + 9
                var j = open
                while j + 3 <= input.count, !(input[j] == UInt8(ascii: "]") && input[j + 1] == UInt8(ascii: "]") && input[j + 2] == UInt8(ascii: ">")) { j += 1 }
                guard j + 3 <= input.count else { throw NotXML() }
                out.append(contentsOf: input[i..<open])
                out.append(contentsOf: rewrite(input[open..<j], key: stack.last, ancestors: stack.dropLast()))
                out.append(contentsOf: Array("]]>".utf8))
                i = j + 3
                return
            }
            if starts("<!", at: i) {
                // DOCTYPE, possibly with an internal subset in brackets.
                var depth = 0, j = i
                while j < input.count {
                    if input[j] == UInt8(ascii: "[") { depth += 1 } else if input[j] == UInt8(ascii: "]") { depth -= 1 } else if input[j] == UInt8(ascii: ">"), depth <= 0 { break }
                    j += 1
                }
                guard j < input.count else { throw NotXML() }
                out.append(contentsOf: input[i...j])
                i = j + 1
                return
            }
            if starts("</", at: i) {
                let start = i + 2
                try copy(through: ">")
                let name = localName(input[start..<(i - 1)])
                guard stack.last == name else { throw NotXML() }
                stack.removeLast()
                return
            }
            try startTag()
        }

        func localName(_ bytes: ArraySlice<UInt8>) -> String {
            let name = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return name.split(separator: ":").last.map(String.init) ?? name
        }

        mutating func startTag() throws {
            out.append(input[i])  // <
            i += 1
            let nameStart = i
            while i < input.count, !ResponseRedactor.isSpace(input[i]), input[i] != UInt8(ascii: ">"), input[i] != UInt8(ascii: "/") { i += 1 }
            let name = localName(input[nameStart..<i])
            guard !name.isEmpty else { throw NotXML() }
            out.append(contentsOf: input[nameStart..<i])
            let context = stack + [name]
            while true {
                while i < input.count, ResponseRedactor.isSpace(input[i]) { out.append(input[i]); i += 1 }
                guard i < input.count else { throw NotXML() }
                if input[i] == UInt8(ascii: ">") {
                    out.append(input[i]); i += 1
                    stack.append(name)
                    return
                }
                if starts("/>", at: i) {
                    out.append(contentsOf: input[i..<i + 2]); i += 2
                    return
                }
                let attrStart = i
                while i < input.count, input[i] != UInt8(ascii: "="), !ResponseRedactor.isSpace(input[i]), input[i] != UInt8(ascii: ">") { i += 1 }
                let attr = localName(input[attrStart..<i])
                out.append(contentsOf: input[attrStart..<i])
                while i < input.count, ResponseRedactor.isSpace(input[i]) { out.append(input[i]); i += 1 }
                guard i < input.count, input[i] == UInt8(ascii: "=") else { throw NotXML() }
                out.append(input[i]); i += 1
                while i < input.count, ResponseRedactor.isSpace(input[i]) { out.append(input[i]); i += 1 }
                guard i < input.count, input[i] == UInt8(ascii: "\"") || input[i] == UInt8(ascii: "'") else { throw NotXML() }
                let quote = input[i]
                out.append(quote); i += 1
                let valueStart = i
                while i < input.count, input[i] != quote { i += 1 }
                guard i < input.count else { throw NotXML() }
                // Namespace declarations are URIs, never personal data.
                if attr == "xmlns" || input[attrStart..<i].starts(with: Array("xmlns:".utf8)) {
                    out.append(contentsOf: input[valueStart..<i])
                } else {
                    out.append(contentsOf: rewrite(input[valueStart..<i], key: attr, ancestors: context[...]))
                }
                out.append(quote); i += 1
            }
        }
    }
}
