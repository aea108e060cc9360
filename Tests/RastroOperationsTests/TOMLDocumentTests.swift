import Testing
@testable import RastroOperations

@Suite("TOML subset")
struct TOMLDocumentTests {
    func parse(_ text: String) throws -> [String: TOMLDocument.Value] {
        let document = try TOMLDocument(parsing: text, file: "t.toml")
        return Dictionary(uniqueKeysWithValues: document.entries.map { ($0.path.joined(separator: "."), $0.value) })
    }

    func failure(_ text: String) -> String? {
        do {
            _ = try TOMLDocument(parsing: text, file: "t.toml")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func readsTablesDottedTablesAndEveryScalarType() throws {
        let values = try parse("""
        # a comment
        top = "level"   # trailing comment
        [server]
        host = "127.0.0.1"
        port = 8_080
        [carrier.correios]
        "quoted key" = 'C:\\literal # not a comment'
        ratio = -0.25
        big = 5e3
        on = true
        off = false
        nested.key = "dotted"
        """)
        #expect(values == [
            "top": .string("level"), "server.host": .string("127.0.0.1"), "server.port": .integer(8080),
            "carrier.correios.quoted key": .string("C:\\literal # not a comment"), "carrier.correios.ratio": .float(-0.25),
            "carrier.correios.big": .float(5000), "carrier.correios.on": .boolean(true), "carrier.correios.off": .boolean(false),
            "carrier.correios.nested.key": .string("dotted"),
        ])
    }

    @Test func basicStringsUnderstandEscapes() throws {
        let values = try parse(#"s = "tab\there \"quoted\" \\ \u00e9\U0001F4E6""#)
        #expect(values["s"] == .string("tab\there \"quoted\" \\ é📦"))
    }

    @Test func readsWindowsLineEndingsAndAnEmptyFile() throws {
        #expect(try parse("[a]\r\nb = 1\r\n") == ["a.b": .integer(1)])
        #expect(try parse("").isEmpty)
    }

    @Test func everyErrorNamesTheFileAndLine() {
        #expect(failure("a = 1\nb = [1, 2]") == "t.toml:2: arrays are not supported")
        #expect(failure("[a]\nx = { y = 1 }") == "t.toml:2: inline tables are not supported")
        #expect(failure("\n\ns = \"open") == "t.toml:3: the string is not closed on this line")
        #expect(failure("s = \"\"\"multi") == "t.toml:1: multi-line strings are not supported")
        #expect(failure("[[servers]]") == "t.toml:1: arrays of tables ([[…]]) are not supported")
        #expect(failure("d = 1979-05-27") == "t.toml:1: 1979-05-27 is not a string, number or boolean (strings are quoted)")
        #expect(failure("host = localhost") == "t.toml:1: localhost is not a string, number or boolean (strings are quoted)")
        #expect(failure("n = 007") == "t.toml:1: 007 is not a string, number or boolean (strings are quoted)")
        #expect(failure("n = 1__0") == "t.toml:1: 1__0 is not a string, number or boolean (strings are quoted)")
        #expect(failure("x = 1 2") == "t.toml:1: unexpected text after the value: 2")
        #expect(failure("= 1") == "t.toml:1: expected a key (letters, digits, _ and -, or a quoted string)")
        #expect(failure("key 1") == "t.toml:1: expected = after the key")
        #expect(failure("[a\nb = 1") == "t.toml:1: expected ] to close the table name")
        #expect(failure(#"s = "\q""#) == "t.toml:1: unknown escape \\q in a string")
    }

    @Test func aKeyOrTableDefinedTwiceIsAnError() {
        #expect(failure("[a]\nx = 1\nx = 2") == "t.toml:3: a.x is already set at line 2")
        #expect(failure("[a]\n[b]\n[a]") == "t.toml:3: table [a] is already defined at line 1")
        #expect(failure("a = 1\n[a]") == "t.toml:2: [a] is already a value, set at line 1")
        #expect(failure("a = 1\na.b = 2") == "t.toml:2: a is a value, not a table")
    }
}
