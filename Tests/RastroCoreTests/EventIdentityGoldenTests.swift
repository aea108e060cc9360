import Testing
import RastroCore

/// Identities are stored: a new rastro must compute the very same text for the
/// same event, or every event of every active shipment would be stored again.
@Suite("Event identities are stable across versions")
struct EventIdentityGoldenTests {
    static let t = Timestamp(secondsSinceEpoch: 1_763_640_900)

    static let cases: [(TrackingEvent, String, String)] = [
        (TrackingEvent(occurredAt: t, status: .inTransit, code: "RO", subcode: "01", description: "Objeto em trânsito"), "correios", "8f3fb2b8beb71792"),
        (TrackingEvent(occurredAt: t, status: .delivered, code: "", description: "Entregue ao DESTINATÁRIO",
                       location: EventLocation(facility: "CDD Centro", city: "SÃO PAULO", state: "SP", country: "BR", postalCode: "01001-000")), "jadlog", "c08054bac9b72445"),
        (TrackingEvent(occurredAt: t, status: .exception, code: "EST", description: "Estornado", retractsPrevious: true), "correios", "b59eeceab008cf4f"),
        (TrackingEvent(occurredAt: Timestamp(secondsSinceEpoch: -5), status: .pending, code: "X", description: "",
                       location: EventLocation(city: "İstanbul Straße ǅ")), "dhl", "4726a7be11a17e54"),
    ]

    @Test(arguments: 0..<4) func theIdentityOfAKnownEventIsTheOneStoredBefore(index: Int) {
        let (event, carrier, expected) = Self.cases[index]
        #expect(event.identity(carrier: carrier) == expected)
    }
}
