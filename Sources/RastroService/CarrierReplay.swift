import Foundation
import RastroCarriers
import RastroCore
import RastroScripting
import RastroStore

/// Re-runs a carrier's `parse` — the live script or a candidate fix — over the
/// responses the store kept, and compares what it finds with what was recorded.
///
/// Each response is parsed as the live poll did: the stored status, headers and
/// inflated body, the codes the request asked for, and a context whose `now` is
/// when the response arrived. Whatever the script does (raise, loop, return
/// garbage) becomes a `broken` result for that response; nothing is written.
public final class CarrierReplay {
    public let carrier: String
    /// The script as shown in the report, and its version hash (the live script's matches its recorded polls).
    public let scriptFile: String
    public let scriptVersion: String
    private let script: CarrierScript

    /// Loads `<carriers>/<id>/carrier.lua`, or the candidate at `candidate` under the carrier's id,
    /// with the carriers' `_lib` libraries either way (as a live load has them).
    public init(carrier: String, carriersDirectory: URL, candidate: URL? = nil) throws {
        self.carrier = carrier
        let url = candidate ?? carriersDirectory.appendingPathComponent(carrier).appendingPathComponent("carrier.lua")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ReplayError(candidate == nil ? "carrier '\(carrier)' has no script at \(url.path)" : "cannot read the script \(url.path)")
        }
        let source = String(decoding: data, as: UTF8.self)
        let libraries = CarrierRegistry.readLibraries(carriersDirectory.appendingPathComponent("_lib"))
        let file = candidate?.path ?? "\(carriersDirectory.lastPathComponent)/\(carrier)/carrier.lua"
        let vm = try LuaVM.sandboxed()
        vm.librarySources = libraries
        do {
            script = try CarrierScript.load(source: source, file: file, folderID: carrier, on: vm)
        } catch {
            throw ReplayError("the script did not load, so nothing was replayed: \(error)")
        }
        scriptFile = file
        scriptVersion = CarrierVersion.hash(source: source, libraries: libraries)
    }

    /// Replays every response, in the order given.
    public func replay(_ responses: [RecordedResponse]) -> ReplayReport {
        var report = ReplayReport(carrier: carrier, script: scriptFile, scriptVersion: scriptVersion)
        report.responses = responses.map(replay)
        return report
    }

    public func replay(_ stored: RecordedResponse) -> ReplayReport.Response {
        let recordedOutcome = stored.poll.outcome == "ok" ? "tracked" : stored.poll.outcome
        var output: ParseOutput
        do {
            let body = try stored.response.inflatedBody()
            let response = HTTPResponse(status: stored.response.httpStatus, headers: stored.headers, body: body)
            let context = CarrierContext(now: stored.response.receivedAt,
                                         dispatchedAt: stored.shipments.mapValues(\.dispatchedAt))
            output = try script.parse(response, codes: stored.codes, context: context)
        } catch {
            // As a live poll counts it: a script that raises, loops or returns garbage is broken.
            output = .whole(CarrierFailure(kind: .broken, message: "\(error)"))
        }
        let replayedOutcome: String
        let replayedError: String?
        switch output {
        case .whole(let failure): (replayedOutcome, replayedError) = (failure.kind.rawValue, failure.message)
        case .perCode: (replayedOutcome, replayedError) = ("tracked", nil)
        }
        var codes = stored.codes
        if codes.isEmpty, case .perCode(let results, _) = output { codes = results.keys.sorted() }
        let compared = codes.map { compare(code: $0, outcome: output.outcome(for: $0), stored: stored) }
        return ReplayReport.Response(
            responseId: stored.response.id ?? 0, pollId: stored.poll.id ?? 0, receivedAt: stored.response.receivedAt.iso8601,
            httpStatus: stored.response.httpStatus, recordedOutcome: recordedOutcome, recordedError: stored.poll.error,
            recordedScript: stored.poll.scriptVersion, replayedOutcome: replayedOutcome, replayedError: replayedError,
            codes: compared, changed: recordedOutcome != replayedOutcome || compared.contains(where: \.changed))
    }

    /// One number: the replay's events against those stored as of the poll.
    func compare(code: String, outcome: CarrierOutcome, stored: RecordedResponse) -> ReplayReport.Code {
        let shipment = stored.shipments[code]
        let recordedEvents = shipment?.events ?? []
        let storedIdentities = Set(recordedEvents.map(\.identity))
        var replayedEvents: [TrackingEvent] = []
        var label = "tracked", message: String?
        switch outcome {
        case .tracked(let result): replayedEvents = result.events
        case .failed(let failure): (label, message) = (failure.kind.rawValue, failure.message)
        }
        var seen = Set<String>()
        let wouldAdd = replayedEvents.filter { e in
            let id = e.identity(carrier: carrier)
            return !storedIdentities.contains(id) && seen.insert(id).inserted
        }
        // A failed number stores nothing and deletes nothing: only an answer can miss an event.
        let replayedIdentities = Set(replayedEvents.map { $0.identity(carrier: carrier) })
        let wouldLose = label == "tracked"
            ? recordedEvents.filter { $0.source == .poll && !replayedIdentities.contains($0.identity) } : []
        var recordedStatus: TrackingStatus?, replayedStatus: TrackingStatus?
        if shipment != nil {
            recordedStatus = ShipmentStatus.derive(from: recordedEvents.map(\.event))
            // Had this script run, this poll's own events would be the replay's instead.
            var counterfactual = recordedEvents.filter { $0.pollId != stored.poll.id }.map(\.event)
            let kept = Set(counterfactual.map { $0.identity(carrier: carrier) })
            counterfactual += replayedEvents.filter { !kept.contains($0.identity(carrier: carrier)) }
            replayedStatus = ShipmentStatus.derive(from: counterfactual.sorted { $0.occurredAt > $1.occurredAt })
        }
        let add = wouldAdd.map { ReplayReport.Event($0, carrier: carrier) }
        let lose = wouldLose.map { ReplayReport.Event($0.event, carrier: carrier) }
        return ReplayReport.Code(
            code: code, replayedOutcome: label, replayedMessage: message,
            recordedStatus: recordedStatus?.rawValue, replayedStatus: replayedStatus?.rawValue,
            wouldAdd: add, wouldLose: lose, unknownShipment: shipment == nil,
            changed: !add.isEmpty || !lose.isEmpty || recordedStatus != replayedStatus)
    }
}

/// Why a replay or an export could not run.
public struct ReplayError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
