import Foundation
import Logging
import RastroScripting
import Synchronization

/// The rules in `rules/`, reloaded while the service runs, like carriers:
/// a file that does not load is logged and the previous version stays.
public final class RuleRegistry: Sendable {
    public let directory: URL
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var versions: [String: RuleVersion] = [:]
        var problems: [String: String] = [:]
        var failedHashes: [String: String] = [:]
    }

    /// The hooks a rules file may define.
    public static let hooks = ["on_change", "on_expired", "on_carrier_alert", "on_registered"]

    public init(directory: URL, logger: Logger = Logger(label: "rastro.rules")) {
        self.directory = directory
        self.logger = logger
    }

    /// The file that applies to a merchant: its own, else `default`.
    public func rules(for merchant: String) -> RuleVersion? {
        state.withLock { $0.versions[merchant] ?? $0.versions["default"] }
    }

    public func current(_ name: String) -> RuleVersion? { state.withLock { $0.versions[name] } }

    public var problems: [String: String] { state.withLock { $0.problems } }

    @discardableResult
    public func reload() -> (loaded: [String], failed: [String: String]) {
        var loaded: [String] = [], failed: [String: String] = [:]
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".lua") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(4)) }.sorted()
        for name in names {
            guard let data = fm.contents(atPath: directory.appendingPathComponent(name + ".lua").path) else { continue }
            let version = RuleVersion(name: name, source: String(decoding: data, as: UTF8.self),
                                      file: "\(directory.lastPathComponent)/\(name).lua")
            let (running, failedBefore) = state.withLock { ($0.versions[name]?.hash, $0.failedHashes[name]) }
            if running == version.hash || failedBefore == version.hash { continue }
            do {
                try Self.validate(version)
                state.withLock {
                    $0.versions[name] = version
                    $0.problems[name] = nil
                    $0.failedHashes[name] = nil
                }
                loaded.append(name)
                if running != nil { logger.info("rules reloaded", metadata: ["rules": "\(version.file)", "version": "\(version.hash)"]) }
            } catch {
                state.withLock {
                    $0.problems[name] = "\(error)"
                    $0.failedHashes[name] = version.hash
                }
                failed[name] = "\(error)"
                logger.error("rules did not load; \(running == nil ? "the default rules apply" : "the previous version keeps running")",
                             metadata: ["rules": "\(version.file)", "error": "\(error)"])
            }
        }
        state.withLock { state in
            for name in state.versions.keys where !names.contains(name) { state.versions[name] = nil }
        }
        return (loaded, failed)
    }

    public func watch(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            reload()
        }
    }

    /// Loads the file in a scratch state: it must compile, return a table, and define only known hooks as functions.
    static func validate(_ version: RuleVersion) throws {
        let vm = try LuaVM.sandboxed()
        let (script, values) = try vm.load(version.loadableSource, chunkName: version.file)
        defer { if let script { vm.unload(script) } }
        guard let table = values.first?.tableValue, script != nil else {
            throw RuleError(file: version.file, "must return a table of hooks (on_change, on_expired, …), returned \(values.first?.typeName ?? "nothing")")
        }
        for (key, value) in table.fields {
            guard Self.hooks.contains(key) else {
                throw RuleError(file: version.file, "unknown field '\(key)'; a rules table has \(Self.hooks.joined(separator: ", "))")
            }
            if case .function = value {} else { throw RuleError(file: version.file, "'\(key)' must be a function") }
        }
    }
}

/// A rules file that cannot be used, naming the file.
public struct RuleError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let reason: String
    init(file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }
    public var description: String { "\(file): \(reason)" }
}
