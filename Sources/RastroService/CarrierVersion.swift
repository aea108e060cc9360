import RastroCarriers
import RastroCore

/// One loaded version of a carrier: its script and the libraries it was
/// validated with, content-addressed. A poll runs exactly one version, whole.
public struct CarrierVersion: Sendable, Hashable {
    public var definition: CarrierDefinition
    public var source: String
    public var libraries: [String: String]
    /// Hash of the script and its libraries; recorded with every poll.
    public var hash: String
    /// The script's path as shown in errors.
    public var file: String

    public var id: String { definition.id }

    init(definition: CarrierDefinition, source: String, libraries: [String: String], file: String) {
        self.definition = definition
        self.source = source
        self.libraries = libraries
        self.file = file
        hash = Self.hash(source: source, libraries: libraries)
    }

    static func hash(source: String, libraries: [String: String]) -> String {
        let parts = [source] + libraries.keys.sorted().map { "\($0)\u{1F}\(libraries[$0]!)" }
        return StableHash.fnv1a64(parts.joined(separator: "\u{1E}"))
    }
}
