import Foundation
import RastroCore
import RastroScripting

/// What a carrier's `validate` said about a number.
public struct CodeValidation: Sendable, Hashable {
    public var isValid: Bool
    /// Why not, when invalid; for a valid number, "check_digit" when its check digit was verified.
    public var reason: String?
    /// A check digit matched: stronger evidence than a format that merely fits.
    public var checkDigitVerified: Bool { isValid && reason == "check_digit" }
}

/// A token from a carrier's auth flow, cached by the host until it expires.
public struct AuthToken: Sendable, Hashable {
    public var token: String
    public var expiresAt: Timestamp?
}

/// What the host tells a script about the call it is in.
public struct CarrierContext: Sendable, Hashable {
    public var now: Timestamp
    public var token: String?
    /// Dispatch dates of the shipments being polled, by tracking number
    /// (`ctx.shipments[code].dispatched_at`): some APIs want a date range.
    public var dispatchedAt: [String: Timestamp]

    public init(now: Timestamp, token: String? = nil, dispatchedAt: [String: Timestamp] = [:]) {
        self.now = now
        self.token = token
        self.dispatchedAt = dispatchedAt
    }

    var lua: LuaValue {
        var fields: [String: LuaValue] = ["now": .string(now.iso8601)]
        if let token { fields["token"] = .string(token) }
        if !dispatchedAt.isEmpty {
            var shipments: [String: LuaValue] = [:]
            for (code, at) in dispatchedAt { shipments[code] = .table(LuaTable(fields: ["dispatched_at": .string(at.iso8601)])) }
            fields["shipments"] = .table(LuaTable(fields: shipments))
        }
        return .table(LuaTable(fields: fields))
    }
}

/// Everything `parse` said about one response.
public enum ParseOutput: Sendable, Hashable {
    /// One outcome per tracking number found (or requested). A number the carrier
    /// answered with several shipments (TNT reuses consignment numbers) has them all,
    /// in the carrier's order, in `repeated`; its outcome is the one rastro tracks
    /// (see `CarrierResultDecoder.current`).
    case perCode([String: CarrierOutcome], repeated: [String: [CarrierOutcome]] = [:])
    /// The response as a whole failed (auth, rate limit, maintenance page...).
    case whole(CarrierFailure)

    /// The outcome for one requested code. A code the response does not
    /// mention is `broken`: the carrier answered something we did not ask.
    public func outcome(for code: String) -> CarrierOutcome {
        switch self {
        case .whole(let failure): return .failed(failure)
        case .perCode(let results, _):
            return results[code] ?? .failed(CarrierFailure(kind: .broken, message: "the response has no result for \(code)"))
        }
    }

    /// Every shipment the response gave under one code, in the carrier's order
    /// (one, unless the carrier answered that number more than once).
    public func shipments(for code: String) -> [CarrierOutcome] {
        switch self {
        case .whole(let failure): return [.failed(failure)]
        case .perCode(let results, let repeated):
            if let all = repeated[code] { return all }
            return results[code].map { [$0] } ?? []
        }
    }
}

/// A carrier script loaded into one Lua state. Lives on that state's worker.
public final class CarrierScript {
    public let definition: CarrierDefinition
    /// The script's path as shown in errors.
    public let file: String
    let vm: LuaVM
    let script: LuaVM.Script

    init(definition: CarrierDefinition, file: String, vm: LuaVM, script: LuaVM.Script) {
        self.definition = definition
        self.file = file
        self.vm = vm
        self.script = script
    }

    /// Compiles `source` and checks the table it returns. A chunk that does not
    /// compile, loops, raises or returns the wrong shape is refused, naming the file.
    public static func load(source: String, file: String, folderID: String, on vm: LuaVM,
                            limits: LuaLimits = .load) throws -> CarrierScript {
        let loaded: (script: LuaVM.Script?, values: [LuaValue])
        do {
            loaded = try vm.load(source, chunkName: file, limits: limits)
        } catch let e as ScriptError {
            switch e.kind {
            case .syntax: throw CarrierContractError(file: file, "does not compile: \(e.message)")
            case .timeout, .instructions: throw CarrierContractError(file: file, "its top-level code did not finish: \(e.message)")
            case .memory: throw CarrierContractError(file: file, "its top-level code ran out of memory")
            default: throw CarrierContractError(file: file, "its top-level code raised: \(e.message)")
            }
        }
        guard let script = loaded.script, let table = loaded.values.first?.tableValue else {
            if let s = loaded.script { vm.unload(s) }
            let got = loaded.values.first?.typeName ?? "nothing"
            throw CarrierContractError(file: file, "must return a table (the carrier definition), returned \(got)")
        }
        do {
            let definition = try CarrierDefinition.decode(table, file: file, folderID: folderID)
            return CarrierScript(definition: definition, file: file, vm: vm, script: script)
        } catch {
            vm.unload(script)
            throw error
        }
    }

