import ArgumentParser
import Foundation
import RastroCarriers
import RastroCore
import RastroNotify
import RastroStore

struct MerchantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchant",
        abstract: "Merchants and their settings.",
        subcommands: [Polling.self, Webhook.self]
    )

    struct Polling: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Override the poll cadence and window for one merchant's shipments (they beat the carrier's and the platform's).",
            discussion: "Durations like 6h, 90m, 12d12h. Without --every/--window the override is removed. Applies from each shipment's next poll."
        )

        @Argument(help: "Merchant name.") var name: String
        @Option(help: "Time between polls, e.g. 4h.") var every: String?
        @Option(help: "How long after dispatch to keep polling, e.g. 20d.") var window: String?
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            func seconds(_ text: String?, _ flag: String) throws -> Int64? {
                guard let text else { return nil }
                guard let d = DurationText.parse(text) else { throw ValidationError("\(flag): not a duration like 6h or 12d12h: \(text)") }
                return d.wholeSeconds
            }
            let store = try dataOption.openStore()
            let merchant = try store.setMerchantPolling(name: name, every: try seconds(every, "--every"), window: try seconds(window, "--window"), now: .now)
            print("\(merchant.name): every \(merchant.pollEvery.map { "\($0) s" } ?? "carrier default"), window \(merchant.pollWindow.map { "\($0) s" } ?? "carrier default")")
        }
    }

    struct Webhook: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set up a webhook endpoint rules can name (webhook{ endpoint = NAME }); prints its signing secret when new.",
            discussion: """
            The `marketplace` endpoint may have no --url: each shipment's own marketplace endpoint URL is used, signed with
            this endpoint's secret. Receivers verify `webhook-signature` per Standard Webhooks (see README).
            Setting an endpoint again re-enables it after a 410.
            """
        )
        @Argument(help: "Merchant name.") var merchant: String
        @Argument(help: "Endpoint name, e.g. marketplace.") var name: String
        @Option(help: "Receiver URL (https://…).") var url: String?
        @Option(name: .customLong("data"), help: "Data folder.") var data: String = "data"

        func run() async throws {
            if let url, URLComponents(string: url)?.host == nil { throw ValidationError("--url: not a URL: \(url)") }
            let store = try Store.open(directory: URL(fileURLWithPath: data))
            let m = try store.ensureMerchant(name: merchant, now: .now)
            var rng = SystemRandomNumberGenerator()
            let existing = try store.webhookEndpoint(merchantId: m.id!, name: name)
            let endpoint = try store.upsertWebhookEndpoint(merchantId: m.id!, name: name, url: url,
                                                           secret: StandardWebhooks.newSecret(using: &rng), now: .now)
            print("\(merchant)/\(name): \(endpoint.url ?? "the shipment's marketplace endpoint")")
            if existing == nil { print("signing secret (shown once): \(endpoint.secret)") }
        }
    }
}
