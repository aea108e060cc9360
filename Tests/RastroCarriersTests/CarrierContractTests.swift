import Foundation
import RastroCore
import Testing
@testable import RastroCarriers
@testable import RastroScripting

let minimalCarrier = """
return {
  id = "acme", name = "Acme", api = 1, hosts = { "api.acme.test" },
  tracking_url = "https://acme.test/t/{code}",
  limits = { batch = 10 },
  validate = function(code) return code:match("^AC%d+$") ~= nil, "expected AC and digits" end,
  request = function(codes, config, ctx)
    return { url = (config.base_url or "https://api.acme.test") .. "/track?" .. url.query{ n = codes }, headers = { Accept = "application/json" } }
  end,
  parse = function(response, codes, ctx)
    if response.status == 401 then return failure.auth("token refused") end
    local doc, err = json.decode(response.body)
    if not doc then return failure.broken(err) end
    local out = {}
    for _, p in ipairs(doc.parcels or {}) do
      local events = {}
      for _, e in ipairs(p.events) do
        events[#events + 1] = { occurred_at = time.parse(e.at, "iso", "UTC"), status = e.status, code = e.code, description = e.text }
      end
      out[p.number] = { events = events }
    end
    return out
  end,
}
"""

@Suite("Carrier contract")
struct CarrierContractTests {
    let vm: LuaVM
    init() throws { vm = try LuaVM.sandboxed() }

    func load(_ source: String, id: String = "acme") throws -> CarrierScript {
        try CarrierScript.load(source: source, file: "carriers/\(id)/carrier.lua", folderID: id, on: vm)
    }

    func refusal(_ source: String) -> String {
        do {
            _ = try load(source)
            return "loaded"
        } catch {
            return String(describing: error)
        }
    }

    @Test("a carrier whose top-level chunk loops is refused with the file name and the reason")
    func loopingTopLevelIsRefused() {
        let message = refusal("while true do end return {}")
        #expect(message.contains("carriers/acme/carrier.lua"))
        #expect(message.contains("did not finish"))
    }

    @Test("a carrier with a syntax error is refused with the file name and the line")
    func syntaxErrorIsRefused() {
        let message = refusal("return { id = 'acme',, }")
        #expect(message.hasPrefix("carriers/acme/carrier.lua: does not compile: carriers/acme/carrier.lua:1:"))
    }

    @Test("a missing field is named", arguments: [
        ("hosts", "field 'hosts' must be a non-empty list"),
        ("validate", "field 'validate' is missing"),
        ("api", "field 'api' is missing"),
    ])
    func missingFieldIsNamed(field: String, expected: String) {
        let source = minimalCarrier.replacingOccurrences(of: "\(field) =", with: "unused_\(field) =")
        #expect(refusal(source).contains(expected))
    }

