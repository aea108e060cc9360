import Logging

/// Host functions implemented in Swift and published to every script.
public enum HostFunctions {
    static let logger = Logger(label: "rastro.script")

    /// `log.debug/info/warn/error(message, fields?)`: the script's lines in the host log.
    static func registerStandard(on vm: LuaVM) throws {
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
