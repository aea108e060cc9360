import RastroCarriers
import RastroScripting

/// Number checks for the API: one carrier's `validate`, or detection across all
/// carriers (check-digit matches first), on the service's Lua workers.
public struct CarrierValidator: Sendable {
    let pool: LuaPool
    let registry: CarrierRegistry

    public init(pool: LuaPool, registry: CarrierRegistry) {
        self.pool = pool
        self.registry = registry
    }

    public func validate(_ code: String, carrier: String) async throws -> CodeValidation? {
        guard let version = registry.current(carrier) else { return nil }
        return try await pool.withVM { vm in try CarrierRuntime.script(version, on: vm).validate(code) }
    }

    /// Carrier ids whose `validate` accepts the number, best first; the demo carrier only for DEMO- numbers.
    public func detect(_ code: String) async -> [String] {
        let versions = registry.all
        let verdicts: [(String, CodeValidation)] = (try? await pool.withVM { vm in
            versions.compactMap { version in
                (try? CarrierRuntime.script(version, on: vm).validate(code)).map { (version.id, $0) }
            }
        }) ?? []
        let accepted = verdicts.filter(\.1.isValid)
        return accepted.filter(\.1.checkDigitVerified).map(\.0).sorted() + accepted.filter { !$0.1.checkDigitVerified }.map(\.0).sorted()
    }
}
