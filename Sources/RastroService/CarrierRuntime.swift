import RastroCarriers
import RastroScripting

/// Carrier scripts loaded into one worker's Lua state, by version.
///
/// A worker loads a version the first time a poll needs it and keeps it until
/// a poll asks for a newer one; each poll names its version, so every poll runs
/// one version whole even while a reload happens.
enum CarrierRuntime {
    private final class Loaded {
        var scripts: [String: (hash: String, script: CarrierScript)] = [:]
    }

    private static let key = "rastro.carriers"

    static func script(_ version: CarrierVersion, on vm: LuaVM) throws -> CarrierScript {
        let loaded: Loaded
        if let existing = vm.userInfo[key] as? Loaded {
            loaded = existing
        } else {
            loaded = Loaded()
            vm.userInfo[key] = loaded
        }
        if let hit = loaded.scripts[version.id], hit.hash == version.hash { return hit.script }
        vm.librarySources = version.libraries
        let script = try CarrierScript.load(source: version.source, file: version.file, folderID: version.id, on: vm)
        loaded.scripts[version.id] = (version.hash, script)  // the replaced script unloads in its deinit
        return script
    }
}
