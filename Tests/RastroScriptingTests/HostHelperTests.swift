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

    @Test("text.code also reads a json number; text.short keeps messages on one line and cuts between characters")
    func textShort() throws {
        let values = try vm.eval("""
            return text.code(12345678.0), text.short('  a\\n\\t b  '), text.short('abcdef', 3), text.short('abc', 3),
                   text.short('aç', 2), text.short('çç', 3), text.short(nil), text.short(42), #text.short(string.rep('x', 500))
            """)
        #expect(values == [.string("12345678"), .string(" a b "), .string("abc..."), .string("abc"),
                           .string("a..."), .string("ç..."), .string(""), .string("42"), .integer(123)])
    }

    @Test("text.codes keys the codes asked for by their normalized form")
    func textCodes() throws {
        let values = try vm.eval("""
            local r = text.codes({ 'si 047624825br', 'LB123456785BR', ' ', 42 })
            local n = 0
            for _ in pairs(r) do n = n + 1 end
            return r.SI047624825BR, r.LB123456785BR, r['42'], n, next(text.codes(nil))
            """)
        #expect(values == [.string("si 047624825br"), .string("LB123456785BR"), .integer(42), .integer(3), .nil])
    }

    @Test("value.table keeps tables and drops everything else")
    func valueTable() throws {
        let values = try vm.eval("""
            local t = {}
            return value.table(t) == t, value.table(json.null), value.table('x'), value.table(1), value.table(nil)
            """)
        #expect(values == [.bool(true), .nil, .nil, .nil, .nil])
    }

    @Test("check.s10 gives the UPU S10 check digit of a serial; known valid and invalid numbers",
          arguments: [("SI047624825BR", true), ("SX104110463BR", true), ("JT365572014BR", true), ("LE449872154SE", true),
                      ("AA123456785US", true), ("SI047624826BR", false), ("SX104110460BR", false)])
    func s10(code: String, valid: Bool) throws {
        let values = try vm.eval("local s = '\(code)' return check.s10(s:sub(3, 10)) == tonumber(s:sub(11, 11))")
        #expect(values == [.bool(valid)])
    }

    @Test("check digits: GS1 mod 10, mod 7, ISO 7064 MOD 37,36; nil for what is not digits")
    func checkDigits() throws {
        let values = try vm.eval("""
            return check.gs1('400638133393'), check.gs1('10614141123456789'), check.gs1('940011189922319742849'),
                   check.gs1('400638133394') ~= 1, check.mod7('123456789'), check.mod7('999999999'),
                   check.mod37_36('A12425GABC1234002'), check.mod37_36('05308801410058'),
                   check.s10('1234567'), check.s10('12345678X'), check.gs1(''), check.gs1('12a'), check.mod7(42),
                   check.mod37_36('abc'), check.s10(nil)
            """)
        #expect(values == [.integer(1), .integer(7), .integer(7), .bool(true), .integer(1), .integer(5),
                           .string("M"), .string("4"), .nil, .nil, .nil, .nil, .nil, .nil, .nil])
    }

    @Test("time.epoch and time.iso convert between ISO times and seconds; time.zone names a fixed offset")
    func timeArithmetic() throws {
        let values = try vm.eval("""
            return time.epoch('2015-10-21T07:28:00Z'), time.epoch('2015-10-21T09:28:00+02:00'), time.epoch('1970-01-01'),
                   time.epoch('2015-10-21T07:28'), time.epoch('yesterday'), time.epoch(nil),
                   time.iso(1445412480), time.iso(-1), time.iso(951782400), time.iso(1.5), time.iso('x'),
                   time.zone(0), time.zone(330), time.zone(-240), time.zone(480), time.zone(-780), time.zone(840), time.zone(0.5)
            """)
        #expect(values == [.integer(1445412480), .integer(1445412480), .integer(0), .integer(1445412480), .nil, .nil,
                           .string("2015-10-21T07:28:00Z"), .string("1969-12-31T23:59:59Z"), .string("2000-02-29T00:00:00Z"), .nil, .nil,
                           .string("UTC"), .string("+05:30"), .string("Etc/GMT+4"), .string("Etc/GMT-8"), .string("-13:00"),
                           .string("Etc/GMT-14"), .nil])
    }

    @Test("http.base_url takes config.base_url or the default, trimmed, without trailing slashes")
    func baseURL() throws {
        let values = try vm.eval("""
            return http.base_url({ base_url = ' http://loop.test:8080/api// ' }, 'https://api.acme.test'),
                   http.base_url({ base_url = '' }, 'https://api.acme.test/'), http.base_url({}, 'https://api.acme.test'),
                   http.base_url(nil, 'https://api.acme.test'), http.base_url('oops', 'https://api.acme.test'), http.base_url({})
            """)
        #expect(values == [.string("http://loop.test:8080/api"), .string("https://api.acme.test"), .string("https://api.acme.test"),
                           .string("https://api.acme.test"), .string("https://api.acme.test"), .nil])
    }

    @Test("http.retry_after reads seconds and HTTP dates (all three RFC 9110 forms) counted from now")
    func retryAfter() throws {
        let values = try vm.eval("""
            local now = '2015-10-21T07:00:00Z'
            local function ra(v, n) return http.retry_after({ ['retry-after'] = v }, n) end
            return ra('120', now), ra(' 30 ', now), ra('1.5'), ra('Wed, 21 Oct 2015 07:28:00 GMT', now),
                   ra('Wednesday, 21-Oct-15 07:28:00 GMT', now), ra('Wed Oct 21 07:28:00 2015', now),
                   ra('Tue, 20 Oct 2015 07:28:00 GMT', now), ra('Wed, 21 Oct 2015 07:28:00 GMT'), ra('-5', now), ra('soon', now),
                   http.retry_after({}, now), http.retry_after(nil, now)
            """)
        #expect(values == [.integer(120), .integer(30), .number(1.5), .integer(1680), .integer(1680), .integer(1680),
                           .integer(0), .nil, .nil, .nil, .nil, .nil])
    }

    @Test("http.triage decides auth, rate limits and temporary failures from the status, keeping the body's message")
    func triage() throws {
        let values = try vm.eval("""
            local function message(body)
              local doc = json.decode(body)
              if type(doc) == 'table' then return doc.message, doc.code end
            end
            local opts = { message = message, refused = 'Acme refused the token', now = '2015-10-21T07:00:00Z' }
            local function t(status, body, headers, o) return http.triage({ status = status, body = body or '', headers = headers or {} }, o or opts) end
            local function show(f)
              if f == nil then return 'nil' end
              return f.failure .. '|' .. tostring(f.message) .. '|' .. tostring(f.code) .. '|' .. tostring(f.retry_after)
            end
            return show(t(200, '{"message":"fine"}')), show(t(404, '{"message":"gone"}')),
                   show(t(401, '{"message":"token expired","code":"E401"}')), show(t(403, '<html>no</html>')),
                   show(t(403, '', nil, {})), show(t(429, '', { ['retry-after'] = '30' })),
                   show(t(429, '\\239\\187\\191{"message":"slow down"}', { ['retry-after'] = 'Wed, 21 Oct 2015 07:28:00 GMT' })),
                   show(t(429, '', nil, { wait = 60 })), show(t(503, '{"message":"down for maintenance"}')),
                   show(t(502, '<html>Bad gateway</html>')), show(t(408, '')), show(t(400, '{"message":"bad grant"}')),
                   show(t(400, '{"message":"bad grant"}', nil, { message = message, token = true })),
                   show(t(500, '{"message":"x"}', nil, { message = function() error('boom') end })),
                   show(http.triage('not a response')), show(http.triage({ status = '503' }))
            """)
        #expect(values == [.string("nil"), .string("nil"),
                           .string("auth|token expired|E401|nil"), .string("auth|HTTP 403: Acme refused the token|nil|nil"),
                           .string("auth|HTTP 403|nil|nil"), .string("rate_limited|HTTP 429: too many requests|nil|30"),
                           .string("rate_limited|slow down|nil|1680"),
                           .string("rate_limited|HTTP 429: too many requests|nil|60"), .string("temporary|HTTP 503: down for maintenance|nil|nil"),
                           .string("temporary|HTTP 502|nil|nil"), .string("temporary|HTTP 408|nil|nil"), .string("nil"),
                           .string("auth|bad grant|nil|nil"),
                           .string("temporary|HTTP 500|nil|nil"), .string("nil"), .string("temporary|HTTP 503|nil|nil")])
    }

    @Test("http.html recognizes a maintenance page and gives its title; triage calls it broken with expect")
    func htmlPages() throws {
        let values = try vm.eval("""
            local page = '\\239\\187\\191 <!DOCTYPE html><html><head><title>  Sistema em\\n manutenção </title></head></html>'
            local function show(f) return f and (f.failure .. '|' .. f.message) or 'nil' end
            local opts = { expect = 'JSON from Acme' }
            return http.html(page), http.html('<html><body>no title</body></html>'), http.html('{"html": "<html>"}'),
                   http.html('<?xml version="1.0"?><a/>'), http.html(nil),
                   show(http.triage({ status = 200, body = page }, opts)), show(http.triage({ status = 404, body = page }, opts)),
                   show(http.triage({ status = 503, body = page }, opts)), show(http.triage({ status = 200, body = page })),
                   show(http.triage({ status = 200, body = '{"ok": true}' }, opts))
            """)
        #expect(values == [.string("Sistema em\n manutenção"), .string(""), .nil, .nil, .nil,
                           .string("broken|expected JSON from Acme, got an HTML page (title: 'Sistema em manutenção')"),
                           .string("broken|HTTP 404: expected JSON from Acme, got an HTML page (title: 'Sistema em manutenção')"),
                           .string("temporary|HTTP 503"), .string("nil"), .string("nil")])
    }

    @Test("http.triage with status_code gives a refusal the HTTP status as its code when the body has none")
    func triageStatusCode() throws {
        let values = try vm.eval("""
            local function message(body) return 'refused', (body ~= '' and body or nil) end
            local a = http.triage({ status = 401, body = '' }, { status_code = true })
            local b = http.triage({ status = 403, body = 'E42' }, { status_code = true, message = message })
            local c = http.triage({ status = 503, body = '' }, { status_code = true })
            return a.code, b.code, c.code
            """)
        #expect(values == [.string("401"), .string("E42"), .nil])
    }

    @Test("failure.guard turns an error into a broken failure; check.guard into 'cannot check this number'")
    func guards() throws {
        let values = try vm.eval("""
            local parse = failure.guard(function(r) if r == 'bad' then error('boom', 0) end return { ok = r } end, 'acme script')
            local validate = check.guard(function(code) return code:match('^AC') ~= nil, 'expected AC' end)
            local f = parse('bad')
            local v1, r1 = validate('AC1')
            local v2, r2 = validate(42)
            return parse('x').ok, f.failure, f.message, v1, r1, v2, r2
            """)
        #expect(values == [.string("x"), .string("broken"), .string("acme script could not read the response: boom"),
                           .bool(true), .string("expected AC"), .bool(false), .string("cannot check this number")])
    }

    @Test("check.verdict is what validate returns for a check digit")
    func verdict() throws {
        let values = try vm.eval("""
            local a, ra = check.verdict(5, 5)
            local b, rb = check.verdict(5, 6)
            local c, rc = check.verdict(check.mod37_36('05308801410058'), 'X', 'check character')
            return a, ra, b, rb, c, rc
            """)
        #expect(values == [.bool(true), .string("check_digit"), .bool(false), .string("check digit: expected 5, got 6"),
                           .bool(false), .string("check character: expected 4, got X")])
    }

    @Test("hash.sha256 matches the FIPS 180-4 test vectors")
    func sha256() throws {
        let values = try vm.eval("""
            return hash.sha256(''), hash.sha256('abc'),
                   hash.sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), hash.sha256(nil)
            """)
        #expect(values == [.string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                           .string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                           .string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), .nil])
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
