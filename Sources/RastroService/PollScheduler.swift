import Foundation
import Logging
import RastroCarriers
import RastroCore
import RastroStore
import Synchronization

/// The polling service: claims due shipments per carrier, sends them out in
/// batches within each carrier's limits, records what came back, and decides
/// each shipment's next poll with `PollPolicy`.
///
/// Carriers are independent lanes: a slow or failing carrier fills only its own
/// concurrency slots, so it cannot delay another carrier's polls.
public final class PollScheduler: Sendable {
    public struct Settings: Sendable {
        /// How often due shipments are looked for when nothing wakes the loop.
        public var tick: Duration = .milliseconds(250)
        /// How long a claimed shipment is held; a poll that dies is retried after it.
        public var lease: Duration = .seconds(120)
        /// Scheduling defaults; carrier scripts and merchants override cadence and window.
        public var policy: PollPolicy = .platformDefault
        public init() {}
    }

    /// What the loop did, for logs, metrics and tests that wait for a poll.
    public enum Event: Sendable {
        case recorded(PollReport, PollRecording)
        case recordFailed(PollReport, String)
        case released(carrier: String, count: Int)
    }

    let store: Store
    let registry: CarrierRegistry
    let poller: CarrierPoller
    let settings: Settings
    let now: @Sendable () -> Timestamp
    let logger: Logger
    let onEvent: @Sendable (Event) -> Void
    /// Rules: the notifications of each change, written in the change's transaction.
    let notify: ChangeNotifier?
    /// Identifies this process's leases.
    public let owner: String

    private struct Lanes {
        var inFlight: [String: Int] = [:]
        var nextStart: [String: ContinuousClock.Instant] = [:]
    }
    private let lanes = Mutex(Lanes())
    private let wakeSignal = WakeSignal()
    private let random = Mutex(SystemRandomNumberGenerator())

