import Foundation
import Hummingbird
import RastroCore
import RastroStore

extension APIServer {
    func addShipmentRoutes(to api: RouterGroup<APIContext>) {
        api.post("/v1/shipments") { request, context -> Response in
            var request = request
            let bytes = try await Self.body(&request)
            let merchantId = try Self.merchant(context)
            return try await idempotent(request, context, body: bytes) {
                let shipment = try await register(JSONBody(bytes), merchantId: merchantId)
                return (.created, ShipmentJSON.object(shipment, trackingURL: trackingURL(shipment), timeline: []))
            }
        }
        api.get("/v1/shipments") { request, context -> Response in
            let q = request.uri.queryParameters
            var filter = Store.ShipmentFilter(carrier: q.get("carrier"), orderId: q.get("orderId"), invoiceNumber: q.get("invoiceNumber"))
            if let status = q.get("status") {
                guard let s = TrackingStatus(rawValue: status) else {
                    throw APIError.invalid("status", "status must be one of \(TrackingStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.status = s
            }
            let limit = try q.get("limit").map { value -> Int in
                guard let n = Int(value), (1...500).contains(n) else { throw APIError.invalid("limit", "limit must be 1 to 500") }
                return n
            } ?? 50
            let before = try q.get("before").map { value -> Int64 in
                guard let n = Int64(value) else { throw APIError.invalid("before", "before must be a shipment id") }
                return n
            }
            let page = try store.shipments(merchantId: context.merchantId, filter: filter, limit: limit, before: before)
            var body: [String: Any] = ["shipments": page.map { ShipmentJSON.object($0, trackingURL: trackingURL($0)) }]
            body["next"] = page.count == limit ? page.last!.id! : NSNull()
            return json(body)
        }
        api.get("/v1/shipments/{id}") { _, context -> Response in
            let shipment = try shipment(context)
            let timeline = ShipmentStatus.effectiveTimeline(try store.events(shipmentId: shipment.id!).map(\.event))
            return json(ShipmentJSON.object(shipment, trackingURL: trackingURL(shipment), timeline: timeline))
        }
        api.post("/v1/shipments/{id}/poll") { _, context -> Response in
            let merchantId = try Self.merchant(context)
            let s = try shipment(context)
            do {
                switch try store.requestPoll(shipmentId: s.id!, merchantId: merchantId, policy: settings.pollPolicy, now: now()) {
                case .success(let at):
                    wake()
                    return json(["id": s.id!, "pollAt": at.iso8601], status: .accepted)
                case .failure(let cooldown):
                    let wait = Int((cooldown.allowedAt - now()).wholeSeconds)
                    throw APIError.tooManyRequests("polled on request recently; next allowed at \(cooldown.allowedAt.iso8601)", retryAfter: max(1, wait))
                }
            } catch let e as StoreError where e.isConflict {
                throw APIError.conflict(e.description)
            }
        }
        api.post("/v1/shipments/{id}/delivered") { request, context -> Response in
            var request = request
            let bytes = try await Self.body(&request)
            let merchantId = try Self.merchant(context)
            let s = try shipment(context)
            return try await idempotent(request, context, body: bytes) {
                let body = try JSONBody(bytes)
                let by = try body.string("by", required: true, max: 100)!
                var at = now()
                if let text = try body.string("at") {
                    guard let t = Timestamp(iso8601: text) else { throw APIError.invalid("at", "at must be an ISO-8601 time with a zone") }
                    at = t
                }
                let event = TrackingEvent(occurredAt: at, status: .delivered, code: "MANUAL", description: "Delivery confirmed by \(by)")
                let (updated, change) = try await store.recordEvents([event], shipmentId: s.id!, merchantId: merchantId, source: .manual, now: now(),
                                                               notify: rules?.notifier)
                if change != nil { wake() }
                let timeline = ShipmentStatus.effectiveTimeline(try store.events(shipmentId: s.id!).map(\.event))
                return (.ok, ShipmentJSON.object(updated, trackingURL: trackingURL(updated), timeline: timeline))
            }
        }
        api.post("/v1/shipments/{id}/cancel") { _, context -> Response in
            let merchantId = try Self.merchant(context)
            let s = try shipment(context)
            let cancelled = try store.cancelShipment(id: s.id!, merchantId: merchantId, now: now())
            return json(ShipmentJSON.object(cancelled, trackingURL: trackingURL(cancelled)))
        }
    }

    /// The shipment in the path, if the caller may see it; another merchant's is a 404 like a missing one.
    func shipment(_ context: APIContext) throws -> Shipment {
        guard let id = context.parameters.get("id").flatMap(Int64.init),
              let shipment = try store.shipment(id: id, merchantId: context.merchantId) else {
            throw APIError.notFound("shipment")
        }
        return shipment
    }

    /// Registers a shipment from an API body: the carrier is checked, or detected from the number.
    func register(_ body: JSONBody, merchantId: Int64, carrierField: String = "carrier") async throws -> Shipment {
        let number = try body.string("trackingNumber", required: true, max: 60)!.replacingOccurrences(of: " ", with: "").uppercased()
        let carrier: String
        if let requested = try body.string(carrierField, max: 60) {
            guard carriers.current(requested) != nil else {
                throw APIError.invalid(carrierField, "unknown carrier \(requested); GET /v1/carriers lists them")
            }
            guard let verdict = try await validator.validate(number, carrier: requested), verdict.isValid else {
                throw APIError.invalid("trackingNumber", "\(number) is not a valid \(requested) number")
            }
            carrier = requested
        } else {
            guard let best = await validator.detect(number).first else {
                throw APIError.invalid("trackingNumber", "no carrier recognises \(number); name the carrier")
            }
            carrier = best
        }
        let customer = try body.object("customer")
        var dispatched: Timestamp?
        if let text = try body.string("dispatchedAt") {
            guard let t = Timestamp(iso8601: text) ?? PushEvents.localTime(text, zone: settings.zone) else {
                throw APIError.invalid("dispatchedAt", "dispatchedAt must be an ISO-8601 time or yyyy-mm-dd hh:mm")
            }
            dispatched = t
        }
        func field(_ name: String, flat: String, max: Int) throws -> String? {
            if let nested = try customer?.string(name, max: max, prefix: "customer.") { return nested }
            return try body.string(flat, max: max)
        }
        let email = try field("email", flat: "customerEmail", max: 254)
        if let email, !email.contains("@") { throw APIError.invalid("customer.email", "customer.email is not an email address") }
        var marketplace = try body.string("marketplaceEndpoint", max: 2000)
        if let m = marketplace, URLComponents(string: m)?.host == nil { throw APIError.invalid("marketplaceEndpoint", "marketplaceEndpoint is not a URL") }
        if marketplace?.isEmpty == true { marketplace = nil }
        let new = NewShipment(carrier: carrier, trackingNumber: number, orderId: try body.string("orderId", max: 100),
                              invoiceNumber: try body.string("invoiceNumber", max: 100), customerEmail: email,
                              customerName: try field("name", flat: "customerName", max: 200),
                              customerLocale: try field("locale", flat: "customerLocale", max: 20),
                              marketplaceEndpoint: marketplace, dispatchedAt: dispatched)
        do {
            let at = now()
            var notify: (@Sendable (Shipment, Merchant) -> [OutboxIntent])?
            if let engine = rules {
                notify = { shipment, merchant in engine.intentsForRegistration(shipment: shipment, merchant: merchant, now: at) }
            }
            let shipment = try store.registerShipment(new, merchantId: merchantId, now: at, notify: notify)
            wake()
            return shipment
        } catch let e as StoreError where e.isConflict {
            throw APIError.conflict(e.description)
        }
    }
}
