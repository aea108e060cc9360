import Foundation
import Logging
import RastroCarriers
import RastroCore
import RastroScripting
import RastroStore
import Synchronization

/// Runs the rules: turns a shipment change into notification intents.
///
/// Called for a change about to be stored — usually ahead, on a reader, and the
/// writer keeps the answer only if the change it stores is equal; else inside the
/// transaction (the change and its outbox rows commit together either way). Hence
/// synchronous and deterministic for a given change, on Lua states of its own (a few
/// lanes, see `Lane`), with tight limits: a rule is a few table lookups, and one that loops
/// is stopped at 50 ms. A rule that fails — won't load, raises, loops, returns
/// garbage — is logged with its file and the default rules answer instead; if
/// those fail too, the built-in copy of `rules/default.lua` does. Rules never send.
public final class RulesEngine: Sendable {
    let lanes: [Lane]
    let nextLane = Atomic<Int>(0)
    let registry: RuleRegistry
    let carrier: @Sendable (String) -> NotificationPayload.Carrier
    let zone: String
    let logger: Logger

    public static let limits = LuaLimits(maxInstructions: 5_000_000, timeout: .milliseconds(50))

    /// The shipped default rules, compiled in: the answer of last resort.
    public static let builtinDefault = RuleVersion(name: "default", source: DefaultRules.source, file: "built-in default rules")

    public init(registry: RuleRegistry, zone: String = "UTC", logger: Logger = Logger(label: "rastro.rules"),
                lanes: Int = RulesEngine.defaultLaneCount,
                carrier: @escaping @Sendable (String) -> NotificationPayload.Carrier) throws {
        self.registry = registry
        self.carrier = carrier
        self.zone = zone
        self.logger = logger
        self.lanes = try (0..<max(1, lanes)).map { _ in try Lane() }
    }

    /// The notifier the store calls for each change.
    public var notifier: ChangeNotifier {
        { [self] change in intents(for: change, now: change.at) }
    }

    public func intents(for change: ShipmentChange, now: Timestamp) -> [OutboxIntent] {
        let hook = change.to == .expired ? "on_expired" : "on_change"
        var ctx = context(shipment: change.shipment, merchant: change.merchant, now: now)
        ctx["from"] = .string(change.from.rawValue)
        ctx["to"] = .string(change.to.rawValue)
        ctx["new_events"] = .table(LuaTable(array: change.newEvents.map(Self.event)))
        if let latest = change.timeline.last { ctx["latest_event"] = Self.event(latest) }
        let requested = run(hook, merchant: change.merchant.name, ctx: .table(LuaTable(fields: ctx)))
        return build(requested, shipment: change.shipment, merchant: change.merchant, from: change.from, to: change.to,
                     timeline: change.timeline, now: now, endpoints: change.webhookEndpoints)
    }

    public func intentsForRegistration(shipment: Shipment, merchant: Merchant, now: Timestamp) -> [OutboxIntent] {
        let ctx = context(shipment: shipment, merchant: merchant, now: now)
        let requested = run("on_registered", merchant: merchant.name, ctx: .table(LuaTable(fields: ctx)))
        return build(requested, shipment: shipment, merchant: merchant, from: nil, to: shipment.status, timeline: [], now: now)
    }

