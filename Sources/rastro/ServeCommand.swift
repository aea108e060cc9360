import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import Prometheus
import RastroCarriers
import RastroCore
import RastroNotify
import RastroOperations
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
        Settings: flags beat the environment, which beats the configuration file (--config or RASTRO_CONFIG),
        which beats the defaults; rastro.example.toml and docs/configuration.md list them all.
        Carrier configuration comes from [carrier.<id>] in the file and RASTRO_<CARRIER>_<KEY> (see `rastro track --help`).
        SIGTERM or SIGINT: stop claiming polls, let polls in flight finish and record, then exit.
        """
    )

    @OptionGroup var options: ServeOptions

    @Flag(help: "Register the demo carrier's sample parcels (\(DemoCarrierFeed.sampleNumbers.joined(separator: ", "))) and watch them move.")
    var demo = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let config = try options.configuration(environment: environment)
        LoggingSystem.bootstrap { config.log.makeHandler(label: $0) }
        let logger = Logger(label: "rastro")
        // One registry per process: /metrics serves it; the components get the factory explicitly.
        let metricsRegistry = config.metrics.enabled ? PrometheusCollectorRegistry() : nil
        let metrics: any MetricsFactory = metricsRegistry.map { PrometheusMetricsFactory.rastro(registry: $0) } ?? NOOPMetricsHandler.instance
        if metricsRegistry != nil { MetricsSystem.bootstrap(metrics) }
        let store: Store
        do { store = try Store.open(directory: URL(fileURLWithPath: config.paths.data)) } catch { throw ValidationError("\(error)") }
        let now: @Sendable () -> Timestamp = { Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)) }
        let merchant = try store.ensureMerchant(name: config.shop.merchant, now: now())

        let registry = CarrierRegistry(directory: URL(fileURLWithPath: config.paths.carriers))
        let loaded = registry.reload()
        if registry.all.isEmpty {
            throw ValidationError("no carrier loaded from \(config.paths.carriers)/ (\(loaded.failed.isEmpty ? "no <id>/carrier.lua found" : loaded.failed.values.joined(separator: "; ")))")
        }
        logger.info("carriers loaded", metadata: ["count": "\(registry.all.count)", "failed": "\(loaded.failed.keys.sorted().joined(separator: ","))"])

        // The demo carrier's feed is this process; its base URL is known once the port is bound.
        let boundPort = Mutex(0)
        let host = config.server.host
        let carrierFiles = config.carriers
        let pool = try LuaPool()
        let poller = CarrierPoller(pool: pool, client: CurlHTTPClient(), metrics: metrics) { id in
            // [carrier.<id>] from the file, overridden key by key by RASTRO_<ID>_<KEY>.
            var carrierConfig = (carrierFiles[id] ?? [:]).merging(CarrierConfig.fromEnvironment(carrier: id, environment: environment)) { _, env in env }
            if id == "demo", carrierConfig["base_url"] == nil {
                let reachable = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
                carrierConfig["base_url"] = "http://\(reachable):\(boundPort.withLock { $0 })"
            }
            return carrierConfig
        }
        let notify = try NotifySetup(rulesDirectory: config.paths.rules, dataDirectory: config.paths.data, configuration: config,
                                     carrier: NotifySetup.carrierInfo(registry))
        if notify.rules.current("default") == nil {
            logger.warning("no \(config.paths.rules)/default.lua; the built-in default rules apply")
        }
        logger.info("notifications", metadata: ["mail": "\(notify.mail.description)", "locales": "\(notify.templates.locales.joined(separator: ","))"])
        let deliveryMetrics = DeliveryMetrics(factory: metrics)
        let deliverer = OutboxDeliverer(store: store, templates: notify.templates, mail: notify.mail,
                                        settings: notify.delivererSettings, now: now, onEvent: deliveryMetrics.record)
        var settings = PollScheduler.Settings()
        settings.lease = config.scheduler.lease
        let engine = notify.engine
        let pollMetrics = PollMetrics(factory: metrics)
        let thresholds = config.health.thresholds
        let health = CarrierHealthService(store: store, thresholds: thresholds,
                                          routing: engine.carrierAlertRouting(operatorEmail: config.health.operatorEmail),
                                          now: now, onTransition: { _ in deliverer.wake() })
        let scheduler = PollScheduler(store: store, registry: registry, poller: poller, settings: settings, now: now,
                                      notify: { change in
                                          let intents = engine.notifier(change)
                                          if !intents.isEmpty { deliverer.wake() }
                                          return intents
                                      },
                                      onEvent: { event in
                                          health.observe(event)
                                          pollMetrics.record(event)
                                      })

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
        serverSettings.port = config.server.port
        serverSettings.demoFeed = registry.current("demo") != nil
        serverSettings.zone = config.shop.zone
        serverSettings.health = thresholds
        let api = APIServer(settings: serverSettings, store: store, carriers: registry, validator: CarrierValidator(pool: pool, registry: registry),
                            rules: engine, now: now, logger: logger, wake: { scheduler.wake(); deliverer.wake() }, metrics: metricsRegistry)
        let gauges = OperationsGauges(store: store, factory: metrics, carriers: { registry.all.map(\.id) }, now: now)
        let reloadEvery = config.scheduler.reloadEvery
        let app = api.application { port in
            boundPort.withLock { $0 = port }
            logger.notice("listening", metadata: ["url": "http://\(host):\(port)", "data": "\(store.path)",
                                                 "config": "\(options.config ?? environment["RASTRO_CONFIG"] ?? "none")",
                                                 "metrics": "\(metricsRegistry == nil ? "off" : "/metrics")"])
            scheduler.wake()
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = metricsRegistry == nil ? [] : [
            .init(service: ClosureService(name: "metrics-gauges") { [refresh = config.metrics.refreshEvery] in await gauges.run(every: refresh) }),
        ]
        services += [
            .init(service: app),
            .init(service: ClosureService(name: "carrier-reload") { await registry.watch(every: reloadEvery) }),
            .init(service: ClosureService(name: "rules-reload") {
                while !Task.isCancelled {
                    try? await Task.sleep(for: reloadEvery)
                    notify.rules.reload()
                    notify.templates.reloadIfChanged()
                }
            }),
            .init(service: ClosureService(name: "outbox") { await deliverer.run() }),
            .init(service: ClosureService(name: "carrier-health") { await health.run(every: config.health.checkEvery) }),
            .init(service: ClosureService(name: "scheduler") {
                // Polls start once the listener is up: the demo carrier's feed lives there.
                while boundPort.withLock({ $0 }) == 0, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
                await scheduler.run()
            }, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        let group = ServiceGroup(configuration: .init(
            services: services,
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
