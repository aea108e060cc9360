import CLuaShim
import Foundation

/// One sandboxed Lua state.
///
/// Not thread-safe and not Sendable: a `LuaWorker` owns each one and uses it
/// only from its own thread. Swift never holds a `lua_State`; every call goes
/// through the C shim, which runs Lua under `lua_pcall` and hands back copies.
public final class LuaVM {
    public typealias HostFunction = ([LuaValue]) throws -> [LuaValue]

    /// Memory cap of a state: all scripts and their data in one worker.
    public static let defaultMemoryLimit = 64 * 1024 * 1024

    private let vm: OpaquePointer
    private let host: HostContext
    public private(set) var isSealed = false

    public init(memoryLimit: Int = LuaVM.defaultMemoryLimit) throws {
        host = HostContext()
        var error: UnsafeMutablePointer<CChar>?
        let context = Unmanaged.passUnretained(host).toOpaque()
        guard let vm = rastro_vm_new(memoryLimit, context, hostTrampoline, zoneResolver, &error) else {
            throw ScriptError(.memory, takeMessage(error) ?? "cannot create a Lua state")
        }
        self.vm = vm
    }

    deinit { rastro_vm_free(vm) }

    /// A sealed state with the standard host functions, plus whatever `configure` registers.
    public static func sandboxed(memoryLimit: Int = LuaVM.defaultMemoryLimit,
                                 configure: (LuaVM) throws -> Void = { _ in }) throws -> LuaVM {
        let vm = try LuaVM(memoryLimit: memoryLimit)
        try HostFunctions.registerStandard(on: vm)
        try configure(vm)
        try vm.seal()
        return vm
    }

    /// Bytes allocated by the state now.
    public var memoryUsed: Int { rastro_vm_memory_used(vm) }
    public var memoryLimit: Int { rastro_vm_memory_limit(vm) }

    /// Where `carriers.library(name)` finds `<name>.lua` (carriers/_lib).
    /// Library sources by name, when a caller pinned them (a carrier version
    /// loads exactly the libraries it was validated with); otherwise
    /// `libraryDirectory` is read.
    public var librarySources: [String: String]? {
        get { host.librarySources }
        set { host.librarySources = newValue }
    }

    /// Whatever the owner of this VM keeps beside it (loaded carrier scripts, say).
    /// The VM lives on one worker, so this needs no locking.
    public var userInfo: [String: AnyObject] = [:]

    public var libraryDirectory: URL? {
        get { host.libraryDirectory }
        set { host.libraryDirectory = newValue }
    }

    /// Makes `fn` callable from scripts as `namespace.name(...)`. Before `seal` only.
    ///
    /// A Swift error thrown by `fn` reaches the script as a Lua error it can catch
    /// with `pcall`; uncaught, it ends the call as a `ScriptError` of kind `.runtime`.
    public func register(_ namespace: String, _ name: String, _ fn: @escaping HostFunction) throws {
        let id = host.functions.count
        host.functions.append(fn)
        var error: UnsafeMutablePointer<CChar>?
        let st = rastro_vm_register(vm, namespace, name, Int32(id), &error)
        try check(st, error)
    }

    /// Runs the trusted host prelude and closes the environment.
    public func seal(prelude: String = HostPrelude.source) throws {
        var error: UnsafeMutablePointer<CChar>?
        let st = prelude.withCString { rastro_vm_seal(vm, $0, strlen($0), LuaLimits.load.c, &error) }
        try check(st, error)
        isSealed = true
    }

    /// A script kept in the state by `load`.
    public struct Script: Sendable, Hashable {
        public let ref: Int32
        public let chunkName: String
    }

    /// Compiles and runs a chunk in a fresh read-only environment. Returns the
    /// chunk's values and, when the first is a table, a handle to call into it.
    @discardableResult
    public func load(_ source: String, chunkName: String, limits: LuaLimits = .load) throws -> (script: Script?, values: [LuaValue]) {
        var error: UnsafeMutablePointer<CChar>?
        var ref: Int32 = -1
        var out = rastro_bytes()
        defer { rastro_bytes_free(&out) }
        // "@name" makes Lua report positions as "name:line:".
        // The length comes from the UTF-8 view, not strlen: a chunk may hold NUL bytes (bytecode does).
        let length = source.utf8.count
        let st = source.withCString { src in
            rastro_vm_load(vm, "@" + chunkName, src, length, limits.c, &ref, &out, &error)
        }
        try check(st, error)
        let values = try decode(out)
        return (ref >= 0 ? Script(ref: ref, chunkName: chunkName) : nil, values)
    }

    /// Evaluates a chunk and returns its values (tests, the REPL-like commands).
    public func eval(_ source: String, chunkName: String = "eval", limits: LuaLimits = .call) throws -> [LuaValue] {
        let (script, values) = try load(source, chunkName: chunkName, limits: limits)
        if let script { unload(script) }
        return values
    }

    public func unload(_ script: Script) { rastro_vm_unload(vm, script.ref) }

