import Testing
@testable import RastroCore

@Suite("Timestamp")
struct TimestampTests {
    @Test("ISO-8601 round-trips through UTC")
    func roundTrip() throws {
        let t = try #require(Timestamp(iso8601: "2016-12-26T17:22:00Z"))
        #expect(t.iso8601 == "2016-12-26T17:22:00Z")
        #expect(Timestamp(iso8601: "2016-12-26T15:22:00-02:00") == t)
        #expect(Timestamp(iso8601: "2016-12-26T17:22:00.123Z") == t)
    }

    @Test("malformed times are refused", arguments: ["", "2016-12-26", "2016-13-01T00:00:00Z", "2016-02-30T00:00:00Z", "2016-12-26T17:22:00", "x016-12-26T17:22:00Z"])
    func malformedRefused(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test("every day from 1900 to 2100 survives the civil calendar round trip")
    func civilCalendarRoundTrip() {
        for days in stride(from: -25567, to: 47482, by: 1) {
            let (y, m, d) = Timestamp.civilFromDays(Int64(days))
            #expect(Timestamp.daysFromCivil(year: y, month: m, day: d) == days)
        }
    }

    @Test("components shift to a local offset")
    func localComponents() throws {
        let t = try #require(Timestamp(iso8601: "2016-12-26T01:30:00Z"))
        let local = t.components(offsetSeconds: -3 * 3600)
        #expect(local.date == "2016-12-25")
        #expect(local.time == "22:30")
    }
}
