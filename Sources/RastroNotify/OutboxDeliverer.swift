import Foundation
import Logging
import RastroCore
import RastroStore
import RastroTransport
import Synchronization

/// The delivery service: sends what the outbox holds, at least once.
///
/// A row is claimed with a lease (a crash mid-send means it is sent again after
/// the lease, with the same Message-ID / webhook-id, so receivers can drop the
/// duplicate), sent, and recorded: sent, retried later on an exponential,
/// jittered schedule, or — after about three days, or on an answer that says
/// retrying is pointless — failed, visible and re-sendable.
public final class OutboxDeliverer: Sendable {
    public struct Settings: Sendable {
        public var tick: Duration = .milliseconds(250)
        public var batch = 16
        public var lease: Duration = .seconds(120)
        public var backoff = Backoff(base: .seconds(30), cap: .seconds(6 * 3600))
        /// Stop retrying this long after the notification was created.
        public var giveUpAfter: Duration = .seconds(3 * 86400)
        public var mailFrom = "rastro <rastro@localhost>"
        /// Allow webhooks to loopback/private addresses (tests, internal receivers).
        public var allowPrivateWebhooks = false
        public var webhookTimeout: Double = 15
        public init() {}
    }

    public enum Event: Sendable {
        /// One attempt, its result, and when it ended.
        case attempted(OutboxRecord, Store.DeliveryResult, at: Timestamp)
    }

    let store: Store
    let templates: TemplateLibrary
    let mail: any MailTransport
    let http: CurlHTTPClient
    let settings: Settings
    let now: @Sendable () -> Timestamp
    let logger: Logger
    let onEvent: @Sendable (Event) -> Void
    public let owner = "deliverer-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    private let wakeFlag = Mutex(false)
    private let random = Mutex(SystemRandomNumberGenerator())

    public init(store: Store, templates: TemplateLibrary, mail: any MailTransport, http: CurlHTTPClient = CurlHTTPClient(),
                settings: Settings = .init(), now: @escaping @Sendable () -> Timestamp = { .now },
                logger: Logger = Logger(label: "rastro.outbox"), onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.store = store
        self.templates = templates
        self.mail = mail
        self.http = http
        self.settings = settings
        self.now = now
        self.logger = logger
        self.onEvent = onEvent
    }

    public func wake() { wakeFlag.withLock { $0 = true } }

    /// Runs until cancelled; sends in flight finish and are recorded.
    public func run() async {
        while !Task.isCancelled {
            let rows: [OutboxRecord]
            do {
                let t = now()
                rows = try await store.claimDueOutbox(limit: settings.batch, owner: owner, leaseUntil: t + settings.lease, now: t)
            } catch {
                logger.error("could not claim notifications", metadata: ["error": "\(error)"])
                rows = []
            }
            if !rows.isEmpty {
                await withTaskGroup(of: Void.self) { group in
                    for row in rows { group.addTask { await self.deliver(row) } }
                }
                continue  // more may be due
            }
            var waited = Duration.zero
            while waited < settings.tick, !Task.isCancelled, !wakeFlag.withLock({ $0 }) {
                try? await Task.sleep(for: .milliseconds(25))
                waited += .milliseconds(25)
            }
            wakeFlag.withLock { $0 = false }
        }
    }

    /// One attempt at one row, recorded.
    func deliver(_ row: OutboxRecord) async {
        let started = ContinuousClock.now
        let outcome: Attempt
        switch row.kind {
        case .email: outcome = await sendEmail(row)
        case .webhook: outcome = await sendWebhook(row)
        }
        let finished = now()
        let result: Store.DeliveryResult
        switch outcome {
        case .sent: result = .sent
        case .permanent(let error): result = .failed(error: error)
        case .transient(let error, let retryAfter):
            if finished - row.createdAt >= settings.giveUpAfter {
                result = .failed(error: "gave up after \(row.attempts + 1) attempts over \(settings.giveUpAfter.wholeSeconds / 3600) h: \(error)")
            } else {
                var delay = random.withLock { rng in settings.backoff.delay(attempt: row.attempts + 1, using: &rng) }
                if let retryAfter, retryAfter > delay { delay = min(retryAfter, .seconds(86400)) }
                result = .retry(at: finished + delay, error: error)
            }
        }
        let elapsed = ContinuousClock.now - started
        do {
            try await store.recordDelivery(outboxId: row.id!, owner: owner, result: result,
                                     durationMs: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000, now: finished)
        } catch {
            logger.error("could not record a delivery; it will be retried after its lease", metadata: meta(row).merging(["error": "\(error)"]) { a, _ in a })
        }
        switch result {
        case .sent: logger.info("notification sent", metadata: meta(row))
        case .retry(let at, let error): logger.warning("notification will be retried", metadata: meta(row).merging(["at": "\(at.iso8601)", "error": "\(error)"]) { a, _ in a })
        case .failed(let error): logger.error("notification failed", metadata: meta(row).merging(["error": "\(error)"]) { a, _ in a })
        }
        onEvent(.attempted(row, result, at: finished))
    }

