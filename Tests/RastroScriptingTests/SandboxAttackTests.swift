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
}
