import Foundation
import Hummingbird
import Logging
import RastroCore
import RastroStore
import Synchronization

/// rastro's HTTP listener: health, and the demo carrier's feed when enabled.
/// (The merchant API joins it here.)
public struct HTTPServer: Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// Serve `/demo-carrier/v1/track` for `carriers/demo`.
        public var demoFeed = true
        public init() {}
    }

    let settings: Settings
    let store: Store
    let now: @Sendable () -> Timestamp
    let logger: Logger

    public init(settings: Settings, store: Store, now: @escaping @Sendable () -> Timestamp, logger: Logger) {
        self.settings = settings
        self.store = store
        self.now = now
        self.logger = logger
    }

    struct Health: ResponseEncodable {
        let status: String
        let database: String
    }

    /// The application, ready to run as a service; `onListening` gets the bound port.
    public func application(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let store = store
        router.get("/health") { _, _ -> Health in
            let db = (try? store.writerPragma("journal_mode")) == "wal" ? "ok" : "unavailable"
            return Health(status: db == "ok" ? "ok" : "degraded", database: db)
        }
        if settings.demoFeed {
            let now = now
            router.get("/demo-carrier/v1/track") { request, _ -> DemoCarrierFeed.Answer in
                let codes = request.uri.queryParameters[values: "c"].map(String.init)
                let since = request.uri.queryParameters[values: "d"].map { Timestamp(iso8601: String($0)) }
                guard !codes.isEmpty, codes.count == since.count, since.allSatisfy({ $0 != nil }) else {
                    throw HTTPError(.badRequest, message: "expected c=<number>&d=<dispatch time> pairs")
                }
                return DemoCarrierFeed.answer(for: zip(codes, since.map { $0! }).map { ($0, $1) }, now: now())
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "rastro"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }
}

extension DemoCarrierFeed.Answer: ResponseEncodable {}
