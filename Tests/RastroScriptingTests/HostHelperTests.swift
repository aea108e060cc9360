import Testing
@testable import RastroScripting

@Suite("Host helpers for script authors")
struct HostHelperTests {
    let vm: LuaVM
    init() throws { vm = try LuaVM.sandboxed() }

    @Test("json.decode reads objects, arrays and null; numbers come back as floats")
    func jsonDecode() throws {
        let values = try vm.eval("""
            local v = json.decode('{"a": [1, 2.5, "x"], "b": null, "c": {"d": true}}')
            return v.a[1], v.a[2], v.a[3], v.b == json.null, v.c.d
            """)
        #expect(values == [.number(1), .number(2.5), .string("x"), .bool(true), .bool(true)])
    }

    @Test("json.decode of garbage returns nil and a message instead of raising")
    func jsonDecodeGarbage() throws {
        let values = try vm.eval("return json.decode('<html>maintenance</html>')")
        #expect(values[0] == .nil)
        #expect(values[1].stringValue?.hasPrefix("json: ") == true)
    }

    @Test("json.encode writes text")
    func jsonEncode() throws {
        #expect(try vm.eval("return json.encode({codigos = {'AA'}})") == [.string(#"{"codigos":["AA"]}"#)])
    }

    @Test("xml.parse keeps names, namespaces, attributes and text")
    func xmlParse() throws {
        let values = try vm.eval("""
            local doc = assert(xml.parse([[<?xml version="1.0"?>
              <s:Envelope xmlns:s="urn:soap"><s:Body><r id="7" s:kind="x">
                <item>one</item><item> two </item><empty/></r></s:Body></s:Envelope>]]))
            local r = doc:find("Body/r")
            local items = r:children("item")
            return doc.name, doc.ns, r.attr.id, r.attr.kind, #items, items[1].value, r:text("item"),
                   items[2]:text(), r:child("empty").value, doc:child("{urn:soap}Body") ~= nil, #doc:descendants("item")
            """)
        #expect(values == [.string("Envelope"), .string("urn:soap"), .string("7"), .string("x"), .integer(2),
                           .string("one"), .string("one"), .string("two"), .string(""), .bool(true), .integer(2)])
    }

    @Test("xml.parse of malformed input returns nil and where it broke")
    func xmlParseMalformed() throws {
        let values = try vm.eval("return xml.parse('<a><b></a>')")
        #expect(values[0] == .nil)
        #expect(values[1].stringValue?.contains("line 1") == true)
    }

    @Test("time.parse reads Brasília wall time into UTC, across the old daylight-saving rule")
    func timeParseSaoPaulo() throws {
        let values = try vm.eval("""
            return time.parse('26/12/2016 15:22', '%d/%m/%Y %H:%M', 'America/Sao_Paulo'),
                   time.parse('2022-02-08T11:16:53', 'iso', 'America/Sao_Paulo'),
                   time.parse('2022-02-08T11:16:53-03:00'),
                   time.parse('Jun 25, 2008 11:19 AM', '%b %d, %Y %I:%M %p', 'UTC'),
                   time.parse('20080625 111900', '%Y%m%d %H%M%S', '+02:00')
            """)
        #expect(values == [.string("2016-12-26T17:22:00Z"), .string("2022-02-08T14:16:53Z"),
                           .string("2022-02-08T14:16:53Z"), .string("2008-06-25T11:19:00Z"),
                           .string("2008-06-25T09:19:00Z")])
    }

    @Test("time.parse says what did not match")
    func timeParseErrors() throws {
        let values = try vm.eval("""
            local a, e1 = time.parse('31/02/2020 10:00', '%d/%m/%Y %H:%M', 'UTC')
            local b, e2 = time.parse('2020-01-01', 'iso', 'Mars/Olympus')
            return a, e1, b, e2
            """)
        #expect(values[0] == .nil)
        #expect(values[1].stringValue?.contains("day out of range") == true)
        #expect(values[2] == .nil)
        #expect(values[3].stringValue?.contains("unknown time zone 'Mars/Olympus'") == true)
    }

    @Test("base64, hex and url helpers round-trip")
    func codecs() throws {
        let values = try vm.eval("""
            return base64.encode('user:secret'), base64.decode('dXNlcjpzZWNyZXQ='), hex.encode('\\1\\255'),
                   hex.decode('01ff') == '\\1\\255', url.escape('a b/ç'), url.unescape('a+b%2Fc'),
                   url.query({ codigosObjetos = {'AA1', 'BB2'}, resultado = 'T' }), base64.decode('!!')
            """)
        #expect(values == [.string("dXNlcjpzZWNyZXQ="), .string("user:secret"), .string("01ff"), .bool(true),
                           .string("a%20b%2F%C3%A7"), .string("a b/c"),
                           .string("codigosObjetos=AA1&codigosObjetos=BB2&resultado=T"), .nil,
                           .string("base64: invalid character at position 1")])
    }

    @Test("text.clean trims and reads json numbers as digits; text.code normalizes a tracking number")
    func textHelpers() throws {
        let values = try vm.eval("""
            return text.clean('  SAO PAULO '), text.clean(12.0), text.clean(2.5), text.clean('   '), text.clean(json.null),
                   text.code(' si 047624825br '), text.code(' ')
            """)
        #expect(values == [.string("SAO PAULO"), .string("12"), .string("2.5"), .nil, .nil, .string("SI047624825BR"), .nil])
    }

    @Test("log forwards a script's line to the host log")
    func logWorks() throws {
        #expect(try vm.eval("log.info('hello', {carrier = 'x'}) return true") == [.bool(true)])
        #expect(throws: ScriptError.self) { try vm.eval("log.info()") }
    }
}

@Suite("xpcall in the sandbox")
struct XpcallTests {
    @Test("xpcall passes results through and hands errors to the handler")
    func xpcallBehavesLikeLua() throws {
        let vm = try LuaVM.sandboxed()
        let values = try vm.eval("""
            local a, b = xpcall(function(x) return x * 2 end, function(e) return 'h:' .. e end, 21)
            local c, d = xpcall(function() error('bad', 0) end, function(e) return 'h:' .. e end)
            return a, b, c, d
            """)
        #expect(values == [.bool(true), .integer(42), .bool(false), .string("h:bad")])
    }
}
