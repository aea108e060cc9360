import ArgumentParser
import RastroOperations

/// `rastro serve`'s flags. None has a default of its own: a flag that is given
/// beats the environment and the configuration file, one that is not leaves
/// them (or the built-in default, shown in the help) in charge.
struct ServeOptions: ParsableArguments {
    @Option(help: "Configuration file (TOML, see rastro.example.toml); default $RASTRO_CONFIG, else none.")
    var config: String?

    @Option(help: "Data folder: the SQLite database lives in <data>/rastro.sqlite (default ./data).")
    var data: String?

    @Option(help: "Merchant created at start and owning the demo parcels (default \"default\").")
    var merchant: String?

    @Option(help: "Folder of carrier scripts, one <id>/carrier.lua each (default ./carriers).")
    var carriers: String?

    @Option(help: "Folder of notification rules and templates/<locale>/ (default ./rules).")
    var rules: String?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0: any free port, printed at start (default 8080).")
    var port: Int?

    @Option(help: "Seconds a claimed poll is held before another run may retry it; longer than any carrier request (default 120).")
    var lease: Int?

    @Option(help: "Seconds between scans of the carriers and rules folders (default 2).")
    var reloadEvery: Double?

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(help: "text or json: one JSON object per line (default text).")
    var logFormat: String?

    /// The flags given, by the setting they override.
    var flags: [String: String] {
        let given: [(String, String?)] = [
            ("paths.data", data), ("shop.merchant", merchant), ("paths.carriers", carriers), ("paths.rules", rules),
            ("server.host", host), ("server.port", port.map(String.init)), ("scheduler.lease", lease.map(String.init)),
            ("scheduler.reload_every", reloadEvery.map { String($0) }), ("log.level", logLevel), ("log.format", logFormat),
        ]
        return Dictionary(uniqueKeysWithValues: given.compactMap { name, value in value.map { (name, $0) } })
    }

    func configuration(environment: [String: String]) throws -> Configuration {
        try Configuration.load(file: config, environment: environment, flags: flags)
    }
}
