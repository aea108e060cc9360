import ArgumentParser
import Foundation
import RastroCore
import RastroStore

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Notifications: what was sent, what waits, what failed; re-send.",
        subcommands: [List.self, Resend.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Newest notifications first, one line each.")
        @Option(help: "pending, sent or failed.") var status: String?
        @Option(help: "How many.") var limit: Int = 50
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            let store = try dataOption.openStore()
            guard let merchant = try store.merchant(named: dataOption.merchant) else { return }
            var filter: OutboxRecord.Status?
            if let status {
                guard let s = OutboxRecord.Status(rawValue: status) else { throw ValidationError("--status: pending, sent or failed") }
                filter = s
            }
            for row in try store.outbox(merchantId: merchant.id!, status: filter, limit: limit) {
                let what = row.kind == .email ? "email \(row.template ?? "") to \(row.recipient ?? "")" : "webhook \(row.endpoint ?? "") \(row.event ?? "")"
                let when = row.sentAt.map { "sent \($0.iso8601)" } ?? row.failedAt.map { "failed \($0.iso8601)" } ?? row.nextAttemptAt.map { "next \($0.iso8601)" } ?? ""
                print([String(row.id!), row.status.rawValue, what, "attempts \(row.attempts)", when, row.lastError ?? ""].joined(separator: "\t"))
            }
        }
    }

    struct Resend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a notification again, with the same Message-ID / webhook-id.")
        @Argument(help: "Notification id (from `rastro outbox list`).") var id: Int64
        @OptionGroup var dataOption: DataOption

        func run() async throws {
            let store = try dataOption.openStore()
            guard let merchant = try store.merchant(named: dataOption.merchant) else { throw ValidationError("no merchant \(dataOption.merchant)") }
            do {
                let row = try store.resend(outboxId: id, merchantId: merchant.id!, now: .now)
                print("notification \(row.id!) queued again (id \(row.messageId))")
            } catch let e as StoreError where e.isNotFound {
                throw ValidationError(e.description)
            }
        }
    }
}
