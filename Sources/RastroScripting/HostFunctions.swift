import Foundation
import Logging

/// Host functions implemented in Swift and published to every script.
public enum HostFunctions {
    static let logger = Logger(label: "rastro.script")

    /// `log.debug/info/warn/error(message, fields?)`: the script's lines in the host log.
    static func registerStandard(on vm: LuaVM) throws {
        try registerLibrarySource(on: vm)
        let levels: [(String, Logger.Level)] = [("debug", .debug), ("info", .info), ("warn", .warning), ("error", .error)]
        for (name, level) in levels {
            try vm.register("log", name) { args in
                guard let message = args.first, !message.isNil else { throw ScriptError(.runtime, "log.\(name): expected a message") }
                var metadata: Logger.Metadata = [:]
                if args.count > 1, let fields = args[1].tableValue {
                    for (k, v) in fields.fields { metadata[k] = .string(render(v)) }
                }
                logger.log(level: level, "\(render(message))", metadata: metadata)
                return []
            }
        }
    }

    /// `carriers.source(name)`: the text of carriers/_lib/<name>.lua, for
    /// `carriers.library`. Names are plain identifiers, so no path escapes the folder.
    static func registerLibrarySource(on vm: LuaVM) throws {
        try vm.register("carriers", "source") { [unowned vm] args in
            guard let name = args.first?.stringValue, !name.isEmpty,
                  name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }) else {
                throw ScriptError(.runtime, "carriers.library: a library name is lowercase letters, digits and '_'")
            }
            if let pinned = vm.librarySources {
                guard let text = pinned[name] else { throw ScriptError(.runtime, "carriers.library: no library '\(name)' in carriers/_lib") }
                return [.string(text)]
            }
            guard let folder = vm.libraryDirectory,
                  let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name + ".lua").path) else {
                throw ScriptError(.runtime, "carriers.library: no library '\(name)' in carriers/_lib")
            }
            return [.string(String(decoding: data, as: UTF8.self))]
        }
    }

    static func render(_ v: LuaValue) -> String {
        switch v {
        case .nil: "nil"
        case .bool(let b): b ? "true" : "false"
        case .integer(let i): String(i)
        case .number(let d): String(d)
        case .string(let s): s
        case .table: "table"
        case .function: "function"
        case .other: "userdata"
        }
    }
}
