import Foundation
import RastroCore

/// An event's destination is stored as a flat JSON object of strings
/// (`{"city":"SAO PAULO","state":"SP"}`). It is read with every timeline, so it is
/// written and read here by hand; anything this reader does not expect goes to
/// `JSONDecoder`, which reads rows older code wrote the same.
extension EventLocation {
    var columnJSON: String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (key, value) in [("facility", facility), ("city", city), ("district", district),
                             ("state", state), ("country", country), ("postalCode", postalCode)] {
            guard let value else { continue }
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            JSONText.writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.writeString(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    init?(columnJSON text: String) {
        if let parsed = Self.parseFlat(Array(text.utf8)) {
            self.init()
            for (key, value) in parsed {
                switch key {
                case "facility": facility = value
                case "city": city = value
                case "district": district = value
                case "state": state = value
                case "country": country = value
                case "postalCode": postalCode = value
                default: continue   // what JSONDecoder would do with a key it doesn't know
                }
            }
            return
        }
        guard let decoded = try? JSONDecoder().decode(EventLocation.self, from: Data(text.utf8)) else { return nil }
        self = decoded
    }

    /// `{"k":"v","k":null,…}` → pairs; nil for anything else (numbers, nesting, bad escapes).
    static func parseFlat(_ b: [UInt8]) -> [(String, String?)]? {
        var i = 0
        func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        func expect(_ c: UInt8) -> Bool { skipSpace(); guard i < b.count, b[i] == c else { return false }; i += 1; return true }
        func string() -> String? {
            guard expect(UInt8(ascii: "\"")) else { return nil }
            var bytes: [UInt8] = []
            while i < b.count {
                let c = b[i]; i += 1
                switch c {
                case UInt8(ascii: "\""): return String(decoding: bytes, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard i < b.count else { return nil }
                    let e = b[i]; i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
                    case UInt8(ascii: "n"): bytes.append(0x0A)
                    case UInt8(ascii: "r"): bytes.append(0x0D)
                    case UInt8(ascii: "t"): bytes.append(0x09)
                    case UInt8(ascii: "b"): bytes.append(0x08)
                    case UInt8(ascii: "f"): bytes.append(0x0C)
                    default: return nil   // \u and the rest: the fallback decodes them
                    }
                default: bytes.append(c)
                }
            }
            return nil
        }
        guard expect(UInt8(ascii: "{")) else { return nil }
        var pairs: [(String, String?)] = []
        if expect(UInt8(ascii: "}")) { skipSpace(); return i == b.count ? pairs : nil }
        repeat {
            guard let key = string(), expect(UInt8(ascii: ":")) else { return nil }
            skipSpace()
            if b[i...].starts(with: Array("null".utf8)) { i += 4; pairs.append((key, nil)) }
            else { guard let value = string() else { return nil }; pairs.append((key, value)) }
        } while expect(UInt8(ascii: ","))
        guard expect(UInt8(ascii: "}")) else { return nil }
        skipSpace()
        return i == b.count ? pairs : nil
    }
}
