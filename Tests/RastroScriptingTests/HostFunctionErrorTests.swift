import Testing
@testable import RastroScripting

struct Boom: Error, CustomStringConvertible { var description: String { "boom from Swift" } }

@Suite("Host functions")
struct HostFunctionErrorTests {
    func vm() throws -> LuaVM {
        try LuaVM.sandboxed { vm in
            try vm.register("test", "fail") { _ in throw Boom() }
            try vm.register("test", "echo") { args in args }
        }
    }

    @Test("a Swift error reaches the script as a catchable Lua error")
    func hostErrorIsCatchable() throws {
        let vm = try vm()
        let values = try vm.eval("return pcall(test.fail)")
        #expect(values == [.bool(false), .string("boom from Swift")])
    }

    @Test("an uncaught Swift error ends the call as a ScriptError and the state stays usable")
    func uncaughtHostErrorBecomesSwiftError() throws {
        let vm = try vm()
        do {
            _ = try vm.eval("test.fail()")
            Issue.record("no error")
        } catch let e as ScriptError {
            #expect(e.kind == .runtime)
            #expect(e.message.contains("boom from Swift"))
        }
        #expect(try vm.eval("return test.echo(1, 'two', {3, x = true})") ==
                [.integer(1), .string("two"), .table(LuaTable(array: [.integer(3)], fields: ["x": .bool(true)]))])
    }

    @Test("10,000 host errors leave memory flat")
    func manyHostErrorsLeaveMemoryFlat() throws {
        let vm = try vm()
        _ = try vm.eval("for i = 1, 100 do pcall(test.fail) end")
        vm.collectGarbage()
        let before = vm.memoryUsed
        for _ in 0..<100 {
            _ = try vm.eval("for i = 1, 99 do pcall(test.fail, ('x'):rep(100), {1, 2, 3}) end")
            _ = try? vm.eval("test.fail({nested = {deep = true}})")
        }
        vm.collectGarbage()
        #expect(vm.memoryUsed <= before + 64 * 1024, "grew from \(before) to \(vm.memoryUsed)")
    }

    @Test("a cyclic table handed to the host is an error, not a hang")
    func cyclicArgumentIsAnError() throws {
        let vm = try vm()
        let values = try vm.eval("local t = {} t.self = t return pcall(test.echo, t)")
        #expect(values[0] == .bool(false))
        #expect(values[1].stringValue?.contains("nested deeper") == true)
    }
}