    /// Reads `<directory>/<id>/carrier.lua`.
    public static func load(id: String, carriersDirectory: URL, on vm: LuaVM) throws -> CarrierScript {
        let url = carriersDirectory.appendingPathComponent(id).appendingPathComponent("carrier.lua")
        vm.libraryDirectory = carriersDirectory.appendingPathComponent("_lib")
        let file = displayPath(url)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CarrierContractError(file: file, "cannot be read (no such file?)")
        }
        return try load(source: String(decoding: data, as: UTF8.self), file: file, folderID: id, on: vm)
    }

    deinit { vm.unload(script) }

    public func validate(_ code: String) throws -> CodeValidation {
        let values = try call("validate", [.string(code)])
        guard let ok = values.first?.boolValue else {
            throw CarrierContractError(file: file, field: "validate", "must return true or false, reason (returned \(values.first?.typeName ?? "nothing"))")
        }
        return CodeValidation(isValid: ok, reason: values.count > 1 ? values[1].stringValue : nil)
    }

    public func authRequest(config: [String: String], context: CarrierContext) throws -> HTTPRequest {
        let values = try call("auth", [Self.lua(config), context.lua])
        return try decodeRequest(values.first ?? .nil, field: "auth")
    }

    /// A token, or the failure the script saw in the auth response.
    public func parseAuth(_ response: HTTPResponse, config: [String: String], context: CarrierContext) throws -> Result<AuthToken, CarrierFailure> {
        let values = try call("parse_auth", [Self.lua(response), Self.lua(config), context.lua])
        guard let table = values.first?.tableValue else {
            throw CarrierContractError(file: file, field: "parse_auth", "must return a table { token = ..., expires_at = ... } or a failure")
        }
        if !table["failure"].isNil { return .failure(try CarrierResultDecoder(file: file).failure(table, at: "parse_auth")) }
        guard let token = table["token"].stringValue, !token.isEmpty else {
            throw CarrierContractError(file: file, field: "parse_auth", "returned no token")
        }
        var expires: Timestamp?
        if let at = table["expires_at"].stringValue {
            guard let t = Timestamp(iso8601: at) else { throw CarrierContractError(file: file, field: "parse_auth.expires_at", "is not a UTC ISO-8601 time: \(at)") }
            expires = t
        } else if let seconds = table["expires_in"].doubleValue {
            expires = Timestamp(secondsSinceEpoch: context.now.secondsSinceEpoch + Int64(seconds))
        }
        return .success(AuthToken(token: token, expiresAt: expires))
    }

    public func request(codes: [String], config: [String: String], context: CarrierContext) throws -> HTTPRequest {
        let values = try call("request", [.table(LuaTable(array: codes.map { .string($0) })), Self.lua(config), context.lua])
        return try decodeRequest(values.first ?? .nil, field: "request")
    }

    public func parse(_ response: HTTPResponse, codes: [String], context: CarrierContext) throws -> ParseOutput {
        let values = try call("parse", [Self.lua(response), .table(LuaTable(array: codes.map { .string($0) })), context.lua])
        return try CarrierResultDecoder(file: file).decode(values.first ?? .nil)
    }

    private func call(_ field: String, _ args: [LuaValue]) throws -> [LuaValue] {
        do {
            return try vm.call(script, field, args)
        } catch let e as ScriptError {
            throw CarrierScriptError(file: file, function: field, error: e)
        }
    }

    private func decodeRequest(_ value: LuaValue, field: String) throws -> HTTPRequest {
        guard let t = value.tableValue else {
            throw CarrierContractError(file: file, field: field, "must return a request table { method, url, headers, body, timeout }")
        }
        guard let url = t["url"].stringValue, url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw CarrierContractError(file: file, field: "\(field).url", "must be an http(s) URL")
        }
        var headers: [String: String] = [:]
        if let h = t["headers"].tableValue {
            for (k, v) in h.fields {
                guard let s = v.stringValue ?? v.intValue.map(String.init) else {
                    throw CarrierContractError(file: file, field: "\(field).headers.\(k)", "must be a string")
                }
                headers[k] = s
            }
        }
        let method = (t["method"].stringValue ?? "GET").uppercased()
        guard ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(method) else {
            throw CarrierContractError(file: file, field: "\(field).method", "\"\(method)\" is not an HTTP method")
        }
        let timeout = min(max(t["timeout"].doubleValue ?? 30, 1), 120)
        return HTTPRequest(method: method, url: url, headers: headers, body: t["body"].stringValue.map { Array($0.utf8) }, timeout: timeout)
    }

    static func lua(_ config: [String: String]) -> LuaValue {
        .table(LuaTable(fields: config.mapValues { .string($0) }))
    }

    static func lua(_ response: HTTPResponse) -> LuaValue {
        .table(LuaTable(fields: [
            "status": .integer(Int64(response.status)),
            "headers": .table(LuaTable(fields: response.headers.mapValues { .string($0) })),
            "body": .string(String(decoding: response.body, as: UTF8.self)),
        ]))
    }
}

/// A carrier function that failed to run: which file, which function, why.
public struct CarrierScriptError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let function: String
    public let error: ScriptError

    public var description: String { "\(file): \(function) failed (\(error.kind)): \(error.message)" }
}

func displayPath(_ url: URL) -> String {
    let cwd = FileManager.default.currentDirectoryPath
    let path = url.standardizedFileURL.path
    return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
}
