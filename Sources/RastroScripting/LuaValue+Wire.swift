import CLuaShim

/// The byte encoding shared with the C shim (see rastro_lua.h, "Wire format").
enum LuaWire {
    static func encode(_ values: [LuaValue]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        putU32(&out, UInt32(values.count))
        for v in values { put(&out, v) }
        return out
    }

    private static func putU32(_ out: inout [UInt8], _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func putU64(_ out: inout [UInt8], _ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func putString(_ out: inout [UInt8], _ s: String) {
        let utf8 = s.utf8
        putU32(&out, UInt32(utf8.count))
        out.append(contentsOf: utf8)
    }

    private static func put(_ out: inout [UInt8], _ v: LuaValue) {
        switch v {
        case .nil, .function, .other: out.append(UInt8(RASTRO_WIRE_NIL))
        case .bool(let b): out.append(UInt8(b ? RASTRO_WIRE_TRUE : RASTRO_WIRE_FALSE))
        case .integer(let i): out.append(UInt8(RASTRO_WIRE_INTEGER)); putU64(&out, UInt64(bitPattern: i))
        case .number(let d): out.append(UInt8(RASTRO_WIRE_NUMBER)); putU64(&out, d.bitPattern)
        case .string(let s): out.append(UInt8(RASTRO_WIRE_STRING)); putString(&out, s)
        case .table(let t):
            out.append(UInt8(RASTRO_WIRE_TABLE))
            putU32(&out, UInt32(t.array.count))
            putU32(&out, UInt32(t.fields.count))
            for e in t.array { put(&out, e) }
            for (k, e) in t.fields { putString(&out, k); put(&out, e) }
        }
    }

    struct Malformed: Error {}

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> [LuaValue] {
        guard bytes.count > 0 else { return [] }
        var reader = Reader(bytes: bytes)
        let n = try reader.u32()
        var values: [LuaValue] = []
        values.reserveCapacity(Int(n))
        for _ in 0..<n { values.append(try reader.value(depth: 0)) }
        return values
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        mutating func need(_ n: Int) throws { if bytes.count - at < n { throw Malformed() } }

        mutating func u32() throws -> UInt32 {
            try need(4)
            var v: UInt32 = 0
            for i in 0..<4 { v |= UInt32(bytes[at + i]) << (8 * UInt32(i)) }
            at += 4
            return v
        }

        mutating func u64() throws -> UInt64 {
            try need(8)
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            at += 8
            return v
        }

        mutating func string() throws -> String {
            let n = Int(try u32())
            try need(n)
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)]), as: UTF8.self)
            at += n
            return s
        }

        mutating func value(depth: Int) throws -> LuaValue {
            guard depth < 128 else { throw Malformed() }
            try need(1)
            let tag = Int(bytes[at])
            at += 1
            switch tag {
            case RASTRO_WIRE_NIL: return .nil
            case RASTRO_WIRE_FALSE: return .bool(false)
            case RASTRO_WIRE_TRUE: return .bool(true)
            case RASTRO_WIRE_INTEGER: return .integer(Int64(bitPattern: try u64()))
            case RASTRO_WIRE_NUMBER: return .number(Double(bitPattern: try u64()))
            case RASTRO_WIRE_STRING: return .string(try string())
            case RASTRO_WIRE_TABLE:
                let narr = Int(try u32()), nfields = Int(try u32())
                var t = LuaTable()
                t.array.reserveCapacity(min(narr, 4096))
                for _ in 0..<narr { t.array.append(try value(depth: depth + 1)) }
                for _ in 0..<nfields {
                    let k = try string()
                    t.fields[k] = try value(depth: depth + 1)
                }
                return .table(t)
            case RASTRO_WIRE_FUNCTION: return .function
            case RASTRO_WIRE_OTHER: return .other
            default: throw Malformed()
            }
        }
    }
}