    private func meta(_ row: OutboxRecord) -> Logger.Metadata {
        ["outbox": "\(row.id!)", "kind": "\(row.kind.rawValue)", "shipment": "\(row.shipmentId ?? 0)",
         "to": "\(row.recipient ?? row.endpoint ?? "")", "what": "\(row.template ?? row.event ?? "")"]
    }

    enum Attempt {
        case sent
        case transient(String, retryAfter: Duration?)
        case permanent(String)
    }

    func sendEmail(_ row: OutboxRecord) async -> Attempt {
        guard let template = row.template, let recipient = row.recipient else { return .permanent("email row without template or recipient") }
        guard let variables = (try? JSONSerialization.jsonObject(with: Data(row.payload.utf8))) as? [String: Any] else {
            return .permanent("stored variables are not a JSON object")
        }
        let rendered: TemplateLibrary.Rendered
        do {
            rendered = try templates.render(template, locale: row.locale, merchantDefault: variables["merchantLocale"] as? String, variables: variables)
        } catch {
            // The operator can add the template and re-send; retrying alone will not help.
            return .permanent("\(error)")
        }
        let message = EmailMessage(from: settings.mailFrom, to: recipient, subject: rendered.subject, text: rendered.text,
                                   html: rendered.html, messageID: row.messageId + "@rastro", date: now(), locale: rendered.locale,
                                   template: template)
        do {
            try await mail.send(message)
            return .sent
        } catch let error as MailError {
            return error.permanent ? .permanent(error.message) : .transient(error.message, retryAfter: nil)
        } catch {
            return .transient("\(error)", retryAfter: nil)
        }
    }

    func sendWebhook(_ row: OutboxRecord) async -> Attempt {
        guard let name = row.endpoint else { return .permanent("webhook row without endpoint") }
        let endpoint: WebhookEndpoint
        let url: String
        do {
            guard let found = try store.webhookEndpoint(merchantId: row.merchantId, name: name) else {
                return .permanent("no webhook endpoint named '\(name)' for this merchant")
            }
            if found.disabledAt != nil { return .permanent("endpoint '\(name)' is disabled: \(found.disabledReason ?? "")") }
            endpoint = found
            // The marketplace of a shipment may be its own: the URL it was registered with.
            var target = found.url
            if name == "marketplace", let shipmentId = row.shipmentId,
               let shipment = try store.shipment(id: shipmentId, merchantId: row.merchantId), let own = shipment.marketplaceEndpoint {
                target = own
            }
            guard let target else { return .permanent("endpoint '\(name)' has no URL and the shipment names none") }
            url = target
        } catch {
            return .transient("\(error)", retryAfter: nil)
        }
        let pinned: String
        do {
            pinned = try WebhookTarget.check(url, allowPrivate: settings.allowPrivateWebhooks)
        } catch {
            return .permanent("\(error)")
        }
        let body = Array(row.payload.utf8)
        let timestamp = now().secondsSinceEpoch
        var headers: [String: String]
        do {
            headers = try StandardWebhooks.headers(id: row.messageId, timestamp: timestamp, body: body, secret: endpoint.secret)
        } catch {
            return .permanent("endpoint '\(name)' has an unusable secret")
        }
        headers["content-type"] = "application/json"
        let host = URLComponents(string: url)?.host ?? ""
        do {
            let response = try await http.perform(HTTPRequest(method: "POST", url: url, headers: headers, body: body, timeout: settings.webhookTimeout),
                                                  policy: EgressPolicy(hosts: [host]), pinned: pinned)
            switch response.status {
            case 200..<300:
                return .sent
            case 410:
                try? store.disableWebhookEndpoint(id: endpoint.id!, reason: "\(url) answered 410 Gone", now: now())
                return .permanent("\(url) answered 410 Gone; endpoint '\(name)' disabled")
            default:
                // 3xx is a failure too: redirects are never followed.
                let retryAfter = response.headers["retry-after"].flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }.map { Duration.seconds($0) }
                return .transient("\(url) answered \(response.status)", retryAfter: retryAfter)
            }
        } catch {
            return .transient("\(error)", retryAfter: nil)
        }
    }
}
