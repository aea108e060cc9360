import RastroCore
import RastroScripting

/// The static part of a carrier script: what it is, where it may connect, how
/// often and how hard it may be polled.
public struct CarrierDefinition: Sendable, Hashable {
    public var id: String
    public var name: String
    public var api: Int
    /// Egress allow-list: the only hosts requests may go to.
    public var hosts: [String]
    /// Public tracking page, with `{code}` where the number goes.
    public var trackingURL: String?
    public var pollEvery: Duration
    public var pollWindow: Duration
    public var concurrency: Int
    public var perSecond: Double
    /// Codes per request.
    public var batch: Int
    public var hasAuth: Bool

    /// The platform's policy: every 6 h for up to 12.5 days.
    public static let defaultPollEvery = Duration.seconds(6 * 3600)
    public static let defaultPollWindow = Duration.seconds(12 * 86400 + 12 * 3600)

    public func trackingURL(for code: String) -> String? {
        trackingURL?.replacingOccurrences(of: "{code}", with: code)
    }
}

/// A carrier script that breaks its contract: names the file and the field.
public struct CarrierContractError: Error, Sendable, CustomStringConvertible, Equatable {
    public let file: String
    public let field: String?
    public let reason: String

    public init(file: String, field: String? = nil, _ reason: String) {
        self.file = file
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(file): field '\(field)' \(reason)" }
        return "\(file): \(reason)"
    }
}

extension CarrierDefinition {
    /// Reads and checks the table a carrier script returned.
    static func decode(_ table: LuaTable, file: String, folderID: String) throws -> CarrierDefinition {
        func fail(_ field: String, _ reason: String) -> CarrierContractError {
            CarrierContractError(file: file, field: field, reason)
        }
        func string(_ key: String, required: Bool = true) throws -> String? {
            let v = table[key]
            if v.isNil, !required { return nil }
            guard let s = v.stringValue, !s.isEmpty else {
                throw fail(key, v.isNil ? "is missing (a non-empty string)" : "must be a non-empty string, not a \(v.typeName)")
            }
            return s
        }
        let id = try string("id")!
        guard id == folderID else { throw fail("id", "is \"\(id)\" but the folder is \"\(folderID)\"; they must match") }
        guard id.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) else {
            throw fail("id", "must use lowercase letters, digits and '_' only")
        }
        let name = try string("name")!
        guard let api = table["api"].intValue else { throw fail("api", "is missing (the contract version, 1)") }
        guard api == 1 else { throw fail("api", "is \(api); this rastro speaks carrier API 1") }
        guard let hostList = table["hosts"].tableValue, !hostList.array.isEmpty, hostList.fields.isEmpty,
              hostList.array.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
            throw fail("hosts", "must be a non-empty list of host names (the egress allow-list)")
        }
        let trackingURL = try string("tracking_url", required: false)
        if let trackingURL, !trackingURL.contains("{code}") { throw fail("tracking_url", "must contain {code}") }

        var every = defaultPollEvery, window = defaultPollWindow
        if !table["poll"].isNil {
            guard let poll = table["poll"].tableValue else { throw fail("poll", "must be a table like { every = \"6h\", window = \"12d12h\" }") }
            if let e = poll["every"].stringValue {
                guard let d = DurationText.parse(e) else { throw fail("poll.every", "\"\(e)\" is not a duration like \"6h\" or \"1d12h\"") }
                every = d
            }
            if let w = poll["window"].stringValue {
                guard let d = DurationText.parse(w) else { throw fail("poll.window", "\"\(w)\" is not a duration like \"12d12h\"") }
                window = d
            }
        }
        var concurrency = 4, perSecond = 10.0, batch = 1
        if !table["limits"].isNil {
            guard let limits = table["limits"].tableValue else { throw fail("limits", "must be a table") }
            if !limits["concurrency"].isNil {
                guard let c = limits["concurrency"].intValue, c > 0 else { throw fail("limits.concurrency", "must be a positive integer") }
                concurrency = Int(c)
            }
            if !limits["per_second"].isNil {
                guard let r = limits["per_second"].doubleValue, r > 0 else { throw fail("limits.per_second", "must be a positive number") }
                perSecond = r
            }
            if !limits["batch"].isNil {
                guard let b = limits["batch"].intValue, b > 0, b <= 1000 else { throw fail("limits.batch", "must be an integer from 1 to 1000") }
                batch = Int(b)
            }
        }
        for required in ["validate", "request", "parse"] where table[required] != .function {
            throw fail(required, table[required].isNil ? "is missing (a function)" : "must be a function, not a \(table[required].typeName)")
        }
        let hasAuth = table["auth"] == .function
        if !table["auth"].isNil, !hasAuth { throw fail("auth", "must be a function") }
        if hasAuth, table["parse_auth"] != .function { throw fail("parse_auth", "is required with auth (a function)") }
        return CarrierDefinition(id: id, name: name, api: Int(api), hosts: hostList.array.compactMap(\.stringValue),
                                 trackingURL: trackingURL, pollEvery: every, pollWindow: window,
                                 concurrency: concurrency, perSecond: perSecond, batch: batch, hasAuth: hasAuth)
    }
}

/// "6h", "12d12h", "90m", "30s".
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number: Int64?
        var any = false
        for c in text {
            if let d = c.wholeNumberValue {
                number = (number ?? 0) * 10 + Int64(d)
                continue
            }
            guard let n = number else { return nil }
            switch c {
            case "d": total += n * 86400
            case "h": total += n * 3600
            case "m": total += n * 60
            case "s": total += n
            default: return nil
            }
            number = nil
            any = true
        }
        guard any, number == nil, total > 0 else { return nil }
        return .seconds(total)
    }
}
