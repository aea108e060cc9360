import ArgumentParser
import Foundation
import RastroCarriers
import RastroCore
import RastroStore

struct MerchantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchant",
        abstract: "Merchants and their settings.",
        subcommands: [Polling.self]
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
}
