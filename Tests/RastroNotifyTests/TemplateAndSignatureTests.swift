import Foundation
import RastroCore
import RastroNotify
import RastroStore
import Testing

@Suite("Templates")
struct TemplateTests {
    let library = TemplateLibrary(directory: repoRules.appendingPathComponent("templates"))

    func variables(locale: String?) throws -> [String: Any] {
        let rules = try engine(rulesFolder([:]))
        let email = try #require(rules.intents(for: change(from: .inTransit, to: .outForDelivery, locale: locale), now: t0).first)
        return try #require(try JSONSerialization.jsonObject(with: Data(email.payload.utf8)) as? [String: Any])
    }

    @Test func everyShippedTemplateRendersInEveryShippedLocale() throws {
        #expect(library.problems.isEmpty, "\(library.problems)")
        for locale in ["pt-BR", "es", "en"] {
            for template in ["order_invoiced", "order_shipped", "status_update", "out_for_delivery", "delivered", "delivery_exception", "expired"] {
                let r = try library.render(template, locale: locale, merchantDefault: nil, variables: try variables(locale: locale))
                #expect(r.locale == locale)
                #expect(!r.subject.isEmpty && !r.subject.contains("{{") && !r.text.contains("{{") && !r.html.contains("{{"), "\(locale)/\(template)")
                #expect(r.text.contains("SI047624825BR") && r.html.contains("SI047624825BR"), "\(locale)/\(template)")
            }
        }
    }

    @Test func theCustomerReadsTheStatusAndTheLatestEventInTheirLanguage() throws {
        let pt = try library.render("out_for_delivery", locale: "pt-BR", merchantDefault: nil, variables: try variables(locale: "pt-BR"))
        #expect(pt.text.contains("Saiu para entrega"))
        #expect(pt.text.contains("https://rastreamento.correios.com.br/app/index.php?objetos=SI047624825BR"))
        #expect(pt.text.contains("Objeto saiu para entrega ao destinatário"))
        let es = try library.render("out_for_delivery", locale: "es", merchantDefault: nil, variables: try variables(locale: "es"))
        #expect(es.locale == "es" && es.text != pt.text)
        let en = try library.render("out_for_delivery", locale: "en", merchantDefault: nil, variables: try variables(locale: "en"))
        #expect(en.text.lowercased().contains("out for delivery"))
        // HTML escapes what it shows; text does not.
        #expect(pt.html.contains("objetos=SI047624825BR"))
    }

    @Test func aLocaleWithoutTemplatesFallsBackToTheMerchantsThenEnglish() throws {
        #expect(TemplateLibrary.fallbackChain("pt-PT", merchantDefault: "es") == ["pt-PT", "pt", "es", "en"])
        let r = try library.render("delivered", locale: "pt-PT", merchantDefault: "es", variables: try variables(locale: "pt-PT"))
        #expect(r.locale == "es")
        #expect(try library.render("delivered", locale: "de", merchantDefault: nil, variables: try variables(locale: "de")).locale == "en")
    }

    @Test func aMissingTemplateIsAnErrorThatNamesItAndTheLocalesTried() throws {
        do {
            _ = try library.render("no_such", locale: "pt-BR", merchantDefault: nil, variables: [:])
            Issue.record("rendered a template that does not exist")
        } catch let error as TemplateError {
            #expect(error.message.contains("no_such") && error.message.contains("pt-BR, pt, en"))
        }
    }

    @Test func emptyValuesCountAsAbsentInSections() throws {
        var vars = try variables(locale: "pt-BR")
        vars["customerName"] = ""
        vars["trackingURL"] = ""
        let r = try library.render("out_for_delivery", locale: "pt-BR", merchantDefault: nil, variables: vars)
        #expect(!r.text.contains("Olá, !") && !r.html.contains("href=\"\""))
    }