    @Test("a field of the wrong type is named")
    func wrongTypeIsNamed() {
        #expect(refusal(minimalCarrier.replacingOccurrences(of: "name = \"Acme\"", with: "name = 42"))
            .contains("field 'name' must be a non-empty string, not a number"))
        #expect(refusal(minimalCarrier.replacingOccurrences(of: "batch = 10", with: "batch = 0"))
            .contains("field 'limits.batch'"))
        #expect(refusal(minimalCarrier.replacingOccurrences(of: "id = \"acme\"", with: "id = \"other\""))
            .contains("the folder is \"acme\""))
    }

    @Test("a script that returns no table is refused")
    func nonTableIsRefused() {
        #expect(refusal("return 42").contains("must return a table"))
    }

    @Test("validate, request and parse go through the script")
    func contractCalls() throws {
        let carrier = try load(minimalCarrier)
        #expect(carrier.definition.batch == 10)
        #expect(carrier.definition.trackingURL(for: "AC1") == "https://acme.test/t/AC1")
        #expect(try carrier.validate("AC123").isValid)
        #expect(try carrier.validate("XX").reason == "expected AC and digits")
        let request = try carrier.request(codes: ["AC1", "AC2"], config: [:], context: CarrierContext(now: Timestamp(secondsSinceEpoch: 0)))
        #expect(request.url == "https://api.acme.test/track?n=AC1&n=AC2")
        let body = #"{"parcels":[{"number":"AC1","events":[{"at":"2024-01-02T10:00:00","status":"delivered","code":"D","text":"Delivered"},{"at":"2024-01-01T10:00:00","status":"in_transit","code":"T","text":"Moving"}]}]}"#
        let output = try carrier.parse(HTTPResponse(status: 200, body: Array(body.utf8)), codes: ["AC1"], context: CarrierContext(now: Timestamp(secondsSinceEpoch: 0)))
        guard case .tracked(let result) = output.outcome(for: "AC1") else { Issue.record("not tracked: \(output)"); return }
        #expect(result.status == .delivered)
        #expect(result.events.map(\.code) == ["D", "T"])
        #expect(output.outcome(for: "AC2") == .failed(CarrierFailure(kind: .broken, message: "the response has no result for AC2")))
    }

    @Test("several shipments under one number: all kept in the carrier's order, the newest tracked")
    func severalShipmentsUnderOneNumber() throws {
        let carrier = try load("""
        return {
          id = "acme", name = "Acme", api = 1, hosts = { "api.acme.test" },
          validate = function(code) return true end,
          request = function(codes) return { url = "https://api.acme.test/" } end,
          parse = function(response, codes, ctx)
            local function one(at, status) return { events = { { occurred_at = at, status = status, code = status } } } end
            return { AC1 = { one("2019-05-01T10:00:00Z", "delivered"), one("2025-02-01T10:00:00Z", "in_transit"), failure.not_found("gone") },
                     AC2 = { one("2024-01-01T10:00:00Z", "delivered") } }
          end,
        }
        """)
        let output = try carrier.parse(HTTPResponse(status: 200, body: []), codes: [], context: CarrierContext(now: Timestamp(secondsSinceEpoch: 0)))
        let all = output.shipments(for: "AC1")
        #expect(all.count == 3)
        guard case .tracked(let first) = all[0], case .tracked(let current) = output.outcome(for: "AC1") else { Issue.record("\(output)"); return }
        #expect(first.status == .delivered)
        #expect(current.status == .inTransit)
        #expect(all[2] == .failed(CarrierFailure(kind: .notFound, message: "gone")))
        // A one-entry list is a plain result.
        #expect(output.shipments(for: "AC2").count == 1)
        #expect(output.json["results"]?["AC1"]?.arrayValue?.count == 3)
        #expect(output.json["results"]?["AC2"]?["status"] == .string("delivered"))
    }

    @Test("garbage from the carrier becomes a typed failure, not a crash")
    func garbageBecomesBroken() throws {
        let carrier = try load(minimalCarrier)
        let output = try carrier.parse(HTTPResponse(status: 200, body: Array("<html>maintenance</html>".utf8)), codes: ["AC1"],
                                       context: CarrierContext(now: Timestamp(secondsSinceEpoch: 0)))
        guard case .whole(let failure) = output else { Issue.record("\(output)"); return }
        #expect(failure.kind == .broken)
    }

    @Test("an event with an unknown status is reported with its place in the result")
    func unknownStatusIsNamed() throws {
        let carrier = try load(minimalCarrier)
        let body = #"{"parcels":[{"number":"AC1","events":[{"at":"2024-01-02T10:00:00","status":"teleported","code":"X","text":"?"}]}]}"#
        do {
            _ = try carrier.parse(HTTPResponse(status: 200, body: Array(body.utf8)), codes: ["AC1"], context: CarrierContext(now: Timestamp(secondsSinceEpoch: 0)))
            Issue.record("accepted an unknown status")
        } catch let e as CarrierContractError {
            #expect(e.description.contains("parse result['AC1'].events[1].status"))
            #expect(e.description.contains("\"teleported\""))
        }
    }

    @Test("a parse that raises is a CarrierScriptError naming the file and function")
    func raisingParseIsNamed() throws {
        let carrier = try load(minimalCarrier.replacingOccurrences(of: "local doc, err = json.decode(response.body)", with: "error('oops')"))
        do {
            _ = try carrier.parse(HTTPResponse(status: 200, body: []), codes: [], context: CarrierContext(now: Timestamp(secondsSinceEpoch: 0)))
            Issue.record("no error")
        } catch let e as CarrierScriptError {
            #expect(e.description.contains("carriers/acme/carrier.lua: parse failed (runtime): carriers/acme/carrier.lua:"))
            #expect(e.description.contains("oops"))
        }
    }
}

@Suite("Shared carrier libraries")
struct CarrierLibraryTests {
    func folder(library: String, carrier: String) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-lib-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("_lib"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("acme"), withIntermediateDirectories: true)
        try library.write(to: root.appendingPathComponent("_lib/shared.lua"), atomically: true, encoding: .utf8)
        try carrier.write(to: root.appendingPathComponent("acme/carrier.lua"), atomically: true, encoding: .utf8)
        return root
    }

    @Test("a carrier builds itself from carriers/_lib with carriers.library")
    func libraryBuildsCarrier() throws {
        let root = try folder(library: "return function(o) return { id = o.id, name = o.name, api = 1, hosts = { 'x.test' }, validate = function() return true end, request = function() return { url = 'https://x.test' } end, parse = function() return {} end } end",
                              carrier: "return carriers.library('shared'){ id = 'acme', name = 'Acme' }")
        defer { try? FileManager.default.removeItem(at: root) }
        let carrier = try CarrierScript.load(id: "acme", carriersDirectory: root, on: try LuaVM.sandboxed())
        #expect(carrier.definition.name == "Acme")
        #expect(CarrierTestRunner.carrierIDs(in: root) == ["acme"])
    }

    @Test("library names cannot leave carriers/_lib", arguments: ["../acme/carrier", "/etc/passwd", "Shared", "missing"])
    func libraryNamesAreConfined(name: String) throws {
        let root = try folder(library: "return {}", carrier: "return carriers.library('\(name)')")
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            _ = try CarrierScript.load(id: "acme", carriersDirectory: root, on: try LuaVM.sandboxed())
            Issue.record("loaded library \(name)")
        } catch let e as CarrierContractError {
            #expect(e.description.contains("carriers.library"))
        }
    }
}
