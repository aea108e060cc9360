import ArgumentParser
import Foundation
import RastroCore
import RastroService
import RastroStore

struct CarrierReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a carrier script over its stored responses and show what it would change.",
        discussion: """
        Parses each response rastro stored for the carrier (status, headers, body, the numbers asked for, `now` = when \
        it arrived) with the live script or the candidate given by --script, and compares with what was recorded: \
        the poll's outcome, events the replay finds that are not stored (would add), events stored by polls that it \
        no longer finds (would lose), and the status. Prints the responses that differ and a summary; nothing is written.

        Exit status: 0 when the replay is no worse than what was recorded, 2 when it is worse (fewer responses \
        tracked or more broken), 1 when nothing could be replayed (no responses, a script that does not load). \
        Use it to gate a deploy: `rastro carrier replay correios --script fixed.lua --since 3d && cp fixed.lua carriers/correios/carrier.lua`.
        """
    )

    @Argument(help: "Carrier id.")
    var id: String

    @OptionGroup var range: StoredResponsesOption

    @Option(help: "A candidate script to replay instead of carriers/<id>/carrier.lua (the carriers' _lib is still available).")
    var script: String?

    @Option(name: .long, help: "Data folder: the SQLite database lives in <data>/rastro.sqlite.")
    var data: String = "data"

    @OptionGroup var carriersOption: CarriersOption

    @Flag(help: "One JSON object per response, then a summary object (JSON lines).")
    var json = false

    func run() async throws {
        let now = Timestamp.now
        let since = try range.sinceTimestamp(now: now)
        let store = try CarrierExportCommand.openExisting(data: data)
        let responses = try store.recordedResponses(carrier: id, since: since, limit: range.limit)
        guard !responses.isEmpty else {
            throw ReplayError("no stored responses for carrier '\(id)'\(since.map { " since \($0.iso8601)" } ?? "") in \(store.path)")
        }
        let replay = try CarrierReplay(carrier: id, carriersDirectory: URL(fileURLWithPath: carriersOption.carriers),
                                       candidate: script.map { URL(fileURLWithPath: $0) })
        let report = replay.replay(responses)
        print(json ? try report.renderedJSONLines() : report.renderedText())
        if responses.count == range.limit, !json {
            print("note: stopped at --limit \(range.limit); later responses were not replayed")
        }
        if report.summary.worse { throw ExitCode(2) }
    }
}
