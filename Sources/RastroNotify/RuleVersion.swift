import RastroCore

/// One loaded version of a rules file (`rules/<merchant>.lua` or `rules/default.lua`).
public struct RuleVersion: Sendable, Hashable {
    /// The merchant name the file is for, or `default`.
    public var name: String
    public var source: String
    public var file: String
    public var hash: String

    init(name: String, source: String, file: String) {
        self.name = name
        self.source = source
        self.file = file
        hash = StableHash.fnv1a64(source)
    }

    /// Rules say `email{...}` and `webhook{...}`; the host publishes them as `notify.*`.
    /// Bound on the script's first line, without a newline, so error line numbers stay true.
    var loadableSource: String { "local email, webhook = notify.email, notify.webhook; " + source }
}
