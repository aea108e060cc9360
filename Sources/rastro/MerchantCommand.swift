import ArgumentParser
import Foundation
import RastroCarriers
import RastroCore
import RastroNotify
import RastroServer
import RastroStore

struct MerchantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchant",
        abstract: "Merchants and their settings.",
        subcommands: [Add.self, Key.self, Revoke.self, Polling.self, Webhook.self]
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

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a merchant and print its first API key (shown once; only a hash is kept).")
        @Argument(help: "Merchant name (also the rules file name: rules/<name>.lua).") var name: String
        @Option(help: "Default email locale for customers without one, e.g. pt-BR.") var locale: String?
        @Option(name: .customLong("data"), help: "Data folder.") var data: String = "data"

        func run() async throws {
            guard name.range(of: "^[a-z0-9][a-z0-9_-]{0,99}$", options: .regularExpression) != nil else {
                throw ValidationError("a merchant name is lowercase letters, digits, _ and -, starting with a letter or digit (it names rules/<name>.lua; names starting with _ are reserved, like _operator)")
            }
            let store = try Store.open(directory: URL(fileURLWithPath: data))
            let merchant: Merchant
            do { merchant = try store.addMerchant(name: name, now: .now, defaultLocale: locale) } catch let e as StoreError where e.isConflict {
                throw ValidationError(e.description)
            }
            print("merchant \(merchant.name) created")
            print("API key (shown once): \(try APIKeys.create(merchantId: merchant.id, name: "first key", store: store, now: .now))")
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue another API key for a merchant, or with --operator a key for cross-merchant reads.")
        @Argument(help: "Merchant name (omit with --operator).") var name: String?
        @Flag(help: "An operator key: reads every merchant's shipments, writes nothing.") var `operator` = false
        @Option(help: "A label for the key.") var label: String = "key"
        @Option(name: .customLong("data"), help: "Data folder.") var data: String = "data"

        func run() async throws {
            let store = try Store.open(directory: URL(fileURLWithPath: data))
            if `operator` {
                print("operator API key (shown once): \(try APIKeys.create(merchantId: nil, name: label, store: store, now: .now))")
                return
            }
            guard let name, let merchant = try store.merchant(named: name) else { throw ValidationError("no such merchant; `rastro merchant add NAME` first") }
            print("API key (shown once): \(try APIKeys.create(merchantId: merchant.id, name: label, store: store, now: .now))")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key by its prefix (the part after rk_).")
        @Argument(help: "Key prefix, e.g. 3f9a0c1b2d4e.") var prefix: String
        @Option(name: .customLong("data"), help: "Data folder.") var data: String = "data"

        func run() async throws {
            let store = try Store.open(directory: URL(fileURLWithPath: data))
            guard try store.revokeAPIKey(prefix: prefix, now: .now) else { throw ValidationError("no active key with prefix \(prefix)") }
            print("key rk_\(prefix)_… revoked")
        }
    }
}
