import CLuaShim

/// Per-call limits. A call that passes either is stopped, and a script cannot
/// catch its way past them (the limit hook stays tripped until the call ends).
public struct LuaLimits: Sendable, Hashable {
    public var maxInstructions: UInt64
    public var timeout: Duration

    public init(maxInstructions: UInt64 = 50_000_000, timeout: Duration = .milliseconds(500)) {
        self.maxInstructions = maxInstructions
        self.timeout = timeout
    }

    /// For `parse`, `request` and friends: generous for real responses, short for runaway loops.
    public static let call = LuaLimits()
    /// Loading a script's top-level chunk.
    public static let load = LuaLimits(maxInstructions: 20_000_000, timeout: .seconds(1))

    var c: rastro_limits {
        let (s, atto) = timeout.components
        let ns = UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto) / 1_000_000_000)
        return rastro_limits(max_instructions: maxInstructions, timeout_ns: ns)
    }
}
