import CoreMetrics
import Foundation
import Logging
import RastroCarriers
import RastroCore
import RastroScripting
import RastroStore
import RastroTransport

/// Runs one request for a batch of a carrier's shipments: auth (token cached),
/// the script's `request`, the HTTP call, the script's `parse`. Never throws:
/// whatever goes wrong becomes a typed failure in the report, so the store can
/// record it, the scheduler can back off and carrier health can count it.
public final class CarrierPoller: Sendable {
    let pool: LuaPool
    let client: CurlHTTPClient
    let tokens = TokenCache()
    let configuration: @Sendable (String) -> [String: String]
    let logger: Logger
    /// Receives `rastro_parse_seconds{carrier}`: the script's `parse` alone, without waiting for a Lua worker.
    let metrics: any MetricsFactory
    /// CPU per stage, when the benchmark measures.
    let stages: PollStages?

    public init(pool: LuaPool, client: CurlHTTPClient, logger: Logger = Logger(label: "rastro.poller"),
                metrics: any MetricsFactory = NOOPMetricsHandler.instance, stages: PollStages? = nil,
                configuration: @escaping @Sendable (String) -> [String: String] = { CarrierConfig.fromEnvironment(carrier: $0) }) {
        self.pool = pool
        self.client = client
        self.logger = logger
        self.metrics = metrics
        self.configuration = configuration
        self.stages = stages
    }

    public func poll(_ version: CarrierVersion, batch: [DuePoll], owner: String, now: Timestamp) async -> PollReport {
        let started = ContinuousClock.now
        let config = configuration(version.id)
        let codes = batch.map(\.trackingNumber)
        let policy = CarrierConfig.egressPolicy(for: version.definition, config: config)
        var context = CarrierContext(now: now, dispatchedAt: Dictionary(batch.map { ($0.trackingNumber, $0.dispatchedAt) }, uniquingKeysWith: { a, _ in a }))
        var response: HTTPResponse?

        func report(_ outcome: String, error: String?, items: [CarrierOutcome]) -> PollReport {
            let elapsed = ContinuousClock.now - started
            let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            return PollReport(carrier: version.id, scriptVersion: version.hash, owner: owner, startedAt: now, durationMs: ms,
                              response: response.map { .init(status: $0.status, headers: $0.headers, body: $0.body) },
                              outcome: outcome, error: error,
                              items: zip(batch, items).map { (shipmentId: $0.shipmentId, trackingNumber: $0.trackingNumber, outcome: $1) })
        }
        func whole(_ failure: CarrierFailure) -> PollReport {
            report(failure.kind.rawValue, error: failure.message, items: Array(repeating: .failed(failure), count: batch.count))
        }

        do {
            if version.definition.hasAuth {
                let token = try await tokens.token(for: version.id, now: now) { [pool, client, context, stages] in
                    let request = try await pool.withVM { [stages] vm in try stages.lua { try CarrierRuntime.script(version, on: vm).authRequest(config: config, context: context) } }
                    let answer = try await client.perform(request, policy: policy)
                    let parsed = try await pool.withVM { [stages] vm in try stages.lua { try CarrierRuntime.script(version, on: vm).parseAuth(answer, config: config, context: context) } }
                    switch parsed {
                    case .success(let token): return token
                    case .failure(let failure): throw AuthRefused(failure: failure)
                    }
                }
                context.token = token.token
            }
            let request = try await pool.withVM { [context, stages] vm in
                try stages.lua { try CarrierRuntime.script(version, on: vm).request(codes: codes, config: config, context: context) }
            }
            let sent = ContinuousClock.now
            let answer = try await client.perform(request, policy: policy)
            if let stages { let waited = ContinuousClock.now - sent; stages.addTransportWait(waited.components.seconds * 1_000_000_000 + waited.components.attoseconds / 1_000_000_000) }
            response = answer
            let parseTimer = CoreMetrics.Timer(label: "rastro_parse_seconds", dimensions: [("carrier", version.id)], factory: metrics)
            let output = try await pool.withVM { [context, stages] vm in
                try stages.lua {
                    let script = try CarrierRuntime.script(version, on: vm)
                    let parseStarted = ContinuousClock.now
                    defer { parseTimer.recordNanoseconds((ContinuousClock.now - parseStarted).nanoseconds) }
                    return try script.parse(answer, codes: codes, context: context)
                }
            }
            if case .whole(let failure) = output {
                if failure.kind == .auth { await tokens.invalidate(version.id) }
                return whole(failure)
            }
            return report("ok", error: nil, items: codes.map { output.outcome(for: $0) })
        } catch let refused as AuthRefused {
            return whole(refused.failure)
        } catch let error as TransportError {
            // A carrier that is down or slow is passing trouble; a host outside the
            // allow-list or an endless body means the script and carrier disagree.
            let kind: CarrierFailureKind = (error.kind == .timeout || error.kind == .connection) ? .temporary : .broken
            return whole(CarrierFailure(kind: kind, message: "\(error.kind): \(error.message)"))
        } catch {
            // Script errors (raised, looped, out of memory, wrong result shape) count as broken.
            logger.warning("carrier script failed", metadata: ["carrier": "\(version.id)", "version": "\(version.hash)",
                                                              "shipments": "\(batch.map { String($0.shipmentId) }.joined(separator: ","))", "error": "\(error)"])
            return whole(CarrierFailure(kind: .broken, message: "\(error)"))
        }
    }

    struct AuthRefused: Error { let failure: CarrierFailure }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
