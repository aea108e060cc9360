import ArgumentParser
import Foundation
import Logging
import RastroCarriers
import RastroCore
import RastroNotify
import RastroScripting
import RastroServer
import RastroService
import RastroStore
import RastroTransport
import ServiceLifecycle
import Synchronization

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "Data folder: the SQLite database lives in <data>/rastro.sqlite.")
    var data: String = "data"

    @Option(name: .long, help: "Merchant the command acts for.")
    var merchant: String = "default"

    func openStore() throws -> Store {
        do { return try Store.open(directory: URL(fileURLWithPath: data)) } catch { throw ValidationError("\(error)") }
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run rastro: the poll scheduler, carrier hot reload and the HTTP listener.",
        discussion: """
        Embedded defaults: the database in ./data, carriers from ./carriers (re-read every 2 s: an edit takes
        effect on the next poll; an edit that does not load is logged and the previous version keeps running).
        Carrier configuration comes from RASTRO_<CARRIER>_<KEY> (see `rastro track --help`).
        SIGTERM or SIGINT: stop claiming polls, let polls in flight finish and record, then exit.
        """
    )

    @OptionGroup var dataOption: DataOption
    @OptionGroup var carriersOption: CarriersOption
    @OptionGroup var rulesOption: RulesOption

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    var port: Int = 8080

    @Flag(help: "Register the demo carrier's sample parcels (\(DemoCarrierFeed.sampleNumbers.joined(separator: ", "))) and watch them move.")
    var demo = false

    @Option(help: "Seconds a claimed poll is held before another run may retry it (longer than any carrier request).")
    var lease: Int = 120

    @Option(help: "Seconds between scans of the carriers folder.")
    var reloadEvery: Double = 2

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["RASTRO_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "rastro")
        let store = try dataOption.openStore()
        let now: @Sendable () -> Timestamp = { Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)) }
        let merchant = try store.ensureMerchant(name: dataOption.merchant, now: now())

        let registry = CarrierRegistry(directory: URL(fileURLWithPath: carriersOption.carriers))
        let loaded = registry.reload()
        if registry.all.isEmpty {
            throw ValidationError("no carrier loaded from \(carriersOption.carriers)/ (\(loaded.failed.isEmpty ? "no <id>/carrier.lua found" : loaded.failed.values.joined(separator: "; ")))")
        }
        logger.info("carriers loaded", metadata: ["count": "\(registry.all.count)", "failed": "\(loaded.failed.keys.sorted().joined(separator: ","))"])

        // The demo carrier's feed is this process; its base URL is known once the port is bound.
        let boundPort = Mutex(0)
        let host = host
        let environment = ProcessInfo.processInfo.environment
        let pool = try LuaPool()
        let poller = CarrierPoller(pool: pool, client: CurlHTTPClient()) { id in
            var config = CarrierConfig.fromEnvironment(carrier: id, environment: environment)
            if id == "demo", config["base_url"] == nil {
                let reachable = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
                config["base_url"] = "http://\(reachable):\(boundPort.withLock { $0 })"
            }
            return config
        }
        let notify = try NotifySetup(rulesDirectory: rulesOption.rules, dataDirectory: dataOption.data,
                                     carrier: NotifySetup.carrierInfo(registry))
        if notify.rules.current("default") == nil {
            logger.warning("no \(rulesOption.rules)/default.lua; the built-in default rules apply")
        }
        logger.info("notifications", metadata: ["mail": "\(notify.mail.description)", "locales": "\(notify.templates.locales.joined(separator: ","))"])
        let deliverer = OutboxDeliverer(store: store, templates: notify.templates, mail: notify.mail,
                                        settings: notify.delivererSettings, now: now)
        var settings = PollScheduler.Settings()
        settings.lease = .seconds(max(5, lease))
        let engine = notify.engine
        let thresholds = try HealthThresholds.from(environment: environment)
        let health = CarrierHealthService(store: store, thresholds: thresholds,
                                          routing: engine.carrierAlertRouting(operatorEmail: environment["RASTRO_OPERATOR_EMAIL"]),
                                          now: now, onTransition: { _ in deliverer.wake() })
        let scheduler = PollScheduler(store: store, registry: registry, poller: poller, settings: settings, now: now,
                                      notify: { change in
                                          let intents = engine.notifier(change)
                                          if !intents.isEmpty { deliverer.wake() }
                                          return intents
                                      },
                                      onEvent: { event in health.observe(event) })

        if demo {
            guard registry.current("demo") != nil else { throw ValidationError("--demo needs carriers/demo/carrier.lua") }
            for number in DemoCarrierFeed.sampleNumbers {
                do {
                    let s = try store.registerShipment(
                    NewShipment(carrier: "demo", trackingNumber: number, orderId: "demo-order-\(number.split(separator: "-").last ?? "1")",
                                invoiceNumber: "NF-\(number.split(separator: "-")[1].prefix(3))-1", customerEmail: "customer@example.com",
                                customerName: "Demo Customer", customerLocale: "pt-BR"),
                    merchantId: merchant.id!, now: now(), notify: { engine.intentsForRegistration(shipment: $0, merchant: $1, now: now()) })
                    logger.info("demo parcel registered", metadata: ["shipment": "\(s.id!)", "tracking": "\(number)"])
                } catch let e as StoreError where e.isConflict {
                    continue
                }
            }
        }

        var serverSettings = APIServer.Settings()
        serverSettings.host = host
        serverSettings.port = port
        serverSettings.demoFeed = registry.current("demo") != nil
        serverSettings.zone = ProcessInfo.processInfo.environment["RASTRO_ZONE"] ?? "UTC"
        serverSettings.health = thresholds
        let api = APIServer(settings: serverSettings, store: store, carriers: registry, validator: CarrierValidator(pool: pool, registry: registry),
                            rules: engine, now: now, logger: logger, wake: { scheduler.wake(); deliverer.wake() })
        let app = api.application { port in
            boundPort.withLock { $0 = port }
            logger.notice("listening", metadata: ["url": "http://\(host):\(port)", "data": "\(store.path)"])
            scheduler.wake()
        }
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: app),
                .init(service: ClosureService(name: "carrier-reload") { await registry.watch(every: .milliseconds(Int64(reloadEvery * 1000))) }),
                .init(service: ClosureService(name: "rules-reload") {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(Int64(reloadEvery * 1000)))
                        notify.rules.reload()
                        notify.templates.reload()
                    }
                }),
                .init(service: ClosureService(name: "outbox") { await deliverer.run() }),
                .init(service: ClosureService(name: "carrier-health") { await health.run(every: .seconds(60)) }),
                .init(service: ClosureService(name: "scheduler") {
                    // Polls start once the listener is up: the demo carrier's feed lives there.
                    while boundPort.withLock({ $0 }) == 0, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
                    await scheduler.run()
                }, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        logger.info("stopped")
    }
}

/// A long-running loop as a service that stops (by cancellation) on graceful shutdown.
struct ClosureService: Service, CustomStringConvertible {
    let name: String
    let body: @Sendable () async -> Void

    var description: String { name }

    func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
    }
}
