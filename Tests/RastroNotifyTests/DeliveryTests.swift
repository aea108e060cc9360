import Foundation
import RastroCore
import RastroNotify
@testable import RastroStore
import RastroTestSupport
import RastroTransport
import Synchronization
import Testing

/// A store with shipments whose changes went through the real rules into the outbox,
/// and a deliverer sending to real servers on loopback.
final class DeliveryHarness: @unchecked Sendable {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-delivery-\(UUID().uuidString)")
    let store: Store
    let rules: RulesEngine
    let templates = TemplateLibrary(directory: repoRules.appendingPathComponent("templates"))
    let inbox = Inbox<OutboxDeliverer.Event>()
    let clock: Mutex<Timestamp>
    let merchant: Merchant

    init(merchantRules: String? = nil) throws {
        store = try Store.open(directory: directory)
        var files = ["default": try String(contentsOf: repoRules.appendingPathComponent("default.lua"), encoding: .utf8)]
        if let merchantRules { files["loja"] = merchantRules }
        rules = try engine(rulesFolder(files))
        clock = Mutex(.now)  // rows are created "now": the give-up clock counts from there
        merchant = try store.ensureMerchant(name: "loja", now: t0)
    }

    var now: Timestamp { clock.withLock { $0 } }

    /// Registers a Correios shipment and records a poll that moves it to out-for-delivery.
    @discardableResult
    func shipmentGoesOutForDelivery(_ number: String, email: String, locale: String, marketplace: String? = nil) async throws -> Int64 {
        let s = try store.registerShipment(NewShipment(carrier: "correios", trackingNumber: number, orderId: "order-\(number.prefix(4))",
                                                       customerEmail: email, customerName: "Ana", customerLocale: locale,
                                                       marketplaceEndpoint: marketplace), merchantId: merchant.id!, now: now)
        _ = try store.claimDue(carrier: "correios", limit: 100, owner: "p", leaseUntil: now + .seconds(60), now: now)
        let result = TrackingResult(status: .outForDelivery, events: [
            event(600, .outForDelivery, "OEC", "Objeto saiu para entrega ao destinatário"),
            event(0, .inTransit, "RO", "Objeto em transferência - por favor aguarde", city: "Curitiba"),
        ])
        let report = PollReport(carrier: "correios", scriptVersion: "v", owner: "p", startedAt: now, durationMs: 1, response: nil,
                                outcome: "ok", error: nil, items: [(shipmentId: s.id!, trackingNumber: number, outcome: .tracked(result))])
        _ = try await store.recordPoll(report, now: now, decide: { _, _ in .pollAt(t0 + .seconds(99_999)) }, notify: rules.notifier)
        return s.id!
    }

    func deliverer(mail: any MailTransport, retryBase: Duration = .seconds(1)) -> OutboxDeliverer {
        var settings = OutboxDeliverer.Settings()
        settings.backoff = Backoff(base: retryBase, cap: .seconds(60))
        settings.allowPrivateWebhooks = true
        settings.tick = .milliseconds(50)
        settings.lease = .seconds(5)
        let inbox = inbox
        return OutboxDeliverer(store: store, templates: templates, mail: mail, settings: settings, now: { .now },
                               onEvent: { inbox.put($0) })
    }

