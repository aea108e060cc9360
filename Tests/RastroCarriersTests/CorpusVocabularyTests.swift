import Foundation
import RastroCore
import Testing
@testable import RastroCarriers

/// The corpus vocabulary's rules and the errata, on hand-made facts and outputs.
@Suite("Corpus vocabulary and errata")
struct CorpusVocabularyTests {
    static let at = Timestamp(iso8601: "2024-03-01T10:00:00Z")!

    static func event(_ code: String, _ status: TrackingStatus, at time: String = "2024-03-01T10:00:00Z") -> TrackingEvent {
        TrackingEvent(occurredAt: Timestamp(iso8601: time)!, zone: "UTC", status: status, code: code, description: code)
    }

    static func tracked(_ status: TrackingStatus, _ events: [TrackingEvent], eta: String? = nil) -> CarrierOutcome {
        .tracked(TrackingResult(status: status, events: events, estimatedDelivery: eta.flatMap { Timestamp(iso8601: $0) }))
    }

    static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: Data(text.utf8)) }

    static let delivered = ParseOutput.perCode(["X1": tracked(.delivered, [event("DL", .delivered)])])

    // MARK: errata

    static func erratum(_ fact: String = "status", corpus: JSONValue = .string("in_transit"), rastro: JSONValue) -> CorpusErratum {
        CorpusErratum(file: "acme/x.json", fact: fact, corpus: corpus, rastro: rastro, reason: "test")
    }

    @Test("a corpus fact the output contradicts fails without an erratum")
    func withoutErratum() throws {
        let v = CorpusVocabulary.check(try Self.json(#"{"tracking_number": "X1", "status": "in_transit"}"#), against: Self.delivered)
        #expect(!v.passed)
        #expect(v.errata.isEmpty)
    }

    @Test("an erratum replaces the fact, is checked, and is reported")
    func erratumPasses() throws {
        let v = CorpusVocabulary.check(try Self.json(#"{"tracking_number": "X1", "status": "in_transit"}"#), against: Self.delivered,
                                       errata: [Self.erratum(rastro: .string("delivered"))])
        #expect(v.passed, "\(v.mismatches)")
        #expect(v.errata.map(\.fact) == ["status"])
    }

    @Test("an erratum with a wrong value fails the case")
    func erratumWithWrongValueFails() throws {
        let v = CorpusVocabulary.check(try Self.json(#"{"tracking_number": "X1", "status": "in_transit"}"#), against: Self.delivered,
                                       errata: [Self.erratum(rastro: .string("out_for_delivery"))])
        #expect(!v.passed)
        #expect(v.mismatches.contains { $0.hasPrefix("status: expected out_for_delivery") }, "\(v.mismatches)")
    }

    @Test("an erratum whose corpus fact changed or vanished fails the case")
    func staleErratum() throws {
        let expected = try Self.json(#"{"tracking_number": "X1", "status": "delivered"}"#)
        let changed = CorpusVocabulary.check(expected, against: Self.delivered, errata: [Self.erratum(rastro: .string("delivered"))])
        #expect(changed.mismatches.contains { $0.contains("the corpus now asserts \"delivered\"") }, "\(changed.mismatches)")
        let gone = CorpusVocabulary.check(expected, against: Self.delivered,
                                          errata: [Self.erratum("results[0].status", rastro: .string("delivered"))])
        #expect(gone.mismatches.contains { $0.contains("the corpus has no such fact") }, "\(gone.mismatches)")
    }

    @Test("an erratum reaches into lists: results[N] and errors[N]")
    func erratumPaths() throws {
        let expected = try Self.json(#"{"results": [{"tracking_number": "X1", "events": []}]}"#)
        let fixed = CorpusErrata.apply([Self.erratum("results[0].events", corpus: .array([]),
                                                     rastro: .array([.object(["code": .string("DL")])]))], to: expected)
        #expect(fixed.problems.isEmpty)
        #expect(fixed.0["results"]?.arrayValue?[0]["events"]?.arrayValue?.count == 1)
        #expect(CorpusVocabulary.check(fixed.0, against: Self.delivered).passed)
        #expect(FactPath("errors[0].message")?.steps == [.key("errors"), .index(0), .key("message")])
        #expect(FactPath("a..b") == nil)
        #expect(FactPath("a[x]") == nil)
    }

    @Test("every erratum in the table fits the corpus and names a real carrier")
    func errataTableIsWellFormed() throws {
        for e in CorpusErrata.all {
            #expect(FactPath(e.fact) != nil, "\(e.file): \(e.fact)")
            #expect(!e.reason.isEmpty && !e.reason.contains("\n"), "\(e.file): the reason is one line")
            #expect(e.corpus != e.rastro, "\(e.file) \(e.fact) changes nothing")
            let corpus = CarrierSuiteTests.corpus.appendingPathComponent(e.file)
            guard FileManager.default.fileExists(atPath: CarrierSuiteTests.corpus.path) else { continue }
            let expectedURL = corpus.deletingPathExtension().appendingPathExtension("expected.json")
            let expected = try JSONValue(parsing: try Data(contentsOf: expectedURL))
            #expect(FactPath(e.fact)?.value(in: expected) == e.corpus, "\(e.file) \(e.fact)")
        }
    }

    @Test("the runner names erratum facts on the case line and counts them on the last line")
    func rendering() {
        var report = CarrierTestRunner.Report()
        report.cases = [
            .init(carrier: "acme", source: .corpus, name: "x.json", problems: [], unchecked: [], errata: [Self.erratum(rastro: .string("delivered"))]),
            .init(carrier: "acme", source: .corpus, name: "y.json", problems: [], unchecked: []),
        ]
        let text = report.rendered()
        #expect(text.contains("ok    corpus/acme/x.json  (1 fact by erratum: status)"))
        #expect(text.contains("ok    corpus/acme/y.json\n"))
        #expect(text.hasSuffix("1 fact by erratum; 2 passed, 0 failed"))
        #expect(report.rendered(verbose: true).contains("erratum: status = \"delivered\" (source: \"in_transit\"): test"))
    }

    // MARK: errors naming other numbers

    static let v1Expected = #"""
    {"tracking_number": "X1", "status": "delivered",
     "errors": [{"code": "E1", "message": "empty", "details": {"tracking_number": "X2"}},
                {"code": "NF", "message": "not found", "details": {"tracking_number": "X3"}}]}
    """#

    @Test("an error naming another number is checked against that number's outcome")
    func errorsForOtherNumbers() throws {
        let expected = try Self.json(Self.v1Expected)
        let good = ParseOutput.perCode(["X1": Self.tracked(.delivered, [Self.event("DL", .delivered)]),
                                        "X3": .failed(CarrierFailure(kind: .notFound, message: "not found", code: "NF"))])
        let v = CorpusVocabulary.check(expected, against: good)
        #expect(v.passed, "\(v.mismatches)")
        #expect(v.unchecked.contains { $0.hasPrefix("errors[0] (X2): no result") }, "\(v.unchecked)")

        let wrongCode = ParseOutput.perCode(["X1": Self.tracked(.delivered, [Self.event("DL", .delivered)]),
                                             "X3": .failed(CarrierFailure(kind: .notFound, message: "not found", code: "other"))])
        #expect(CorpusVocabulary.check(expected, against: wrongCode).mismatches == [#"errors[1] (X3).code: expected "NF", got "other""#])

        let trackedOther = ParseOutput.perCode(["X1": Self.tracked(.delivered, [Self.event("DL", .delivered)]),
                                                "X3": Self.tracked(.inTransit, [Self.event("IT", .inTransit)])])
        #expect(CorpusVocabulary.check(expected, against: trackedOther).mismatches.contains { $0.hasPrefix("errors[1] (X3): expected a failure") })
    }

    @Test("an error naming the result's own number, or none, still asks for a failure")
    func errorsForOwnNumber() throws {
        let own = try Self.json(#"{"tracking_number": "X1", "errors": [{"code": "NF", "details": {"tracking_number": "X1"}}]}"#)
        #expect(CorpusVocabulary.check(own, against: Self.delivered).mismatches.contains { $0.hasPrefix("outcome: expected a failure") })
        let unnamed = try Self.json(#"{"tracking_number": "X1", "errors": [{"code": "NF"}]}"#)
        #expect(!CorpusVocabulary.check(unnamed, against: Self.delivered).passed)
    }

    // MARK: one number, several shipments

    @Test("results sharing a number are matched by position with the shipments listed under it")
    func repeatedNumbers() throws {
        let older = Self.tracked(.delivered, [Self.event("OK", .delivered, at: "2019-01-01T10:00:00Z")])
        let newer = Self.tracked(.inTransit, [Self.event("TR", .inTransit), Self.event("CI", .inTransit, at: "2024-02-29T10:00:00Z")])
        let expected = try Self.json(#"""
        {"results": [{"tracking_number": "T1", "delivered": true, "events": [{"code": "OK"}]},
                     {"tracking_number": "T1", "delivered": false, "events": [{"code": "TR"}, {"code": "CI"}]}]}
        """#)
        let listed = ParseOutput.perCode(["T1": newer], repeated: ["T1": [older, newer]])
        let v = CorpusVocabulary.check(expected, against: listed)
        #expect(v.passed, "\(v.mismatches)")

        let swapped = ParseOutput.perCode(["T1": newer], repeated: ["T1": [newer, older]])
        #expect(CorpusVocabulary.check(expected, against: swapped).mismatches.contains { $0.hasPrefix("results[0] (T1, shipment 1 of 2) delivered") })

        let onlyOne = ParseOutput.perCode(["T1": newer])
        #expect(CorpusVocabulary.check(expected, against: onlyOne).mismatches.contains { $0.hasPrefix("results[1] (T1, shipment 2 of 2) result: expected one result") })
    }

    @Test("a location part matches by its words: karrio's depot code joined to the name")
    func locationWords() throws {
        var event = Self.event("OK", .delivered)
        event.location = EventLocation(facility: "Pamplona (PNA)")
        let output = ParseOutput.perCode(["X1": .tracked(TrackingResult(status: .delivered, events: [event]))])
        let good = try Self.json(#"{"tracking_number": "X1", "events": [{"location": "PNA-\n        Pamplona\n      "}]}"#)
        #expect(CorpusVocabulary.check(good, against: output).passed)
        let bad = try Self.json(#"{"tracking_number": "X1", "events": [{"location": "BA4-\n Bradford"}]}"#)
        #expect(!CorpusVocabulary.check(bad, against: output).passed)
    }

    // MARK: undated events

    @Test("an event the source dated to the epoch is unchecked and the other indexes skip it")
    func undatedEvents() throws {
        // Oldest first (ActiveShipping): the source has [undated NP, AA, OF]; we have [AA, OF] (newest first: OF, AA).
        let output = ParseOutput.perCode(["X1": Self.tracked(.outForDelivery, [
            Self.event("OF", .outForDelivery, at: "2024-03-02T10:00:00Z"), Self.event("AA", .inTransit)])])
        let expected = try Self.json(#"""
        {"status": "out_for_delivery", "_partial": {"events[0].code": "NP", "events[0].timestamp": "1970-01-01T00:00:00Z (epoch)",
         "events[1].code": "AA", "events[-1].code": "OF", "event_count": 3}}
        """#)
        let v = CorpusVocabulary.check(expected, against: output, source: "active_shipping_x.xml")
        #expect(v.passed, "\(v.mismatches)")
        #expect(v.unchecked.filter { $0.contains("undated event") }.count == 2, "\(v.unchecked)")

        let wrong = try Self.json(#"{"_partial": {"events[0].timestamp": "1970-01-01T00:00:00Z", "events[1].code": "OF"}}"#)
        #expect(CorpusVocabulary.check(wrong, against: output, source: "active_shipping_x.xml").mismatches
            == [#"events[1].code: expected "OF", got "AA""#])
    }

    // MARK: karrio's event timestamp, ActiveShipping's shipment fields

    @Test("karrio's event timestamp is the local wall time; :00 seconds compare to the minute; a meridiem hour modulo 12")
    func eventTimestamps() throws {
        let ev = TrackingEvent(occurredAt: Timestamp(iso8601: "2021-08-19T17:11:26Z")!, zone: "+02:00", status: .inTransit, code: "X", description: "X")
        let output = ParseOutput.perCode(["X1": .tracked(TrackingResult(status: .inTransit, events: [ev]))])
        func mismatches(_ event: String) throws -> [String] {
            CorpusVocabulary.check(try Self.json(#"{"tracking_number": "X1", "events": [\#(event)]}"#), against: output).mismatches
        }
        #expect(try mismatches(#"{"timestamp": "2021-08-19T19:11:26.000Z"}"#).isEmpty)
        #expect(try mismatches(#"{"timestamp": "2021-08-19T19:11:00.000Z"}"#).isEmpty)
        #expect(try mismatches(#"{"timestamp": "2021-08-19T07:11:26.000Z", "time": "07:11 PM"}"#).isEmpty)
        #expect(try mismatches(#"{"timestamp": "2021-08-19T17:11:26.000Z"}"#) == ["events[0].timestamp: expected 2021-08-19T17:11:26.000Z, got 2021-08-19T19:11:26"])
        #expect(try mismatches(#"{"timestamp": "2021-08-19T19:12:00.000Z"}"#).count == 1)
    }

    @Test("ActiveShipping's raises, exception, delivery_signature, actual_delivery_date and status_code")
    func activeShippingExtras() throws {
        let delivered = TrackingEvent(occurredAt: Timestamp(iso8601: "2014-01-02T18:23:29Z")!, zone: "-05:00", status: .delivered, code: "DL", description: "Delivered")
        let output = ParseOutput.perCode(["X1": .tracked(TrackingResult(status: .delivered, events: [delivered],
                                                                         deliveredAt: delivered.occurredAt, signedBy: "AVILLALON"))])
        func check(_ extra: String) throws -> CorpusVocabulary.Verdict {
            CorpusVocabulary.check(try Self.json(#"{"tracking_number": "X1", "_extra": \#(extra)}"#), against: output, source: "active_shipping_x.xml")
        }
        let good = try check(#"{"exception": false, "delivery_signature": "avillalon", "status_code": "dl (compared case-insensitively)", "actual_delivery_date": "2014-01-02T18:23:29Z", "event_order": "ascending"}"#)
        #expect(good.passed && good.unchecked.isEmpty, "\(good.mismatches) \(good.unchecked)")
        #expect(try check(#"{"actual_delivery_date": "2014-01-02T13:23:29Z"}"#).passed) // the wall time, labelled UTC
        #expect(try check(#"{"delivery_signature": null}"#).mismatches == [#"_extra.delivery_signature: expected none, got "AVILLALON""#])
        #expect(try check(#"{"exception": true}"#).mismatches.count == 1)
        #expect(try check(#"{"raises": "ResponseError"}"#).mismatches == ["_extra.raises: expected a failure (ResponseError), got delivered with 1 events"])
        #expect(try check(#"{"ship_time": "2013-12-30"}"#).unchecked == ["_extra.ship_time"])
    }

    @Test("latest_event, 'parsed as' facts, unnamed batch entries, and nulls that assert nothing")
    func partialFacts() throws {
        let output = ParseOutput.perCode([
            "X1": Self.tracked(.outForDelivery, [Self.event("OF", .outForDelivery, at: "2024-03-02T10:00:00Z"), Self.event("AA", .inTransit)],
                               eta: "2024-03-03T00:00:00Z"),
            "X2": .failed(CarrierFailure(kind: .notFound, message: "No  such parcel")),
        ])
        let one = try Self.json(#"""
        {"tracking_number": "X1", "_assertion_scope": "partial", "_partial": {"latest_event.code": "OF", "latest_event.description": "OF",
         "events[1].timestamp": "parsed as a date-time", "status.timestamp": "parsed as a date-time",
         "expectation.ETAFrom/ETATo": "parsed as date-times", "groups": null}, "_extra": {"origin": null}}
        """#)
        let v = CorpusVocabulary.check(one, against: output)
        #expect(v.passed && v.unchecked.isEmpty, "\(v.mismatches) \(v.unchecked)")
        let wrong = try Self.json(#"{"tracking_number": "X1", "_partial": {"latest_event.code": "AA", "events[2].timestamp": "parsed as a date-time"}}"#)
        #expect(CorpusVocabulary.check(wrong, against: output).mismatches.count == 2)

        let batch = try Self.json(#"""
        {"results": [{"tracking_number": null, "_assertion_scope": "partial"},
                     {"tracking_number": null, "errors": [{"code": null, "message": "No such parcel"}], "_extra": {"success": false}}]}
        """#)
        let b = CorpusVocabulary.check(batch, against: output)
        #expect(b.passed && b.unchecked.isEmpty, "\(b.mismatches) \(b.unchecked)")
        let missing = try Self.json(#"{"results": [{"tracking_number": null, "errors": [{"message": "Duplicate"}]}]}"#)
        #expect(!CorpusVocabulary.check(missing, against: output).passed)
    }

    // MARK: estimated delivery

    @Test("a null estimated delivery in a full-scope karrio result means none")
    func nullEstimatedDelivery() throws {
        let expected = try Self.json(#"{"tracking_number": "X1", "estimated_delivery": null, "_assertion_scope": "full"}"#)
        let none = ParseOutput.perCode(["X1": Self.tracked(.inTransit, [Self.event("IT", .inTransit)])])
        #expect(CorpusVocabulary.check(expected, against: none).passed)
        let some = ParseOutput.perCode(["X1": Self.tracked(.inTransit, [Self.event("IT", .inTransit)], eta: "2024-03-05T00:00:00Z")])
        #expect(CorpusVocabulary.check(expected, against: some).mismatches == ["estimated_delivery: expected none, got 2024-03-05T00:00:00Z"])
        let partial = try Self.json(#"{"tracking_number": "X1", "estimated_delivery": null, "_assertion_scope": "partial"}"#)
        #expect(CorpusVocabulary.check(partial, against: some).passed)
    }
}