    public init(store: Store, registry: CarrierRegistry, poller: CarrierPoller, settings: Settings = .init(),
                now: @escaping @Sendable () -> Timestamp = { Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)) },
                logger: Logger = Logger(label: "rastro.scheduler"), notify: ChangeNotifier? = nil,
                onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.notify = notify
        self.store = store
        self.registry = registry
        self.poller = poller
        self.settings = settings
        self.now = now
        self.logger = logger
        self.onEvent = onEvent
        owner = "poller-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    /// Asks the loop to look for due shipments now (after a registration or "poll now").
    public func wake() { wakeSignal.signal() }

    /// Runs until the task is cancelled; then claims nothing more, lets polls in
    /// flight finish and record, and gives back claimed batches that never started.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            while !Task.isCancelled {
                await launchDuePolls(into: &group)
                await wakeSignal.wait(timeout: settings.tick)
            }
            await group.waitForAll()
        }
    }

    /// One pass over the carriers: claim what is due, up to each lane's free slots.
    func launchDuePolls(into group: inout TaskGroup<Void>) async {
        let current = now()
        for version in registry.all {
            let definition = version.definition
            let free = definition.concurrency - lanes.withLock { $0.inFlight[version.id, default: 0] }
            guard free > 0 else { continue }
            let claimed: [DuePoll]
            do {
                guard let due = try store.nextDue(carrier: version.id), due <= current else { continue }
                claimed = try await store.claimDueOffPool(carrier: version.id, limit: free * max(1, definition.batch), owner: owner,
                                                          leaseUntil: current + settings.lease, now: current)
            } catch {
                logger.error("could not claim due polls", metadata: ["carrier": "\(version.id)", "error": "\(error)"])
                continue
            }
            for shipment in claimed where shipment.interrupted {
                logger.notice("retrying a poll that was interrupted", metadata: ["carrier": "\(version.id)", "shipment": "\(shipment.shipmentId)"])
            }
            for start in stride(from: 0, to: claimed.count, by: max(1, definition.batch)) {
                let batch = Array(claimed[start..<min(claimed.count, start + max(1, definition.batch))])
                let slot = reserveSlot(for: definition)
                group.addTask { await self.pollBatch(version, batch, startAt: slot) }
            }
        }
    }

    /// Takes a concurrency slot and the next start time the carrier's rate allows.
    private func reserveSlot(for definition: CarrierDefinition) -> ContinuousClock.Instant {
        let spacing: Duration = definition.perSecond > 0 ? .nanoseconds(Int64(1e9 / definition.perSecond)) : .zero
        return lanes.withLock { lanes in
            lanes.inFlight[definition.id, default: 0] += 1
            let start = max(ContinuousClock.now, lanes.nextStart[definition.id] ?? ContinuousClock.now)
            lanes.nextStart[definition.id] = start + spacing
            return start
        }
    }

    private func pollBatch(_ version: CarrierVersion, _ batch: [DuePoll], startAt: ContinuousClock.Instant) async {
        defer {
            lanes.withLock { $0.inFlight[version.id, default: 1] -= 1 }
            wakeSignal.signal()  // a slot is free: claim more now, not at the next tick
        }
        if startAt > .now { try? await Task.sleep(until: startAt) }
        if Task.isCancelled {
            // Shutting down before this batch went out: give the shipments back.
            do {
                try store.releaseLeases(owner: owner, shipmentIds: batch.map(\.shipmentId), now: now())
                onEvent(.released(carrier: version.id, count: batch.count))
            } catch {
                logger.error("could not release leases; they expire on their own", metadata: ["carrier": "\(version.id)", "error": "\(error)"])
            }
            return
        }
        let report = await poller.poll(version, batch: batch, owner: owner, now: now())
        let policies = Dictionary(batch.map { ($0.shipmentId, policy(for: $0, definition: version.definition)) }, uniquingKeysWith: { a, _ in a })
        let finished = now()
        let units = random.withLock { rng in batch.map { _ in Double.random(in: 0..<1, using: &rng) } }
        let unitByShipment = Dictionary(zip(batch.map(\.shipmentId), units), uniquingKeysWith: { a, _ in a })
        let fallback = settings.policy
        // Only built when a failure is logged (metadata is an autoclosure).
        let shipments = { batch.map { String($0.shipmentId) }.joined(separator: ",") }
        do {
            let decide: @Sendable (Shipment, PollPolicy.Outcome) -> PollPolicy.Decision = { shipment, outcome in
                (policies[shipment.id!] ?? fallback).next(after: outcome, status: shipment.status, dispatchedAt: shipment.dispatchedAt,
                                                          consecutiveFailures: shipment.pollFailures, now: finished,
                                                          unit: unitByShipment[shipment.id!] ?? 0.5)
            }
            // The rules run ahead on a reader, so the writer (which every poll and push waits for) only writes.
            var prepared: PreparedNotifications?
            if let notify, report.items.contains(where: { if case .tracked = $0.outcome { true } else { false } }) {
                do {
                    prepared = try await store.prepareNotifications(for: report, now: finished, decide: decide, notify: notify)
                    poller.stages?.addPrepare(prepared!.cpuNanos)
                } catch {
                    logger.debug("notifications not prepared; the writer runs the rules", metadata: ["error": "\(error)"])
                }
            }
            let recording = try await store.recordPoll(report, now: finished, decide: decide, notify: notify, prepared: prepared)
            poller.stages?.addStore(recording.cpuNanos)
            for change in recording.changes where change.from != change.to {
                logger.info("status changed", metadata: [
                    "carrier": "\(version.id)", "shipment": "\(change.shipment.id!)", "tracking": "\(change.shipment.trackingNumber)", "poll": "\(recording.pollId)",
                    "from": "\(change.from.rawValue)", "to": "\(change.to.rawValue)",
                ])
            }
            if report.outcome != "ok" {
                logger.warning("poll failed", metadata: ["carrier": "\(version.id)", "poll": "\(recording.pollId)", "shipments": "\(shipments())",
                                                      "outcome": "\(report.outcome)", "error": "\(report.error ?? "")"])
            }
            onEvent(.recorded(report, recording))
        } catch {
            // The lease runs out and the shipments are polled again; nothing is lost.
            logger.error("could not record a poll", metadata: ["carrier": "\(version.id)", "shipments": "\(shipments())", "error": "\(error)"])
            onEvent(.recordFailed(report, "\(error)"))
        }
    }

    /// The effective policy: merchant overrides, then the carrier script's `poll`, then the defaults.
    func policy(for shipment: DuePoll, definition: CarrierDefinition) -> PollPolicy {
        var policy = settings.policy
        policy.every = shipment.merchantPollEvery.map { .seconds($0) } ?? definition.pollEvery
        policy.window = shipment.merchantPollWindow.map { .seconds($0) } ?? definition.pollWindow
        let base = min(.seconds(60), policy.every)
        policy.backoff = Backoff(base: base, cap: max(policy.every, base))
        return policy
    }
}
