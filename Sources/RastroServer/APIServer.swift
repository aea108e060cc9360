import Crypto
import Foundation
import Hummingbird
import Logging
import Prometheus
import RastroCarriers
import RastroCore
import RastroNotify
import RastroService
import RastroStore

/// The HTTP API: merchants' shipments, the platform-compatible push, health, OpenAPI.
public struct APIServer: Sendable {
    public static let maxBody = 64 * 1024

    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// Serve `/demo-carrier/v1/track` for `carriers/demo`.
        public var demoFeed = true
        /// The zone pushed local times ("yyyy-mm-dd hh:mm") are in.
        public var zone = "UTC"
        public var pollPolicy = PollPolicy.platformDefault
        /// Carrier-health thresholds, for the health `GET /v1/carriers` reports.
        public var health = HealthThresholds()
        public init() {}
    }

    let settings: Settings
    let store: Store
    let carriers: CarrierRegistry
    let validator: CarrierValidator
    let rules: RulesEngine?
    let now: @Sendable () -> Timestamp
    let logger: Logger
    /// Called after a write that makes a poll due or notifications pending.
    let wake: @Sendable () -> Void
    /// Served at `/metrics`, and where request counts go; nil: no metrics.
    let metrics: PrometheusCollectorRegistry?

    public init(settings: Settings, store: Store, carriers: CarrierRegistry, validator: CarrierValidator, rules: RulesEngine?,
                now: @escaping @Sendable () -> Timestamp, logger: Logger, wake: @escaping @Sendable () -> Void = {},
                metrics: PrometheusCollectorRegistry? = nil) {
        self.metrics = metrics
        self.settings = settings
        self.store = store
        self.carriers = carriers
        self.validator = validator
        self.rules = rules
        self.now = now
        self.logger = logger
        self.wake = wake
    }

    /// Every route, for the OpenAPI document and its test.
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/health"), ("GET", "/metrics"), ("GET", "/openapi.json"),
        ("POST", "/v1/shipments"), ("GET", "/v1/shipments"), ("GET", "/v1/shipments/{id}"),
        ("POST", "/v1/shipments/{id}/poll"), ("POST", "/v1/shipments/{id}/delivered"), ("POST", "/v1/shipments/{id}/cancel"),
        ("GET", "/v1/carriers"),
        ("PUT", "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking"), ("POST", "/api/oms/pvt/orders/{orderId}/invoice"),
    ]

    public func router() -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        if let metrics {
            router.add(middleware: HTTPMetricsMiddleware(factory: PrometheusMetricsFactory(registry: metrics)))
            // No key: the listener is loopback by default; operators firewall it otherwise (docs/operations.md).
            router.get("/metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
            }
        }
        router.add(middleware: StorageErrorMiddleware(logger: logger))
        router.get("/health") { _, _ -> Response in
            let ok = (try? store.writerPragma("journal_mode")) == "wal"
            return json(["status": ok ? "ok" : "degraded", "database": ok ? "ok" : "unavailable", "carriers": carriers.all.count],
                        status: ok ? .ok : .serviceUnavailable)
        }
        router.get("/openapi.json") { _, _ in json(OpenAPIDocument.document) }
        if settings.demoFeed {
            let now = now
            router.get("/demo-carrier/v1/track") { request, _ -> Response in
                let codes = request.uri.queryParameters[values: "c"].map(String.init)
                let since = request.uri.queryParameters[values: "d"].map { Timestamp(iso8601: String($0)) }
                guard !codes.isEmpty, codes.count == since.count, since.allSatisfy({ $0 != nil }) else {
                    throw APIError.badRequest("expected c=<number>&d=<dispatch time> pairs")
                }
                let answer = DemoCarrierFeed.answer(for: zip(codes, since.map { $0! }).map { ($0, $1) }, now: now())
                let data = (try? JSONEncoder().encode(answer)) ?? Data()
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
        let api = router.group().add(middleware: AuthMiddleware(store: store))
        addShipmentRoutes(to: api)
        addPushRoutes(to: api)
        api.get("/v1/carriers") { _, _ in try carriersList() }
        return router
    }

    /// The application, ready to run as a service; `onListening` gets the bound port.
    public func application(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "rastro"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    func trackingURL(_ s: Shipment) -> String? {
        carriers.current(s.carrier)?.definition.trackingURL(for: s.trackingNumber)
    }

    func carriersList() throws -> Response {
        let current = now()
        let report = try CarrierStatusReport.build(store: store, registry: carriers, thresholds: settings.health, now: current)
        let list = try report.carriers.map { c -> [String: Any] in
            var health = c.json
            health["outcomesLast24h"] = try store.outcomeCounts(carrier: c.id, since: current - .seconds(86400))
            let version = carriers.current(c.id)
            return ["id": c.id, "name": c.name, "trackingUrl": version?.definition.trackingURL.map { $0 as Any } ?? NSNull(),
                    "batch": version.map { $0.definition.batch as Any } ?? NSNull(), "version": version.map { $0.hash as Any } ?? NSNull(),
                    "health": health]
        }
        return json(["carriers": list])
    }
}

/// A JSON response.
func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ShipmentJSON.data(object))))
}

extension APIServer {
    /// Runs a write once per Idempotency-Key: the same key and body get the first answer
    /// again; the same key with another body is a 422. Without a key the write just runs.
    func idempotent(_ request: Request, _ context: APIContext, body: [UInt8],
                    _ write: () async throws -> (HTTPResponse.Status, Any)) async throws -> Response {
        guard let merchantId = context.merchantId, let key = request.headers[.init("Idempotency-Key")!], !key.isEmpty else {
            let (status, object) = try await write()
            return json(object, status: status)
        }
        guard key.count <= 200 else { throw APIError.invalid("Idempotency-Key", "Idempotency-Key is longer than 200 characters") }
        var material = Array("\(request.method.rawValue) \(request.uri.path)\n".utf8)
        material.append(contentsOf: body)
        let requestHash = SHA256.hash(data: material).map { String(format: "%02x", $0) }.joined()
        if let stored = try await store.idempotentResponse(merchantId: merchantId, key: key) {
            guard stored.requestHash == requestHash else { throw APIError.idempotencyMismatch() }
            var response = Response(status: .init(code: stored.status), headers: [.contentType: "application/json"],
                                    body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
            response.headers[.init("Idempotent-Replayed")!] = "true"
            return response
        }
        let (status, object) = try await write()
        let bytes = ShipmentJSON.data(object)
        try await store.storeIdempotentResponse(merchantId: merchantId, key: key,
                                          response: .init(requestHash: requestHash, status: Int(status.code), body: bytes), now: now())
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The body, refusing more than 64 KiB (a declared Content-Length over it is refused before reading).
    static func body(_ request: inout Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBody { throw APIError.tooLarge() }
        do {
            let buffer = try await request.collectBody(upTo: maxBody)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge()
        }
    }

    static func merchant(_ context: APIContext) throws -> Int64 {
        guard let id = context.merchantId else { throw APIError.invalid("Authorization", "writes need a merchant key, not the operator key") }
        return id
    }
}

/// Resolves the API key (`Authorization: Bearer rk_…`) to a merchant or the operator; 401 otherwise.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let store: Store
    let cache = APIKeyCache()

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized("missing API key: send Authorization: Bearer <key>")
        }
        guard let key = try await APIKeys.verify(JSONBody.trimmed(header.dropFirst(7)), store: store, cache: cache) else {
            throw APIError.unauthorized("unknown or revoked API key")
        }
        var context = context
        context.merchantId = key.merchantId
        context.isOperator = key.merchantId == nil
        return try await next(request, context)
    }
}
