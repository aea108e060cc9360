import Foundation
import RastroCarriers
import RastroCore
import RastroScripting
import RastroStore

/// `on_carrier_alert`: a carrier integration broke, degraded or recovered.
///
/// Asked once for the operator (ctx without a shipment; the default rules answer,
/// see rules/default.lua) and, for merchants whose own rules define the hook, once
/// per active shipment of that carrier (ctx.shipment set), e.g. to tell customers
/// their tracking is delayed.
extension RulesEngine {
    /// The alert routing the store calls when it records a carrier's change of state.
    public func carrierAlertRouting(operatorEmail: String?) -> CarrierAlertRouting {
        CarrierAlertRouting(
            operatorIntents: { [self] t in intentsForCarrierAlert(t, operatorEmail: operatorEmail) },
            merchantReacts: { [self] merchant in reactsToCarrierAlerts(merchant: merchant.name) },
            shipmentIntents: { [self] t, shipment, merchant in intentsForCarrierAlert(t, shipment: shipment, merchant: merchant) })
    }

    public func intentsForCarrierAlert(_ t: HealthTransition, operatorEmail: String?) -> [OutboxIntent] {
        var ctx = alertContext(t, now: t.at)
        if let operatorEmail { ctx["operator"] = .table(LuaTable(fields: ["email": .string(operatorEmail)])) }
        let requested = run("on_carrier_alert", merchant: "default", ctx: .table(LuaTable(fields: ctx)))
        let variables = alertVariables(t)
        return requested.compactMap { request in
            switch request.kind {
            case .email(let template, let to, let locale):
                guard let recipient = to ?? operatorEmail, !recipient.isEmpty else {
                    logger.warning("carrier alert email skipped: no operator email configured (RASTRO_OPERATOR_EMAIL)",
                                   metadata: ["carrier": "\(t.carrier)", "state": "\(t.to.rawValue)"])
                    return nil
                }
                return OutboxIntent(kind: .email, template: template, recipient: recipient, locale: locale ?? "en",
                                    payload: NotificationPayload.json(variables), key: "email:\(template):\(recipient)", notBefore: request.at)
            case .webhook(let endpoint, let event):
                return OutboxIntent(kind: .webhook, endpoint: endpoint, event: event, payload: NotificationPayload.json(webhookBody(t, event: event)),
                                    key: "webhook:\(endpoint):\(event)", notBefore: request.at)
            }
        }
    }

    public func intentsForCarrierAlert(_ t: HealthTransition, shipment: Shipment, merchant: Merchant) -> [OutboxIntent] {
        var ctx = context(shipment: shipment, merchant: merchant, now: t.at)
        for (k, v) in alertContext(t, now: t.at) where ctx[k] == nil { ctx[k] = v }
        let requested = run("on_carrier_alert", merchant: merchant.name, ctx: .table(LuaTable(fields: ctx)))
        var intents = build(requested, shipment: shipment, merchant: merchant, from: nil, to: shipment.status, timeline: [], now: t.at)
        // The templates also get the alert's fields (carrierState, carrierReason, …).
        for i in intents.indices where intents[i].kind == .email {
            var variables = NotificationPayload.emailVariables(shipment: shipment, merchant: merchant, carrier: carrier(shipment.carrier),
                                                               from: nil, to: shipment.status, timeline: [])
            variables.merge(alertVariables(t)) { _, alert in alert }
            intents[i].payload = NotificationPayload.json(variables)
        }
        return intents
    }

    /// Whether the merchant's own rules file defines `on_carrier_alert` (the defaults speak only to the operator).
    public func reactsToCarrierAlerts(merchant: String) -> Bool {
        guard merchant != "default", let own = registry.current(merchant) else { return false }
        return (try? hasHook(own, "on_carrier_alert")) ?? false
    }

    func alertContext(_ t: HealthTransition, now: Timestamp) -> [String: LuaValue] {
        [
            "alert": .table(LuaTable(fields: [
                "carrier": .string(t.carrier), "carrier_name": .string(carrier(t.carrier).name),
                "state": .string(t.to.rawValue), "previous": .string(t.from.rawValue),
                "recovered": .bool(t.to == .healthy), "reason": .string(t.reason),
                "since": .string(t.since.iso8601), "at": .string(t.at.iso8601),
            ])),
            "now": .string(now.iso8601),
            "clock": Self.clock(now: now, zone: zone),
        ]
    }

    func alertVariables(_ t: HealthTransition) -> [String: Any] {
        let since = t.since.components(offsetSeconds: EventZone.offsetSeconds(zone, at: t.since))
        return [
            "carrierId": t.carrier, "carrierName": carrier(t.carrier).name,
            "carrierState": t.to.rawValue, "previousCarrierState": t.from.rawValue,
            "carrierRecovered": t.to == .healthy, "carrierBroken": t.to == .broken, "carrierDegraded": t.to == .degraded,
            "carrierReason": t.reason, "carrierSince": "\(since.date) \(since.time) (\(zone))", "alertAt": t.at.iso8601,
        ]
    }

    func webhookBody(_ t: HealthTransition, event: String) -> [String: Any] {
        ["type": event, "timestamp": t.at.iso8601,
         "data": ["carrier": t.carrier, "carrierName": carrier(t.carrier).name, "state": t.to.rawValue, "previousState": t.from.rawValue,
                  "reason": t.reason, "since": t.since.iso8601] as [String: Any]]
    }
}
