import Foundation
import RastroTransport

/// Operator configuration handed to a carrier script as `config`.
///
/// Credentials and base URLs live here, never in scripts. From the
/// environment, `RASTRO_<ID>_<KEY>=value` becomes `config.<key>`
/// (e.g. `RASTRO_CORREIOS_BASE_URL` → `config.base_url`).
public enum CarrierConfig {
    public static func fromEnvironment(carrier id: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        let prefix = "RASTRO_" + id.uppercased() + "_"
        var config: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(prefix) && name.count > prefix.count {
            config[String(name.dropFirst(prefix.count)).lowercased()] = value
        }
        return config
    }

    /// The carrier's declared hosts, plus the host of a configured `base_url`
    /// (how staging and loopback test servers are reached).
    public static func egressPolicy(for definition: CarrierDefinition, config: [String: String]) -> EgressPolicy {
        var hosts = definition.hosts
        if let base = config["base_url"], let host = URLComponents(string: base)?.host { hosts.append(host) }
        return EgressPolicy(hosts: hosts)
    }
}
