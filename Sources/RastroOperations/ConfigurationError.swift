/// A setting that could not be read: where it came from (file and line, an
/// environment variable, or a command-line flag) and what was wrong with it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `rastro.toml:12`, `environment RASTRO_PORT`, `--port`.
    public var location: String
    public var message: String

    public init(location: String, _ message: String) {
        self.location = location
        self.message = message
    }

    public init(file: String, line: Int, _ message: String) {
        self.init(location: "\(file):\(line)", message)
    }

    public var description: String { "\(location): \(message)" }
}