    /// A requested notification, as a rule returned it (validated).
    public struct Requested: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case email(template: String, to: String?, locale: String?)
            case webhook(endpoint: String, event: String)
        }
        public var kind: Kind
        public var at: Timestamp?
    }

    /// Runs a hook of the merchant's rules, falling back to the defaults on any failure.
    func run(_ hook: String, merchant: String, ctx: LuaValue) -> [Requested] {
        var candidates: [RuleVersion] = []
        if let own = registry.current(merchant), merchant != "default" { candidates.append(own) }
        if let fileDefault = registry.current("default") { candidates.append(fileDefault) }
        candidates.append(Self.builtinDefault)
        for version in candidates {
            do {
                return try call(version, hook, ctx)
            } catch {
                logger.error("rule failed; falling back to the default rules", metadata: [
                    "merchant": "\(merchant)", "rules": "\(version.file)", "hook": "\(hook)", "error": "\(error)",
                ])
            }
        }
        return []
    }

    func call(_ version: RuleVersion, _ hook: String, _ ctx: LuaValue) throws -> [Requested] {
        let values: [LuaValue] = try withLane { lane in
            let script = try lane.script(for: version)
            guard lane.vm.hasFunction(script, hook) else { return [] }
            return try lane.vm.call(script, hook, [ctx], limits: Self.limits)
        }
        guard let first = values.first, !first.isNil else { return [] }
        guard let list = first.tableValue, list.fields.isEmpty else {
            throw RuleError(file: version.file, "\(hook) must return a list of email{...}/webhook{...}, returned \(first.typeName)")
        }
        return try list.array.enumerated().map { i, item in try Self.decode(item, at: "\(version.file): \(hook) result[\(i + 1)]") }
    }

    /// Whether a rules file defines `hook` (loading it if needed).
    func hasHook(_ version: RuleVersion, _ hook: String) throws -> Bool {
        try withLane { lane in lane.vm.hasFunction(try lane.script(for: version), hook) }
    }

    static func decode(_ value: LuaValue, at place: String) throws -> Requested {
        guard let t = value.tableValue else { throw RuleError(file: place, "is a \(value.typeName), not email{...} or webhook{...}") }
        var at: Timestamp?
        if let text = t["at"].stringValue {
            guard let parsed = Timestamp(iso8601: text) else { throw RuleError(file: place, "at = \(text) is not a UTC ISO-8601 time") }
            at = parsed
        }
        switch t["kind"].stringValue {
        case "email":
            guard let template = t["template"].stringValue, !template.isEmpty,
                  template.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }) else {
                throw RuleError(file: place, "email{} needs template = \"name\" (lowercase letters, digits, _)")
            }
            return Requested(kind: .email(template: template, to: t["to"].stringValue, locale: t["locale"].stringValue), at: at)
        case "webhook":
            guard let endpoint = t["endpoint"].stringValue, let event = t["event"].stringValue, !endpoint.isEmpty, !event.isEmpty else {
                throw RuleError(file: place, "webhook{} needs endpoint = \"name\" and event = \"type\"")
            }
            return Requested(kind: .webhook(endpoint: endpoint, event: event), at: at)
        default:
            throw RuleError(file: place, "is not email{...} or webhook{...}")
        }
    }

    /// Intents with their payload snapshots; emails without a recipient are dropped.
    /// `endpoints`: the merchant's enabled webhook endpoints when known; webhooks to others
    /// are not built (the outbox would drop them).
    func build(_ requested: [Requested], shipment: Shipment, merchant: Merchant, from: TrackingStatus?, to: TrackingStatus,
               timeline: [TrackingEvent], now: Timestamp, endpoints: Set<String>? = nil) -> [OutboxIntent] {
        let carrier = carrier(shipment.carrier)
        var out: [OutboxIntent] = []
        for request in requested {
            switch request.kind {
            case .email(let template, let explicitRecipient, let locale):
                guard let recipient = explicitRecipient ?? shipment.customerEmail, !recipient.isEmpty else {
                    logger.debug("email skipped: no recipient", metadata: ["shipment": "\(shipment.id ?? 0)", "template": "\(template)"])
                    continue
                }
                let variables = NotificationPayload.emailDocument(shipment: shipment, merchant: merchant, carrier: carrier,
                                                                  from: from, to: to, timeline: timeline)
                out.append(OutboxIntent(kind: .email, template: template, recipient: recipient,
                                        locale: locale ?? shipment.customerLocale ?? merchant.defaultLocale,
                                        payload: NotificationPayload.json(variables), key: "email:\(template):\(recipient)", notBefore: request.at))
            case .webhook(let endpoint, let event):
                if let endpoints, !endpoints.contains(endpoint) { continue }
                let body = NotificationPayload.webhookDocument(event: event, shipment: shipment, carrier: carrier, from: from, to: to,
                                                           timeline: timeline, now: now)
                out.append(OutboxIntent(kind: .webhook, endpoint: endpoint, event: event, payload: NotificationPayload.json(body),
                                        key: "webhook:\(endpoint):\(event)", notBefore: request.at))
            }
        }
        return out
    }

    func context(shipment: Shipment, merchant: Merchant, now: Timestamp) -> [String: LuaValue] {
        func s(_ v: String?) -> LuaValue { v.map(LuaValue.string) ?? .nil }
        let customer = LuaTable(fields: ["email": s(shipment.customerEmail), "name": s(shipment.customerName), "locale": s(shipment.customerLocale)]
            .filter { !$0.value.isNil })
        let shipmentFields: [String: LuaValue] = [
            "id": .integer(shipment.id ?? 0), "carrier": .string(shipment.carrier), "tracking_number": .string(shipment.trackingNumber),
            "order_id": s(shipment.orderId), "invoice_number": s(shipment.invoiceNumber), "status": .string(shipment.status.rawValue),
            "dispatched_at": .string(shipment.dispatchedAt.iso8601), "customer": .table(customer),
            "marketplace_endpoint": s(shipment.marketplaceEndpoint),
        ]
        return [
            "shipment": .table(LuaTable(fields: shipmentFields.filter { !$0.value.isNil })),
            "merchant": .table(LuaTable(fields: ["name": .string(merchant.name), "default_locale": s(merchant.defaultLocale)].filter { !$0.value.isNil })),
            "now": .string(now.iso8601),
            "clock": Self.clock(now: now, zone: zone),
        ]
    }

    /// The local time in `zone`, plus the next UTC time of each local hour (`next["08:00"]`).
    /// The last clock made: every change of a poll or push shares its `now`, and the
    /// 24 `next` times were a visible share of a recorded poll's CPU.
    private static let lastClock = Mutex<(now: Timestamp, zone: String, value: LuaValue)?>(nil)

    static func clock(now: Timestamp, zone: String) -> LuaValue {
        if let hit = lastClock.withLock({ $0 }), hit.now == now, hit.zone == zone { return hit.value }
        let value = makeClock(now: now, zone: zone)
        lastClock.withLock { $0 = (now, zone, value) }
        return value
    }

    private static func makeClock(now: Timestamp, zone: String) -> LuaValue {
        let offset = EventZone.offsetSeconds(zone, at: now)
        let local = now.components(offsetSeconds: offset)
        let days = (now.secondsSinceEpoch + Int64(offset)).floorDiv(86400)
        let weekday = Int((days + 3).floorMod(7)) + 1   // 1970-01-01 was a Thursday; Monday = 1
        var next: [String: LuaValue] = [:]
        let localSeconds = Int64(local.hour * 3600 + local.minute * 60 + local.second)
        for hour in 0..<24 {
            var wait = Int64(hour * 3600) - localSeconds
            if wait <= 0 { wait += 86400 }
            next[(hour < 10 ? "0" : "") + "\(hour):00"] = .string((now + .seconds(wait)).iso8601)
        }
        return .table(LuaTable(fields: [
            "zone": .string(zone), "hour": .integer(Int64(local.hour)), "minute": .integer(Int64(local.minute)),
            "weekday": .integer(Int64(weekday)), "date": .string(local.date), "next": .table(LuaTable(fields: next)),
        ]))
    }

    static func event(_ e: TrackingEvent) -> LuaValue {
        var fields: [String: LuaValue] = ["occurred_at": .string(e.occurredAt.iso8601), "status": .string(e.status.rawValue),
                                          "code": .string(e.code), "description": .string(e.description)]
        if let place = e.location?.summary, !place.isEmpty { fields["place"] = .string(place) }
        return .table(LuaTable(fields: fields))
    }
}

extension Int64 {
    func floorDiv(_ d: Int64) -> Int64 { (self - ((self % d) + d) % d) / d }
    func floorMod(_ d: Int64) -> Int64 { ((self % d) + d) % d }
}
