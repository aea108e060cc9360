import Foundation
import Testing
@testable import RastroStore
import RastroCore

@Suite("An event's destination column")
struct EventLocationColumnTests {
    @Test func aDestinationWithQuotesAccentsAndControlCharactersReadsBackTheSame() {
        let place = EventLocation(facility: "CDD \"Centro\"\n", city: "São Paulo", state: "SP", postalCode: "01001-000")
        #expect(EventLocation(columnJSON: place.columnJSON) == place)
        #expect(place.columnJSON == #"{"facility":"CDD \"Centro\"\n","city":"São Paulo","state":"SP","postalCode":"01001-000"}"#)
    }

    @Test func rowsWrittenByJSONEncoderReadTheSameEscapedSlashesAndUnicodeEscapesIncluded() throws {
        let place = EventLocation(facility: "A/B \u{1F4E6}", city: "Curitiba", district: "\u{2028}", country: "BR")
        let legacy = String(decoding: try JSONEncoder().encode(place), as: UTF8.self)
        #expect(EventLocation(columnJSON: legacy) == place)
        #expect(EventLocation(columnJSON: #"{"city":"S\u00e3o Paulo","state":null}"#) == EventLocation(city: "São Paulo"))
    }

    @Test func whatIsNotAFlatObjectOfStringsIsNoLocation() {
        #expect(EventLocation(columnJSON: "[1,2]") == nil)
        #expect(EventLocation(columnJSON: #"{"city":"#) == nil)
        #expect(EventLocation(columnJSON: "") == nil)
        #expect(EventLocation(columnJSON: "{}") == EventLocation())
    }
}