    /// Calls `script[field](args...)`.
    public func call(_ script: Script, _ field: String, _ args: [LuaValue], limits: LuaLimits = .call) throws -> [LuaValue] {
        var error: UnsafeMutablePointer<CChar>?
        var out = rastro_bytes()
        defer { rastro_bytes_free(&out) }
        let wire = LuaWire.encode(args)
        let st = wire.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                rastro_vm_call(vm, script.ref, field, p, buf.count, limits.c, &out, &error)
            }
        }
        try check(st, error)
        return try decode(out)
    }

    public func hasFunction(_ script: Script, _ field: String) -> Bool {
        rastro_vm_has_function(vm, script.ref, field) != 0
    }

    public func collectGarbage() { rastro_vm_collect(vm) }

    private func decode(_ out: rastro_bytes) throws -> [LuaValue] {
        guard let data = out.data, out.len > 0 else { return [] }
        do {
            return try LuaWire.decode(UnsafeRawBufferPointer(start: data, count: out.len))
        } catch {
            throw ScriptError(.usage, "malformed values from the Lua state")
        }
    }

    private func check(_ status: rastro_status, _ error: UnsafeMutablePointer<CChar>?) throws {
        let message = takeMessage(error)
        switch status {
        case RASTRO_OK: return
        case RASTRO_ERR_SYNTAX: throw ScriptError(.syntax, message ?? "syntax error")
        case RASTRO_ERR_MEMORY: throw ScriptError(.memory, message ?? "memory limit")
        case RASTRO_ERR_TIMEOUT: throw ScriptError(.timeout, message ?? "time limit")
        case RASTRO_ERR_INSTRUCTIONS: throw ScriptError(.instructions, message ?? "instruction limit")
        case RASTRO_ERR_USAGE: throw ScriptError(.usage, message ?? "misuse")
        default: throw ScriptError(.runtime, message ?? "script error")
        }
    }
}

private func takeMessage(_ p: UnsafeMutablePointer<CChar>?) -> String? {
    guard let p else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// State the C callbacks reach through their `host` pointer.
final class HostContext {
    var functions: [LuaVM.HostFunction] = []
    var libraryDirectory: URL?
    var librarySources: [String: String]?
    var zones: [String: TimeZone?] = [:]
    /// Offsets by (zone, local quarter-hour). Zone transitions fall on quarter
    /// hours of local time, and Foundation's lookups cost microseconds each.
    var offsets: [OffsetKey: Int64] = [:]

    struct OffsetKey: Hashable {
        var zone: String
        var quarter: Int64
    }

    func zone(_ name: String) -> TimeZone? {
        if let cached = zones[name] { return cached }
        let tz = TimeZone(identifier: name)
        zones[name] = tz
        return tz
    }
}

/// Called by the C trampoline with the script's arguments. Never throws across
/// C: errors come back as a message the trampoline raises after we return.
private let hostTrampoline: rastro_host_fn = { host, fnId, args, argsLen, out, error in
    let context = Unmanaged<HostContext>.fromOpaque(host!).takeUnretainedValue()
    let fail: (String) -> Int32 = { message in
        error?.pointee = strdup(message)
        return 1
    }
    let values: [LuaValue]
    do {
        values = try LuaWire.decode(UnsafeRawBufferPointer(start: args, count: argsLen))
    } catch {
        return fail("host: malformed arguments")
    }
    guard Int(fnId) < context.functions.count else { return fail("host: unknown function") }
    do {
        let results = try context.functions[Int(fnId)](values)
        let wire = LuaWire.encode(results)
        guard let buf = malloc(max(wire.count, 1)) else { return fail("host: out of memory") }
        wire.withUnsafeBytes { buf.copyMemory(from: $0.baseAddress!, byteCount: wire.count) }
        out?.pointee = rastro_bytes(data: buf.assumingMemoryBound(to: CChar.self), len: wire.count)
        return 0
    } catch let e as ScriptError {
        return fail(e.message)
    } catch {
        return fail(String(describing: error))
    }
}

/// Offsets for time.parse's zones, from Foundation's time zone data.
private let zoneResolver: rastro_zone_fn = { host, zone, zoneLen, localSeconds, offsetOut in
    let context = Unmanaged<HostContext>.fromOpaque(host!).takeUnretainedValue()
    let name = String(decoding: UnsafeRawBufferPointer(start: zone, count: zoneLen), as: UTF8.self)
    let key = HostContext.OffsetKey(zone: name, quarter: localSeconds >= 0 ? localSeconds / 900 : (localSeconds - 899) / 900)
    if let cached = context.offsets[key] {
        offsetOut?.pointee = cached
        return 0
    }
    guard let tz = context.zone(name) else { return 1 }
    // A wall time maps to UTC by the offset in force then; try the offset at the
    // naive instant, then correct once across a transition.
    let first = tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds)))
    let second = tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds - Int64(first))))
    if context.offsets.count > 100_000 { context.offsets.removeAll(keepingCapacity: true) }
    context.offsets[key] = Int64(second)
    offsetOut?.pointee = Int64(second)
    return 0
}
