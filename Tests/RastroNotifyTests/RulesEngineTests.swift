import Foundation
import RastroCore
import RastroNotify
import RastroStore
import Testing

@Suite("Rules")
struct RulesEngineTests {
    let defaultSource = try! String(contentsOf: repoRules.appendingPathComponent("default.lua"), encoding: .utf8)

    @Test func theDefaultRulesEmailTheCustomerAndTellTheMarketplaceOnEveryStatusChange() throws {
        let rules = try engine(rulesFolder(["default": defaultSource]))
        #expect(describe(rules.intents(for: change(from: .inTransit, to: .outForDelivery), now: t0)) ==
                ["email out_for_delivery to ana@example.com", "webhook marketplace shipment.status_changed"])
        #expect(describe(rules.intents(for: change(from: .pending, to: .inTransit), now: t0)) ==
                ["email order_shipped to ana@example.com", "webhook marketplace shipment.status_changed"])
        #expect(describe(rules.intents(for: change(from: .outForDelivery, to: .delivered), now: t0)) ==
                ["email delivered to ana@example.com", "webhook marketplace shipment.status_changed", "webhook marketplace shipment.delivered"])
        #expect(describe(rules.intents(for: change(from: .outForDelivery, to: .attemptFailed), now: t0)).first == "email delivery_exception to ana@example.com")
        #expect(describe(rules.intents(for: change(from: .inTransit, to: .expired), now: t0)) ==
                ["email expired to ana@example.com", "webhook marketplace shipment.expired"])
    }

    @Test func newScansWithoutANewStatusSendNothingByDefault() throws {
        let rules = try engine(rulesFolder(["default": defaultSource]))
        #expect(rules.intents(for: change(from: .inTransit, to: .inTransit), now: t0).isEmpty)
    }

    @Test func aCustomerWithoutAnEmailGetsNoEmailButTheMarketplaceIsStillTold() throws {
        let rules = try engine(rulesFolder(["default": defaultSource]))
        #expect(describe(rules.intents(for: change(from: .inTransit, to: .outForDelivery, email: nil), now: t0)) ==
                ["webhook marketplace shipment.status_changed"])
    }

    @Test func theEmailCarriesTheLocaleAndAFrozenSnapshotOfTheChange() throws {
        let rules = try engine(rulesFolder(["default": defaultSource]))
        let email = try #require(rules.intents(for: change(from: .inTransit, to: .outForDelivery, locale: "es"), now: t0).first)
        #expect(email.locale == "es")
        let vars = try #require(try JSONSerialization.jsonObject(with: Data(email.payload.utf8)) as? [String: Any])
        #expect(vars["trackingURL"] as? String == "https://rastreamento.correios.com.br/app/index.php?objetos=SI047624825BR")
        #expect((vars["latestEvent"] as? [String: Any])?["description"] as? String == "Objeto saiu para entrega ao destinatário")
        #expect((vars["latestEvent"] as? [String: Any])?["time"] as? String == "19:13")  // 22:13 UTC in São Paulo
        #expect((vars["timeline"] as? [Any])?.count == 2)
    }

    @Test func aMerchantsOwnFileReplacesTheDefaultRules() throws {
        let example = try String(contentsOf: repoRules.appendingPathComponent("example_store.lua"), encoding: .utf8)
        let rules = try engine(rulesFolder(["default": defaultSource, "example_store": example]))
        // example_store skips emails for in-transit hops…
        #expect(describe(rules.intents(for: change(from: .outForDelivery, to: .inTransit, merchant: "example_store"), now: t0)) ==
                ["webhook marketplace shipment.status_changed"])
        // …and copies its support desk on problems.
        #expect(describe(rules.intents(for: change(from: .outForDelivery, to: .attemptFailed, merchant: "example_store"), now: t0 + .seconds(3600))) ==
                ["webhook marketplace shipment.status_changed", "email delivery_exception to ana@example.com", "email delivery_exception to suporte@example-store.com.br"])
        // Other merchants keep the defaults.
        #expect(describe(rules.intents(for: change(from: .outForDelivery, to: .inTransit, merchant: "other"), now: t0)).count == 2)
    }

    @Test func quietHoursHoldTheCustomerEmailUntilMorning() throws {
        let example = try String(contentsOf: repoRules.appendingPathComponent("example_store.lua"), encoding: .utf8)
        let rules = try engine(rulesFolder(["default": defaultSource, "example_store": example]), zone: "America/Sao_Paulo")
        let lateEvening = Timestamp(iso8601: "2025-11-24T02:30:00Z")!   // 23:30 in São Paulo
        let intents = rules.intents(for: change(from: .inTransit, to: .outForDelivery, merchant: "example_store"), now: lateEvening)
        let email = try #require(intents.first { $0.kind == .email })
        #expect(email.notBefore == Timestamp(iso8601: "2025-11-24T11:00:00Z"))  // 08:00 in São Paulo
        // The store's notifier runs the rules at the time the change was recorded (a push at night, say).
        let pushedAtNight = rules.notifier(change(from: .inTransit, to: .outForDelivery, merchant: "example_store", at: lateEvening))
        #expect(pushedAtNight.first { $0.kind == .email }?.notBefore == Timestamp(iso8601: "2025-11-24T11:00:00Z"))
        let morning = Timestamp(iso8601: "2025-11-24T13:30:00Z")!       // 10:30 there
        #expect(rules.intents(for: change(from: .inTransit, to: .outForDelivery, merchant: "example_store"), now: morning)
            .first { $0.kind == .email }?.notBefore == nil)
    }

    @Test("a merchant rule that fails falls back to the default rules", arguments: [
        ("loops", "return { on_change = function(ctx) while true do end end }"),
        ("raises", "return { on_change = function(ctx) error('boom') end }"),
        ("returns garbage", "return { on_change = function(ctx) return { 42, 'x' } end }"),
        ("returns an email without a template", "return { on_change = function(ctx) return { email{ to = 'x@y.z' } } end }"),
        ("eats memory", "return { on_change = function(ctx) local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) end end }"),
    ])
    func failingMerchantRuleFallsBack(what: String, source: String) throws {
        let rules = try engine(rulesFolder(["default": defaultSource, "bad": source]))
        let started = ContinuousClock.now
        #expect(describe(rules.intents(for: change(from: .inTransit, to: .outForDelivery, merchant: "bad"), now: t0)) ==
                ["email out_for_delivery to ana@example.com", "webhook marketplace shipment.status_changed"], "\(what)")
        #expect(ContinuousClock.now - started < .seconds(2), "a failing rule held the transaction for long")
    }

    @Test func withoutAnyRulesFileTheBuiltInDefaultsApply() throws {
        let rules = try engine(rulesFolder([:]))
        #expect(describe(rules.intents(for: change(from: .inTransit, to: .delivered), now: t0)).first == "email delivered to ana@example.com")
    }

    @Test func theBuiltInDefaultsAreTheShippedDefaultFile() {
        #expect(RulesEngine.builtinDefault.source == defaultSource)
    }

    @Test func aBrokenRulesEditIsRefusedAndThePreviousVersionStays() throws {
        let folder = try rulesFolder(["loja": "return { on_change = function(ctx) return { webhook{ endpoint = 'a', event = 'v1' } } end }"])
        let registry = RuleRegistry(directory: folder)
        registry.reload()
        let good = try #require(registry.current("loja"))
        try "return { on_change = ".write(to: folder.appendingPathComponent("loja.lua"), atomically: true, encoding: .utf8)
        #expect(registry.reload().failed["loja"]?.contains("loja.lua") == true)
        #expect(registry.current("loja") == good)
        try "return { on_chnage = function() end }".write(to: folder.appendingPathComponent("loja.lua"), atomically: true, encoding: .utf8)
        #expect(registry.reload().failed["loja"]?.contains("unknown field 'on_chnage'") == true)
    }
}