    /// Attempts until `count` rows are sent or failed (or the timeout passes); every attempt seen.
    func attempts(untilSettled count: Int, timeout: Duration = .seconds(30)) async -> [(OutboxRecord, Store.DeliveryResult, Timestamp)] {
        var seen: [(OutboxRecord, Store.DeliveryResult, Timestamp)] = []
        var settled = 0
        let deadline = ContinuousClock.now + timeout
        while settled < count, ContinuousClock.now < deadline {
            guard case .attempted(let row, let result, let at)? = await inbox.next(timeout: deadline - ContinuousClock.now) else { break }
            seen.append((row, result, at))
            if case .retry = result {} else { settled += 1 }
        }
        return seen
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// Parsed with Python's email package: headers and the decoded text part.
func readEmail(_ raw: Data) throws -> (headers: [String: String], text: String) {
    let script = """
    import email, json, sys
    from email.header import decode_header, make_header
    m = email.message_from_bytes(sys.stdin.buffer.read())
    text = next(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type() == 'text/plain')
    print(json.dumps({"headers": {k: str(make_header(decode_header(v))) for k, v in m.items()}, "text": text}))
    """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(raw)
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    return (object["headers"] as? [String: String] ?? [:], object["text"] as? String ?? "")
}

@Suite("Delivery over real SMTP and HTTP", .serialized)
struct DeliveryTests {
    @Test func eachCustomerGetsTheEmailInTheirLanguageWithTheTrackingLinkAndLatestEvent() async throws {
        let smtp = try LoopbackSMTP()
        let h = try DeliveryHarness()
        try await h.shipmentGoesOutForDelivery("SI047624825BR", email: "ana@example.com.br", locale: "pt-BR")
        try await h.shipmentGoesOutForDelivery("SI047624839BR", email: "lucia@example.com.ar", locale: "es")
        try await h.shipmentGoesOutForDelivery("SI047624842BR", email: "john@example.com", locale: "en")
        let deliverer = h.deliverer(mail: SMTPMailTransport(settings: .init(url: smtp.url)))
        let task = Task { await deliverer.run() }
        let attempts = await h.attempts(untilSettled: 3)
        task.cancel()
        await task.value
        #expect(attempts.allSatisfy { if case .sent = $0.1 { true } else { false } }, "\(attempts.map(\.1))")
        let received = try smtp.messages().map(readEmail)
        #expect(received.count == 3)
        let byRecipient = Dictionary(received.map { ($0.headers["To"] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let pt = try #require(byRecipient["ana@example.com.br"])
        #expect(pt.headers["Content-Language"] == "pt-BR")
        #expect(pt.text.contains("Saiu para entrega"))
        #expect(pt.text.contains("https://rastreamento.correios.com.br/app/index.php?objetos=SI047624825BR"))
        #expect(pt.text.contains("Objeto saiu para entrega ao destinatário"))
        #expect(byRecipient["lucia@example.com.ar"]?.headers["Content-Language"] == "es")
        #expect(byRecipient["john@example.com"]?.headers["Content-Language"] == "en")
        let ids = try h.store.outbox(merchantId: h.merchant.id!).filter { $0.kind == .email }.map { "<\($0.messageId)@rastro>" }
        #expect(Set(received.compactMap { $0.headers["Message-ID"] }) == Set(ids))
    }

    @Test func emailsWaitWhileTheSMTPServerIsDownAndGoOutOnceItIsBack() async throws {
        let port = unusedLoopbackPort()
        let h = try DeliveryHarness()
        try await h.shipmentGoesOutForDelivery("SI047624825BR", email: "ana@example.com.br", locale: "pt-BR")
        let deliverer = h.deliverer(mail: SMTPMailTransport(settings: .init(url: "smtp://127.0.0.1:\(port)", timeout: 5)))
        let task = Task { await deliverer.run() }
        // Two refused attempts, then the server comes up on that port.
        var refused = 0
        while refused < 2 {
            guard case .attempted(_, let result, _)? = await h.inbox.next(timeout: .seconds(20)) else { break }
            if case .retry = result { refused += 1 }
        }
        #expect(refused == 2)
        let smtp = try LoopbackSMTP(port: port)
        let rest = await h.attempts(untilSettled: 1)
        task.cancel()
        await task.value
        #expect(rest.contains { if case .sent = $0.1 { true } else { false } })
        #expect(smtp.messages().count == 1)
        let row = try #require(try h.store.outbox(merchantId: h.merchant.id!).first { $0.kind == .email })
        #expect(row.status == .sent && row.attempts >= 3)
        #expect(try h.store.deliveryAttempts(outboxId: row.id!).map(\.outcome).suffix(1) == [.sent])
    }

    @Test func aMessageAcceptedButNotMarkedSentIsSentAgainWithTheSameMessageID() async throws {
        let smtp = try LoopbackSMTP()
        let h = try DeliveryHarness()
        try await h.shipmentGoesOutForDelivery("SI047624825BR", email: "ana@example.com.br", locale: "pt-BR")
        // The first process claims the row and the server accepts the message; the process dies before recording it.
        let crashed = h.deliverer(mail: SMTPMailTransport(settings: .init(url: smtp.url)))
        let claimed = try await h.store.claimDueOutbox(limit: 10, owner: crashed.owner, leaseUntil: .now + .seconds(1), now: .now)
        let row = try #require(claimed.first)
        let mail = SMTPMailTransport(settings: .init(url: smtp.url))
        try await mail.send(EmailMessage(from: "rastro <rastro@localhost>", to: row.recipient!, subject: "s", text: "t", html: "h",
                                         messageID: row.messageId + "@rastro", date: .now, locale: "pt-BR", template: row.template!))
        #expect(smtp.messages().count == 1)
        // After the lease, the next process sends it again: at least once, same Message-ID.
        try await Task.sleep(for: .seconds(1.2))
        let restarted = h.deliverer(mail: mail)
        let task = Task { await restarted.run() }
        _ = await h.attempts(untilSettled: 1)
        task.cancel()
        await task.value
        let ids = try smtp.messages().map { try readEmail($0).headers["Message-ID"] ?? "" }
        #expect(ids.count == 2 && ids[0] == ids[1] && ids[0] == "<\(row.messageId)@rastro>")
    }

    @Test func aWebhookAnswered500TwiceIsDeliveredOnTheThirdTryWithAVerifiableSignature() async throws {
        let receiver = try LoopbackCarrier(routes: [["method": "POST", "path": "/hooks", "sequence": [["status": 500], ["status": 500], ["status": 200]]]])
        let h = try DeliveryHarness()
        let endpoint = try h.store.upsertWebhookEndpoint(merchantId: h.merchant.id!, name: "marketplace", url: receiver.baseURL + "/hooks",
                                                         secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now: t0)
        try await h.shipmentGoesOutForDelivery("SI047624825BR", email: "ana@example.com.br", locale: "pt-BR")
        let deliverer = h.deliverer(mail: FileMailTransport(folder: h.directory.appendingPathComponent("mail")), retryBase: .seconds(2))
        let task = Task { await deliverer.run() }
        let attempts = await h.attempts(untilSettled: 2)  // the email (to files) and the webhook
        task.cancel()
        await task.value
        let webhook = attempts.filter { $0.0.kind == .webhook }
        #expect(webhook.map { if case .sent = $0.1 { "sent" } else { "retry" } } == ["retry", "retry", "sent"])
        let requests = receiver.requests()
        #expect(requests.count == 3)
        // Same id each time; each signature verifies against the endpoint's secret.
        let ids = Set(requests.compactMap { ($0["headers"] as? [String: String])?["webhook-id"] })
        #expect(ids.count == 1)
        for request in requests {
            let headers = request["headers"] as? [String: String] ?? [:]
            let body = Array((request["body"] as? String ?? "").utf8)
            let ts = Int64(headers["webhook-timestamp"] ?? "") ?? 0
            try StandardWebhooks.verify(body: body, headers: headers, secret: endpoint.secret, now: Timestamp(secondsSinceEpoch: ts))
        }
        let payload = try #require(try JSONSerialization.jsonObject(with: Data((requests.last?["body"] as? String ?? "").utf8)) as? [String: Any])
        #expect(payload["type"] as? String == "shipment.status_changed")
        #expect((payload["data"] as? [String: Any])?["status"] as? String == "out_for_delivery")
        // The retries followed the backoff (2 s doubling, equal jitter; whole-second clock): [1, 2] s, then [2, 4] s.
        let gaps = webhook.compactMap { attempt -> Int64? in if case .retry(let at, _) = attempt.1 { (at - attempt.2).wholeSeconds } else { nil } }
        #expect(gaps.count == 2 && (0...2).contains(gaps[0]) && (1...4).contains(gaps[1]), "\(gaps)")
        let row = try #require(try h.store.outbox(merchantId: h.merchant.id!).first { $0.kind == .webhook })
        #expect(row.status == .sent && row.attempts == 3)
    }

    @Test func a410DisablesTheEndpointAndARedirectIsNotFollowed() async throws {
        let receiver = try LoopbackCarrier(routes: [
            ["method": "POST", "path": "/gone", "status": 410],
            ["method": "POST", "path": "/moved", "status": 301, "headers": ["location": "http://127.0.0.1:9/elsewhere"]],
        ])
        let h = try DeliveryHarness()
        _ = try h.store.upsertWebhookEndpoint(merchantId: h.merchant.id!, name: "marketplace", url: receiver.baseURL + "/gone",
                                              secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now: t0)
        try await h.shipmentGoesOutForDelivery("SI047624825BR", email: "", locale: "pt-BR")
        let deliverer = h.deliverer(mail: FileMailTransport(folder: h.directory.appendingPathComponent("mail")))
        let task = Task { await deliverer.run() }
        let attempts = await h.attempts(untilSettled: 1)
        #expect(attempts.last.map { if case .failed(let e) = $0.1 { e.contains("410") } else { false } } == true)
        #expect(try h.store.webhookEndpoint(merchantId: h.merchant.id!, name: "marketplace")?.disabledAt != nil)
        // A shipment whose marketplace URL redirects: the 301 is a failure to retry, never followed.
        _ = try h.store.upsertWebhookEndpoint(merchantId: h.merchant.id!, name: "marketplace", url: nil,
                                              secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now: t0)
        try await h.shipmentGoesOutForDelivery("SI047624839BR", email: "", locale: "pt-BR", marketplace: receiver.baseURL + "/moved")
        deliverer.wake()
        let next = await h.inbox.next(timeout: .seconds(20))
        task.cancel()
        await task.value
        guard case .attempted(_, .retry(_, let error), _)? = next else { Issue.record("\(String(describing: next))"); return }
        #expect(error.contains("301"))
        #expect(receiver.requests().filter { ($0["path"] as? String) == "/moved" }.count == 1)
    }

    @Test func theSameChangeRecordedTwiceWritesOneNotificationPerIntent() async throws {
        let h = try DeliveryHarness()
        _ = try h.store.upsertWebhookEndpoint(merchantId: h.merchant.id!, name: "marketplace", url: "https://example.com/hooks",
                                              secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now: t0)
        let id = try await h.shipmentGoesOutForDelivery("SI047624825BR", email: "ana@example.com.br", locale: "pt-BR")
        #expect(try h.store.outbox(merchantId: h.merchant.id!).count == 2)  // email + webhook
        // The same change handed to the outbox again (a retried transaction, a push repeating a poll).
        let c = ShipmentChange(shipment: try h.store.shipment(id: id, merchantId: h.merchant.id!)!, merchant: h.merchant, from: .pending,
                               to: .outForDelivery, newEvents: [event(600, .outForDelivery, "OEC", "Objeto saiu para entrega ao destinatário"),
                                                                event(0, .inTransit, "RO", "Objeto em transferência - por favor aguarde", city: "Curitiba")].reversed(),
                               timeline: [], at: t0)
        let inserted = try await h.store.pool.write { db in
            try Store.insertOutbox(h.rules.intents(for: c, now: t0), changeKey: c.key(carrier: "correios"), merchantId: h.merchant.id!,
                                   shipmentId: id, now: t0, db: db)
        }
        #expect(inserted == 0)
        #expect(try h.store.outbox(merchantId: h.merchant.id!).count == 2)
    }

    @Test func aLoopingMerchantRuleStillStoresTheChangeAndTheDefaultNotificationsGoOut() async throws {
        let h = try DeliveryHarness(merchantRules: "return { on_change = function(ctx) while true do end end }")
        let id = try await h.shipmentGoesOutForDelivery("SI047624825BR", email: "ana@example.com.br", locale: "pt-BR")
        #expect(try h.store.shipment(id: id, merchantId: h.merchant.id!)?.status == .outForDelivery)
        #expect(try h.store.events(shipmentId: id).count == 2)
        #expect(try h.store.outbox(merchantId: h.merchant.id!).map { $0.template ?? $0.event ?? "" } == ["out_for_delivery"])
    }
}
