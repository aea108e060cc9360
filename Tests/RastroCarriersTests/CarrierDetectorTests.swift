import Foundation
import Testing
@testable import RastroCarriers
@testable import RastroScripting
import RastroTestSupport

@Suite("Carrier detection")
struct CarrierDetectorTests {
    let detector: CarrierDetector
    let vm: LuaVM

    init() throws {
        vm = try LuaVM.sandboxed()
        let correios = try CarrierScript.load(id: "correios", carriersDirectory: LoopbackCarrier.packageRoot.appendingPathComponent("carriers"), on: vm)
        // A carrier that accepts any 13-character S10-looking number by format alone.
        let loose = try CarrierScript.load(source: """
            return { id = "loose", name = "Loose Post", api = 1, hosts = { "loose.test" },
              validate = function(code) return code:match("^%u%u%d%d%d%d%d%d%d%d%d%u%u$") ~= nil, "not S10-shaped" end,
              request = function() return { url = "https://loose.test" } end,
              parse = function() return {} end }
            """, file: "carriers/loose/carrier.lua", folderID: "loose", on: vm)
        detector = CarrierDetector(carriers: [loose, correios])
    }

    @Test("UPU S10 numbers with a valid mod-11 check digit rank Correios first",
          arguments: ["SI047624825BR", "SX104110463BR", "BE058714266BR", "JT365572014BR", "DU055087593BR", "LE449872154SE"])
    func validS10RanksCheckDigitFirst(code: String) {
        let matches = detector.detect(code)
        #expect(matches.map(\.id) == ["correios", "loose"])
        #expect(matches.first?.checkDigitVerified == true)
        #expect(matches.last?.checkDigitVerified == false)
    }

    @Test("a wrong check digit leaves only format matches", arguments: ["SI047624826BR", "SX104110460BR"])
    func wrongCheckDigit(code: String) {
        #expect(detector.detect(code).map(\.id) == ["loose"])
    }

    @Test("Correios says which rule a number breaks")
    func correiosReasons() throws {
        let correios = detector.carriers.first { $0.definition.id == "correios" }!
        #expect(try correios.validate("SI047624826BR").reason == "check digit: expected 5, got 6")
        #expect(try correios.validate("SI04762482BR").reason?.contains("expected 13 characters") == true)
        #expect(try correios.validate("1Z999AA10123456784").isValid == false)
    }

    @Test("nothing matches garbage")
    func garbageMatchesNothing() {
        #expect(detector.detect("hello").isEmpty)
        #expect(detector.detect("").isEmpty)
    }
}
