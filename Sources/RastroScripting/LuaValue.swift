/// A Lua value copied out of (or into) a Lua state.
///
/// Values are copies: nothing here points into a `lua_State`, so they can be
/// read anywhere after the call that produced them has returned.
public enum LuaValue: Sendable, Hashable {
    case `nil`
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case table(LuaTable)
    /// A function stayed in Lua; only its presence crosses.
    case function
    /// Userdata or a thread stayed in Lua.
    case other

    public var isNil: Bool { if case .nil = self { true } else { false } }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var tableValue: LuaTable? { if case .table(let t) = self { t } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }

    /// Integers, and floats with an integral value (json numbers arrive as floats).
    public var intValue: Int64? {
        switch self {
        case .integer(let i): i
        case .number(let d) where d.rounded() == d && abs(d) < 9.0e15: Int64(d)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    /// The Lua type name, for error messages.
    public var typeName: String {
        switch self {
        case .nil: "nil"
        case .bool: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .table: "table"
        case .function: "function"
        case .other: "userdata"
        }
    }

    public subscript(key: String) -> LuaValue { tableValue?.fields[key] ?? .nil }
}

/// A Lua table: its sequence part (keys 1...n) and its other fields, keyed by
/// string (integer and boolean keys outside the sequence are written as text).
public struct LuaTable: Sendable, Hashable {
    public var array: [LuaValue]
    public var fields: [String: LuaValue]

    public init(array: [LuaValue] = [], fields: [String: LuaValue] = [:]) {
        self.array = array
        self.fields = fields
    }

    public subscript(key: String) -> LuaValue { fields[key] ?? .nil }
    public var isEmpty: Bool { array.isEmpty && fields.isEmpty }
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(nilLiteral: ()) { self = .nil }
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        self = .table(LuaTable(fields: Dictionary(elements, uniquingKeysWith: { _, last in last })))
    }
}
