import Foundation
import RastroScripting

/// Which carriers a tracking number could belong to, best first.
///
/// Every carrier's `validate` is asked; numbers whose check digit verified
/// (`return true, "check_digit"`) rank above numbers that only fit a format.
public struct CarrierDetector {
    public struct Match: Sendable, Hashable {
        public var id: String
        public var name: String
        public var checkDigitVerified: Bool
    }

    public let carriers: [CarrierScript]

    public init(carriers: [CarrierScript]) { self.carriers = carriers }

    /// Loads every carrier in `directory` into `vm`; carriers that fail to load are reported, not fatal.
    public static func loading(from directory: URL, on vm: LuaVM) -> (CarrierDetector, [String]) {
        var loaded: [CarrierScript] = []
        var errors: [String] = []
        for id in CarrierTestRunner.carrierIDs(in: directory) {
            do { loaded.append(try CarrierScript.load(id: id, carriersDirectory: directory, on: vm)) }
            catch { errors.append(String(describing: error)) }
        }
        return (CarrierDetector(carriers: loaded), errors)
    }

    public func detect(_ code: String) -> [Match] {
        let trimmed = code.trimmingCharacters(in: .whitespacesAndNewlines)
        var matches: [Match] = []
        for carrier in carriers {
            // A validate that raises counts as "no": detection must not fail on one bad script.
            guard let v = try? carrier.validate(trimmed), v.isValid else { continue }
            matches.append(Match(id: carrier.definition.id, name: carrier.definition.name, checkDigitVerified: v.checkDigitVerified))
        }
        return matches.sorted { a, b in
            a.checkDigitVerified != b.checkDigitVerified ? a.checkDigitVerified : a.id < b.id
        }
    }
}