    @Test func anEditedTemplateIsPickedUpAndABrokenOneIsReportedOnce() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-templates-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let en = folder.appendingPathComponent("en")
        try FileManager.default.createDirectory(at: en, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws { try text.write(to: en.appendingPathComponent(name), atomically: false, encoding: .utf8) }
        try write("hello.subject.mustache", "Hi {{customerName}}")
        try write("hello.text.mustache", "text")
        try write("hello.html.mustache", "<p>html</p>")
        let library = TemplateLibrary(directory: folder)
        #expect(try library.render("hello", locale: "en", merchantDefault: nil, variables: ["customerName": "Ana"]).subject == "Hi Ana")
        try write("hello.subject.mustache", "Olá {{customerName}}, again")
        library.reloadIfChanged()
        #expect(try library.render("hello", locale: "en", merchantDefault: nil, variables: ["customerName": "Ana"]).subject == "Olá Ana, again")
        // Broken, then left alone: reported once, still reported, nothing else lost.
        try write("bad.subject.mustache", "{{#unclosed}}")
        library.reloadIfChanged()
        #expect(library.problems.count == 1)
        library.reloadIfChanged()
        #expect(library.problems.count == 1 && library.locales == ["en"])
    }

}

@Suite("Standard Webhooks")
struct StandardWebhooksTests {
    // The test vector published with the Standard Webhooks specification.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let timestamp: Int64 = 1_614_265_330
    let body = Array(#"{"test": 2432232314}"#.utf8)

    @Test func theSignatureMatchesTheSpecificationsTestVector() throws {
        #expect(try StandardWebhooks.signature(id: id, timestamp: timestamp, body: body, secret: secret) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func theVerifierAcceptsFreshSignaturesAndRejectsStaleOrTamperedOnes() throws {
        let headers = try StandardWebhooks.headers(id: id, timestamp: timestamp, body: body, secret: secret)
        try StandardWebhooks.verify(body: body, headers: headers, secret: secret, now: Timestamp(secondsSinceEpoch: timestamp + 299))
        #expect(throws: StandardWebhooks.VerificationError.timestampOutOfTolerance) {
            try StandardWebhooks.verify(body: body, headers: headers, secret: secret, now: Timestamp(secondsSinceEpoch: timestamp + 301))
        }
        #expect(throws: StandardWebhooks.VerificationError.timestampOutOfTolerance) {
            try StandardWebhooks.verify(body: body, headers: headers, secret: secret, now: Timestamp(secondsSinceEpoch: timestamp - 301))
        }
        #expect(throws: StandardWebhooks.VerificationError.noMatchingSignature) {
            try StandardWebhooks.verify(body: body + [0x20], headers: headers, secret: secret, now: Timestamp(secondsSinceEpoch: timestamp))
        }
        var rotated = headers
        rotated["webhook-signature"] = "v1,bm90IGl0 " + headers["webhook-signature"]!
        try StandardWebhooks.verify(body: body, headers: rotated, secret: secret, now: Timestamp(secondsSinceEpoch: timestamp))
    }

    @Test("private and loopback targets are recognised", arguments: [
        ("127.0.0.1", true), ("10.1.2.3", true), ("172.16.0.1", true), ("172.32.0.1", false), ("192.168.1.1", true),
        ("169.254.169.254", true), ("100.64.0.1", true), ("0.0.0.0", true), ("8.8.8.8", false), ("::1", true),
        ("fd00::1", true), ("fe80::1", true), ("::ffff:127.0.0.1", true), ("2001:4860:4860::8888", false),
    ])
    func privateAddresses(address: String, isPrivate: Bool) {
        #expect(WebhookTarget.isPrivate(address) == isPrivate)
    }

    @Test func aLoopbackWebhookIsRefusedUnlessAllowed() throws {
        #expect(throws: WebhookTarget.Refused.self) { try WebhookTarget.check("http://127.0.0.1:9/hook", allowPrivate: false) }
        #expect(throws: WebhookTarget.Refused.self) { try WebhookTarget.check("http://localhost:9/hook", allowPrivate: false) }
        #expect(try WebhookTarget.check("http://127.0.0.1:9/hook", allowPrivate: true) == "127.0.0.1")
        #expect(throws: WebhookTarget.Refused.self) { try WebhookTarget.check("ftp://example.com/x", allowPrivate: true) }
    }
}
