import Foundation
import Logging
import RastroCarriers
import RastroScripting
import Synchronization

/// The carriers in `carriers/`, reloaded while the service runs.
///
/// `reload()` reads every `<id>/carrier.lua` and the shared `_lib/*.lua`; a
/// carrier whose text changed is loaded into a scratch Lua state first, and only
/// a version that loads and passes the table check replaces the running one.
/// A broken edit is logged and the previous version keeps serving polls.
public final class CarrierRegistry: Sendable {
    public let directory: URL
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var versions: [String: CarrierVersion] = [:]
        /// The last load error per carrier, cleared when a version loads.
        var problems: [String: String] = [:]
        /// Hash of the text that last failed, so a broken file is reported once, not every scan.
        var failedHashes: [String: String] = [:]
    }

    public struct ReloadReport: Sendable, Hashable {
        public var loaded: [String] = []
        public var failed: [String: String] = [:]
        public var removed: [String] = []
        public var changed: Bool { !loaded.isEmpty || !removed.isEmpty }
    }

    public init(directory: URL, logger: Logger = Logger(label: "rastro.carriers")) {
        self.directory = directory
        self.logger = logger
    }

    public func current(_ id: String) -> CarrierVersion? { state.withLock { $0.versions[id] } }

    public var all: [CarrierVersion] { state.withLock { $0.versions.values.sorted { $0.id < $1.id } } }

    /// Load errors of carriers whose latest text did not load (the old version, if any, still runs).
    public var problems: [String: String] { state.withLock { $0.problems } }

    @discardableResult
    public func reload() -> ReloadReport {
        var report = ReloadReport()
        let fm = FileManager.default
        let libraries = Self.readLibraries(directory.appendingPathComponent("_lib"))
        let ids = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { !$0.hasPrefix("_") && !$0.hasPrefix(".") }
            .filter { fm.fileExists(atPath: directory.appendingPathComponent($0).appendingPathComponent("carrier.lua").path) }
            .sorted()
        for id in ids {
            let url = directory.appendingPathComponent(id).appendingPathComponent("carrier.lua")
            guard let data = fm.contents(atPath: url.path) else { continue }
            let source = String(decoding: data, as: UTF8.self)
            let hash = CarrierVersion.hash(source: source, libraries: libraries)
            let (running, failedBefore) = state.withLock { ($0.versions[id]?.hash, $0.failedHashes[id]) }
            if running == hash || failedBefore == hash { continue }
            let file = "\(directory.lastPathComponent)/\(id)/carrier.lua"
            do {
                let vm = try LuaVM.sandboxed()
                vm.librarySources = libraries
                let script = try CarrierScript.load(source: source, file: file, folderID: id, on: vm)
                let version = CarrierVersion(definition: script.definition, source: source, libraries: libraries, file: file)
                state.withLock {
                    $0.versions[id] = version
                    $0.problems[id] = nil
                    $0.failedHashes[id] = nil
                }
                report.loaded.append(id)
                if let running {
                    logger.info("carrier reloaded", metadata: ["carrier": "\(id)", "version": "\(version.hash)", "replaced": "\(running)"])
                } else {
                    logger.debug("carrier loaded", metadata: ["carrier": "\(id)", "version": "\(version.hash)"])
                }
            } catch {
                let message = "\(error)"
                state.withLock {
                    $0.problems[id] = message
                    $0.failedHashes[id] = hash
                }
                report.failed[id] = message
                logger.error("carrier did not load; \(running == nil ? "it is not available" : "the previous version keeps running")",
                             metadata: ["carrier": "\(id)", "error": "\(message)", "running": "\(running ?? "none")"])
            }
        }
        let gone = state.withLock { state -> [String] in
            let gone = state.versions.keys.filter { !ids.contains($0) }.sorted()
            for id in gone { state.versions[id] = nil; state.problems[id] = nil }
            return gone
        }
        for id in gone { logger.warning("carrier folder removed; its shipments wait until it returns", metadata: ["carrier": "\(id)"]) }
        report.removed = gone
        return report
    }

    /// Reloads every `interval` until the task is cancelled.
    public func watch(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            reload()
        }
    }

    static func readLibraries(_ folder: URL) -> [String: String] {
        let fm = FileManager.default
        var libraries: [String: String] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasSuffix(".lua") {
            if let data = fm.contents(atPath: folder.appendingPathComponent(name).path) {
                libraries[String(name.dropLast(4))] = String(decoding: data, as: UTF8.self)
            }
        }
        return libraries
    }
}
