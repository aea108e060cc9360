/// An error from running a script: what kind, and the message a script author
/// needs (file, line, reason).
public struct ScriptError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case runtime, syntax, memory, timeout, instructions, usage, contract
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The script raised an error (or a host function it called threw).
        public static let runtime = Kind(.runtime)
        /// The chunk did not compile, or was not text.
        public static let syntax = Kind(.syntax)
        /// The state's memory cap was hit.
        public static let memory = Kind(.memory)
        /// The call ran past its wall-clock deadline.
        public static let timeout = Kind(.timeout)
        /// The call ran out of its instruction budget.
        public static let instructions = Kind(.instructions)
        /// The host misused the runtime.
        public static let usage = Kind(.usage)
        /// The script ran, but what it returned breaks its contract.
        public static let contract = Kind(.contract)

        /// Limits that stop a runaway script rather than a mistaken one.
        public var isLimit: Bool { base == .memory || base == .timeout || base == .instructions }
        public var description: String { base.rawValue }
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
