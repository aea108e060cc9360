import Foundation
import RastroScripting

extension RulesEngine {
    /// One Lua state with the rules loaded into it, used by one caller at a time.
    ///
    /// The engine keeps a few, so that rules for changes worked out at the same time
    /// (pushes planned on several readers) run side by side instead of queueing on one
    /// lock: with a single state, a push load parked threads on that lock about as
    /// often as on the database. Rules are pure functions of their context, so which
    /// lane runs a call does not change its answer.
    final class Lane: @unchecked Sendable {
        // @unchecked: `vm` and `loaded` are only touched by the holder of `lock`.
        let lock = NSLock()
        let vm: LuaVM
        private var loaded: [String: (hash: String, script: LuaVM.Script)] = [:]

        init() throws { vm = try LuaVM.sandboxed() }

        /// The compiled rules of `version`, loaded (or reloaded, when the file changed) on first use.
        func script(for version: RuleVersion) throws -> LuaVM.Script {
            if let hit = loaded[version.name], hit.hash == version.hash { return hit.script }
            let (script, values) = try vm.load(version.loadableSource, chunkName: version.file)
            guard let script, values.first?.tableValue != nil else {
                if let script { vm.unload(script) }
                throw RuleError(file: version.file, "must return a table of hooks")
            }
            if let old = loaded[version.name] { vm.unload(old.script) }
            loaded[version.name] = (version.hash, script)
            return script
        }
    }

    /// One lane per core (at least two), so readers on every core can run rules at once.
    public static var defaultLaneCount: Int { max(2, min(8, ProcessInfo.processInfo.activeProcessorCount)) }

    /// `body` with a lane to itself: the first free one, else (all busy) the next in turn.
    func withLane<T>(_ body: (Lane) throws -> T) rethrows -> T {
        for lane in lanes where lane.lock.try() {
            defer { lane.lock.unlock() }
            return try body(lane)
        }
        let lane = lanes[nextLane.add(1, ordering: .relaxed).oldValue % lanes.count]
        return try lane.lock.withLock { try body(lane) }
    }
}
