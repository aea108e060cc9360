/// A UTC instant with second precision, written as ISO-8601 ("2016-12-26T17:22:00Z").
///
/// The core keeps its own tiny calendar so it needs no Foundation formatter
/// and no time zone database; zones are the scripting layer's business.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSinceEpoch: Int64

    public init(secondsSinceEpoch: Int64) { self.secondsSinceEpoch = secondsSinceEpoch }

    /// Parses "YYYY-MM-DDTHH:MM:SSZ" (the form time.parse produces), also with
    /// fractional seconds or a numeric offset.
    public init?(iso8601 text: String) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
              b[10] == 84 || b[10] == 32, let h = num(11, 2), b[13] == 58, let mi = num(14, 2), b[16] == 58,
              let s = num(17, 2) else { return nil }
        guard (1...12).contains(mo), (1...Timestamp.daysIn(month: mo, year: y)).contains(d), h < 24, mi < 60, s <= 60 else { return nil }
        var i = 19
        if i < b.count, b[i] == 46 { i += 1; while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 } }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90 { i += 1 } else if b[i] == 43 || b[i] == 45 {
            guard let oh = num(i + 1, 2) else { return nil }
            var om = 0
            var j = i + 3
            if j < b.count, b[j] == 58 { j += 1 }
            if let m = num(j, 2) { om = m; j += 2 }
            offset = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
            i = j
        } else { return nil }
        guard i == b.count else { return nil }
        let days = Timestamp.daysFromCivil(year: y, month: mo, day: d)
        secondsSinceEpoch = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + min(s, 59)) - Int64(offset)
    }

    public var iso8601: String { components(offsetSeconds: 0).iso + "Z" }
    public var description: String { iso8601 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.secondsSinceEpoch < b.secondsSinceEpoch }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let t = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO-8601 UTC time: \(text)"))
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(iso8601)
    }

    /// Wall-clock fields at a given UTC offset.
    public struct Components: Sendable, Equatable {
        public var year, month, day, hour, minute, second: Int
        /// "YYYY-MM-DD"
        public var date: String { text { $0.date() } }
        /// "HH:MM"
        public var time: String { text { $0.time() } }
        var iso: String { text { $0.date(); $0.byte(UInt8(ascii: "T")); $0.time(); $0.byte(UInt8(ascii: ":")); $0.digits(second, 2) } }

        // Written into bytes: these are formatted for every event of every notification,
        // and string concatenation was a visible share of it.
        private func text(_ body: (inout Writer) -> Void) -> String {
            var w = Writer(c: self)
            body(&w)
            return String(decoding: w.out, as: UTF8.self)
        }

        private struct Writer {
            let c: Components
            var out: [UInt8] = []
            init(c: Components) { self.c = c; out.reserveCapacity(20) }
            mutating func byte(_ b: UInt8) { out.append(b) }
            mutating func digits(_ v: Int, _ width: Int) {
                guard v >= 0 else { out.append(contentsOf: pad(v, width).utf8); return }
                let text = String(v).utf8
                if text.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - text.count)) }
                out.append(contentsOf: text)
            }
            mutating func date() { digits(c.year, 4); byte(UInt8(ascii: "-")); digits(c.month, 2); byte(UInt8(ascii: "-")); digits(c.day, 2) }
            mutating func time() { digits(c.hour, 2); byte(UInt8(ascii: ":")); digits(c.minute, 2) }
        }
    }

    public func components(offsetSeconds: Int) -> Components {
        let t = secondsSinceEpoch + Int64(offsetSeconds)
        var days = t / 86400
        var secs = t % 86400
        if secs < 0 { secs += 86400; days -= 1 }
        let (y, m, d) = Timestamp.civilFromDays(days)
        return Components(year: y, month: m, day: d, hour: Int(secs / 3600), minute: Int(secs / 60 % 60), second: Int(secs % 60))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        if month == 2, (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 { return 29 }
        return days[month - 1]
    }

    /// Days since 1970-01-01 (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int64) -> (Int, Int, Int) {
        let z = Int(z0) + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

private func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
