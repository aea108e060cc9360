import Foundation
import Testing
@testable import RastroScripting

/// Hostile scripts, one per attack. Each must be stopped with a clear error and
/// leave the state usable.
@Suite("Sandbox attacks")
struct SandboxAttackTests {
    let short = LuaLimits(maxInstructions: .max, timeout: .milliseconds(100))

    func vm(memory: Int = 32 << 20) throws -> LuaVM { try LuaVM.sandboxed(memoryLimit: memory) }

    func expectStopped(_ source: String, kind: ScriptError.Kind, limits: LuaLimits, within: Duration = .milliseconds(400),
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let vm = try vm()
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: ScriptError.self, sourceLocation: sourceLocation) { try vm.eval(source, limits: limits) }
        do { _ = try vm.eval(source, limits: limits) } catch let e as ScriptError {
            #expect(e.kind == kind, "\(e.message)", sourceLocation: sourceLocation)
        }
        let elapsed = (clock.now - start) / 2
        #expect(elapsed < within, "took \(elapsed)", sourceLocation: sourceLocation)
        #expect(try vm.eval("return 1 + 1") == [.integer(2)], sourceLocation: sourceLocation)
    }

    @Test("binary chunk refused: load(string.dump(f))")
    func binaryChunkRefusedThroughLoad() throws {
        let vm = try vm()
        let values = try vm.eval("""
            local ok, err = pcall(function() return load(string.dump(function() end)) end)
            local f, msg = load("\\27Lua\\84\\0", "x", "b")
            local g, msg2 = load("\\27Lua\\84\\0")
            return ok, f, msg, g, msg2
            """)
        #expect(values[0] == .bool(false))
        #expect(values[1] == .nil)
        #expect(values[2].stringValue?.contains("binary chunks are not allowed") == true)
        #expect(values[3] == .nil)
        #expect(values[4].stringValue?.contains("binary chunk") == true)
    }

    @Test("binary chunk refused: a bytecode file")
    func binaryChunkRefusedAsFile() throws {
        let vm = try vm()
        let bytecode = "\u{1B}Lua\u{54}\u{00}\u{19}\u{93}\r\n\u{1A}\n\u{04}\u{08}\u{08}"
        do {
            try vm.load(bytecode, chunkName: "carriers/evil/carrier.lua")
            Issue.record("bytecode was loaded")
        } catch let e as ScriptError {
            #expect(e.kind == .syntax)
            #expect(e.message.contains("binary chunk"))
        }
    }

    @Test("io, os, debug, package, require, dofile, loadfile, collectgarbage, print and rawset are absent",
          arguments: ["io", "os", "debug", "package", "require", "dofile", "loadfile", "collectgarbage", "print", "rawset", "_G"])
    func dangerousGlobalsAreAbsent(name: String) throws {
        let vm = try vm()
        let values = try vm.eval("return pcall(function() return \(name) end)")
        #expect(values[0] == .bool(false))
        #expect(values[1].stringValue?.contains("unknown global '\(name)'") == true)
    }

    @Test("string.dump is absent, from the library and through string methods")
    func stringDumpIsAbsent() throws {
        let vm = try vm()
        #expect(try vm.eval("return string.dump, ('x').dump") == [.nil, .nil])
    }

    @Test("while true do end is stopped near the deadline")
    func infiniteLoopStopped() throws {
        try expectStopped("while true do end", kind: .timeout, limits: short)
    }

    @Test("an instruction budget stops a loop before the deadline")
    func instructionBudgetStopsLoop() throws {
        try expectStopped("local i = 0 while true do i = i + 1 end", kind: .instructions,
                          limits: LuaLimits(maxInstructions: 1_000_000, timeout: .seconds(10)))
    }

    @Test("pcall cannot swallow the deadline")
    func pcallCannotSwallowDeadline() throws {
        try expectStopped("while true do pcall(function() while true do end end) end", kind: .timeout, limits: short)
    }

    @Test("xpcall with a looping handler cannot swallow the deadline")
    func xpcallHandlerCannotSwallowDeadline() throws {
        try expectStopped("while true do xpcall(function() while true do end end, function() while true do end end) end",
                          kind: .timeout, limits: short)
    }

    @Test("a loop inside a coroutine is stopped near the deadline")
    func coroutineLoopStopped() throws {
        try expectStopped("coroutine.wrap(function() while true do end end)()", kind: .timeout, limits: short)
        try expectStopped("""
            while true do coroutine.resume(coroutine.create(function() while true do end end)) end
            """, kind: .timeout, limits: short)
    }

    @Test("pattern backtracking is stopped near the deadline")
    func patternBacktrackingStopped() throws {
        try expectStopped("return ('a'):rep(400):find('.-.-.-b')", kind: .timeout, limits: short)
        try expectStopped("return string.match(('a'):rep(400), '.-.-.-b')", kind: .timeout, limits: short)
        try expectStopped("return (('a'):rep(400)):gsub('.-.-.-b', '')", kind: .timeout, limits: short)
    }

    @Test("string.rep('x', 1e9) is stopped by the memory cap and the state stays usable")
    func hugeStringStoppedByMemoryCap() throws {
        try expectStopped("return string.rep('x', 1e9)", kind: .memory, limits: .call)
    }

    @Test("unbounded table growth is stopped by the memory cap and the state stays usable")
    func tableGrowthStoppedByMemoryCap() throws {
        let vm = try vm()
        let before = vm.memoryUsed
        do {
            _ = try vm.eval("local t, i = {}, 0 while true do i = i + 1 t[i] = {i} end",
                            limits: LuaLimits(maxInstructions: .max, timeout: .seconds(20)))
            Issue.record("table grew without limit")
        } catch let e as ScriptError {
            #expect(e.kind == .memory)
        }
        #expect(try vm.eval("local t = {} for i = 1, 1000 do t[i] = i end return #t") == [.integer(1000)])
        #expect(vm.memoryUsed < before + (1 << 20), "garbage was not reclaimed: \(vm.memoryUsed) bytes")
    }

    @Test("setmetatable with __gc is refused")
    func gcMetamethodRefused() throws {
        let vm = try vm()
        let values = try vm.eval("return pcall(setmetatable, {}, {__gc = function() end})")
        #expect(values[0] == .bool(false))
        #expect(values[1].stringValue?.contains("__gc") == true)
    }

    @Test("globals are read-only")
    func globalsAreReadOnly() throws {
        let vm = try vm()
        let values = try vm.eval("return pcall(function() x = 1 end)")
        #expect(values[0] == .bool(false))
        #expect(values[1].stringValue?.contains("assignment to global 'x'") == true)
    }

    @Test("unknown globals raise")
    func unknownGlobalsRaise() throws {
        let vm = try vm()
        #expect(throws: ScriptError.self) { try vm.eval("return undefined_thing") }
    }

    @Test("library tables and the string metatable cannot be changed")
    func librariesCannotBeChanged() throws {
        let vm = try vm()
        let values = try vm.eval("""
            local a = pcall(function() string.upper = function() return 'pwned' end end)
            local b = pcall(function() getmetatable('').__index.upper = function() return 'pwned' end end)
            local c = pcall(function() json.decode = nil end)
            local d = pcall(setmetatable, string, {})
            return a, b, c, d, getmetatable(''), ('x'):upper()
            """)
        #expect(values == [.bool(false), .bool(false), .bool(false), .bool(false), .bool(false), .string("X")])
    }

    @Test("one script's writes cannot leak into another script or a later call")
    func writesDoNotLeakAcrossScripts() throws {
        let vm = try vm()
        let (a, _) = try vm.load("""
            return { run = function()
              pcall(function() leaked = true end)
              pcall(function() string.leaked = true end)
              pcall(function() math.pi = 3 end)
              return 1
            end }
            """, chunkName: "a.lua")
        let (b, _) = try vm.load("""
            return { check = function()
              return pcall(function() return leaked end), string.leaked, math.pi
            end }
            """, chunkName: "b.lua")
        _ = try vm.call(a!, "run", [])
        let values = try vm.call(b!, "check", [])
        #expect(values[0] == .bool(false))
        #expect(values[1] == .nil)
        #expect(values[2] == .number(Double.pi))
        // the same script, a later call
        #expect(try vm.call(a!, "run", []) == [.integer(1)])
    }

    @Test("load without an environment gets a sandbox, not the host's globals")
    func loadGetsSandboxEnvironment() throws {
        let vm = try vm()
        let values = try vm.eval("""
            local f = load("return pcall(function() return cjson or lxp or host or dofile end)")
            return f()
            """)
        #expect(values[0] == .bool(false))
    }

    // ---- xml.parse: expat runs in C, where the count hook cannot reach -------

    @Test("billion laughs is refused")
    func billionLaughsRefused() throws {
        let vm = try vm()
        let entities = (1...9).map { i in
            "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i - 1);", count: 10) + "\">"
        }.joined(separator: "\n")
        let dtd = "<!DOCTYPE lolz [<!ENTITY lol0 \"lol\">\n\(entities)\n]>"
        let clock = ContinuousClock()
        let start = clock.now
        let values = try vm.eval("""
            local dtd = [[\(dtd)]]
            local big = string.rep("a", 40000)
            local a, e1 = xml.parse(dtd .. "<lolz>&lol9;</lolz>")
            local b, e2 = xml.parse(dtd .. "<lolz x='&lol9;'/>")
            -- quadratic blowup: one large entity, referenced many times
            local c, e3 = xml.parse("<!DOCTYPE r [<!ENTITY a '" .. big .. "'>]><r>" .. string.rep("&a;", 20000) .. "</r>")
            return a, e1, b, e2, c, e3
            """)
        #expect(clock.now - start < .seconds(1), "took \(clock.now - start)")
        for i in [0, 2, 4] {
            #expect(values[i] == .nil)
            #expect(values[i + 1].stringValue?.hasPrefix("xml: limit on input amplification factor") == true, "\(values[i + 1])")
        }
        #expect(try vm.eval("return xml.parse('<a>ok</a>'):text()") == [.string("ok")])
    }

    @Test("an external entity is not loaded")
    func externalEntityNotLoaded() throws {
        let vm = try vm()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-xxe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let secret = dir.appendingPathComponent("secret.txt")
        try "SECRET-FROM-DISK".write(to: secret, atomically: true, encoding: .utf8)
        let dtd = dir.appendingPathComponent("evil.dtd")
        try "<!ENTITY leak \"SECRET-FROM-DTD\">".write(to: dtd, atomically: true, encoding: .utf8)
        let values = try vm.eval("""
            local function everything(root, err)
              if not root then return "nil: " .. err end
              local out = { root.value }
              for k, v in pairs(root.attr) do out[#out + 1] = k .. "=" .. v end
              for _, n in ipairs(root:descendants("*")) do out[#out + 1] = n.value end
              return "tree: " .. table.concat(out, "|")
            end
            return everything(xml.parse([[<!DOCTYPE a [<!ENTITY x SYSTEM "file://\(secret.path)">]><a>&x;</a>]])),
                   everything(xml.parse([[<!DOCTYPE a [<!ENTITY % p SYSTEM "file://\(dtd.path)"> %p;]><a>&leak;</a>]])),
                   everything(xml.parse([[<!DOCTYPE a SYSTEM "file://\(dtd.path)"><a>&leak;</a>]])),
                   everything(xml.parse([[<!DOCTYPE a [<!ENTITY x SYSTEM "\(secret.path)">]><a b="c">&x;<b>&x;</b></a>]]))
            """)
        #expect(values.count == 4)
        for value in values {
            let text = value.stringValue ?? ""
            #expect(!text.contains("SECRET"), "\(text)")
            #expect(text.hasPrefix("tree: ") || text.hasPrefix("nil: xml: "), "\(text)")
        }
    }

    @Test("a deep nesting bomb is refused or bounded")
    func deepNestingRefused() throws {
        let vm = try vm()
        let values = try vm.eval("""
            local bomb, err = xml.parse(string.rep("<a>", 100000) .. string.rep("</a>", 100000))
            local deepest = assert(xml.parse(string.rep("<a>", 256) .. "x" .. string.rep("</a>", 256)))
            local n = deepest
            for _ = 2, 256 do n = n[1] end
            return bomb, err, n.value, #n
            """)
        #expect(values == [.nil, .string("xml: elements nested deeper than 256 at line 1, column 769"), .string("x"), .integer(0)])
    }

    @Test("a chain of nested entities is refused before it can overflow the C stack")
    func entityChainRefused() throws {
        // expat expands entity references by recursion; 50,000 links crash
        // Debian's expat 2.5.0 (CVE-2024-8176). A chain is no longer than the
        // entities declared, and those are capped.
        let vm = try vm()
        let values = try vm.eval("""
            local parts = { "<!DOCTYPE a [<!ENTITY e0 'x'>" }
            for i = 1, 50000 do parts[#parts + 1] = "<!ENTITY e" .. i .. " '&e" .. (i - 1) .. ";'>" end
            parts[#parts + 1] = "]><a>&e50000;</a>"
            local root, err = xml.parse(table.concat(parts))
            local few = assert(xml.parse("<!DOCTYPE a [<!ENTITY e0 'x'><!ENTITY e1 '&e0;&e0;'>]><a>&e1;</a>"))
            return root, err, few.value
            """)
        #expect(values[0] == .nil)
        #expect(values[1].stringValue?.hasPrefix("xml: more than 64 entities declared at line 1, column ") == true, "\(values[1])")
        #expect(values[2] == .string("xx"))
    }

    @Test("a document over 8 MiB is refused")
    func oversizedDocumentRefused() throws {
        // The production cap: the text, expat's copy of it, the arena and the tree all count.
        let vm = try vm(memory: LuaVM.defaultMemoryLimit)
        let values = try vm.eval("""
            local body = "<a>" .. string.rep("x", 8 * 1024 * 1024 - 7) .. "</a>"
            local root = xml.parse(body)
            local over, err = xml.parse(body .. " ")
            return #root.value, over, err
            """)
        #expect(values == [.integer(8 * 1024 * 1024 - 7), .nil, .string("xml: document is larger than 8388608 bytes")])
    }

    @Test("an allocation failure mid-parse leaks nothing and the state stays usable")
    func xmlAllocationFailureLeaksNothing() throws {
        // Expat and the tree's arena allocate through the state's capped
        // allocator, so whatever a failed parse left behind would stay counted.
        let vm = try vm(memory: 6 << 20)
        _ = try vm.eval("return xml.parse('<a b=\"c\">d</a>')")
        vm.collectGarbage()
        let before = vm.memoryUsed
        // Many elements (the tables run out), long text (the arena runs out),
        // a long attribute value (expat's own pools run out), at growing sizes
        // so that each runs out at a different point.
        let shapes = [
            "'<r>' .. string.rep('<e a=\"1\">text</e>', N // 16) .. '</r>'",
            "'<r>' .. string.rep('some text\\n', N // 10) .. '</r>'",
            "'<r a=\"' .. string.rep('v', N) .. '\"/>'",
        ]
        var refused = 0
        for shape in shapes {
            for size in stride(from: 200_000, through: 5_000_000, by: 300_000) {
                do {
                    let values = try vm.eval("local N = \(size) local root = xml.parse(\(shape)) return root ~= nil")
                    #expect(values == [.bool(true)])
                } catch let e as ScriptError {
                    #expect(e.kind == .memory, "\(e.message)")
                    refused += 1
                }
                vm.collectGarbage()
                #expect(vm.memoryUsed <= before + 16 * 1024, "shape \(shape) at \(size): \(vm.memoryUsed - before) bytes left over")
            }
        }
        #expect(refused >= 20, "only \(refused) parses hit the cap")
        #expect(try vm.eval("return xml.parse('<a><b>ok</b></a>'):text('b'), json.decode('[1]')[1]") == [.string("ok"), .number(1)])
    }

    @Test("xml.parse of a large document stops near the deadline")
    func xmlParseStopsAtDeadline() throws {
        // 500,000 lines of text (7.5 MB): expat reports each line, and the callbacks look at the clock.
        try expectStopped("return xml.parse('<r>' .. string.rep('a line of text\\n', 500000) .. '</r>')",
                          kind: .timeout, limits: LuaLimits(maxInstructions: .max, timeout: .milliseconds(20)))
    }

    @Test("xml node methods cannot be changed through a node's metatable")
    func xmlNodeMethodsAreProtected() throws {
        // Every node of every script shares one metatable: writable, it would
        // let one script change what node:text() returns for all the others.
        let vm = try vm()
        let (a, _) = try vm.load("""
            return { run = function()
              local doc = xml.parse("<a><b>x</b></a>")
              local evil = function() return "pwned" end
              pcall(function() getmetatable(doc).__index.text = evil end)
              pcall(function() getmetatable(doc).__index = { text = evil } end)
              pcall(setmetatable, doc, { __index = { text = evil } })
              return doc:text("b")
            end }
            """, chunkName: "a.lua")
        let (b, _) = try vm.load("""
            return { check = function()
              local doc = xml.parse("<a><b>x</b></a>")
              return doc:text("b"), getmetatable(doc)
            end }
            """, chunkName: "b.lua")
        #expect(try vm.call(a!, "run", []) == [.string("x")])
        #expect(try vm.call(b!, "check", []) == [.string("x"), .bool(false)])
    }

    @Test("the raw xml helpers are not reachable from scripts", arguments: ["xml_tree", "xml_trim"])
    func xmlHelpersUnreachable(name: String) throws {
        let vm = try vm()
        let values = try vm.eval("return pcall(function() return \(name) end)")
        #expect(values[0] == .bool(false))
        #expect(values[1].stringValue?.contains("unknown global '\(name)'") == true)
    }
}
