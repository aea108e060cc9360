import Foundation
import RastroCore

/// What a replay found, response by response: `rastro carrier replay` prints it.
public struct ReplayReport: Sendable {
    /// An event as the report shows it; `identity` is what the store deduplicates on.
    public struct Event: Sendable, Hashable, Codable {
        public var identity: String
        public var occurredAt: String
        public var status: String
        public var code: String
        public var description: String
        public var place: String?

        init(_ event: TrackingEvent, carrier: String) {
            identity = event.identity(carrier: carrier)
            occurredAt = event.occurredAt.iso8601
            status = event.status.rawValue
            code = event.code
            description = event.description
            let parts = [event.location?.city, event.location?.state, event.location?.country].compactMap { $0 }
            place = parts.isEmpty ? nil : parts.joined(separator: "/")
        }

        var line: String { "\(occurredAt) \(status) \(code.isEmpty ? "-" : code) \"\(description)\"\(place.map { " @ \($0)" } ?? "")" }
    }

    /// One tracking number of a response.
    public struct Code: Sendable, Codable {
        public var code: String
        /// The number's result in the replay: `tracked`, or the failure kind.
        public var replayedOutcome: String
        public var replayedMessage: String?
        /// Derived from the stored events as of the poll / with the replay's events instead of this poll's.
        public var recordedStatus: String?
        public var replayedStatus: String?
        /// Events the replay finds that are not stored.
        public var wouldAdd: [Event]
        /// Events stored by polls that the replay no longer finds.
        public var wouldLose: [Event]
        /// The store has no shipment for this number (deleted, or never registered).
        public var unknownShipment: Bool

        /// Something differs: events added or lost, or the status.
        public var changed: Bool
    }

    public struct Response: Sendable, Codable {
        public var responseId: Int64
        public var pollId: Int64
        public var receivedAt: String
        public var httpStatus: Int
        /// `tracked` (the poll's outcome `ok`) or the whole response's failure kind, before and after.
        public var recordedOutcome: String
        public var recordedError: String?
        public var recordedScript: String
        public var replayedOutcome: String
        public var replayedError: String?
        public var codes: [Code]

        /// The outcome or any number differs.
        public var changed: Bool
    }

    public struct Summary: Sendable, Codable {
        public var replayed = 0
        public var unchanged = 0
        public var differing = 0
        public var trackedBefore = 0
        public var trackedAfter = 0
        public var brokenBefore = 0
        public var brokenAfter = 0
        public var eventsWouldAdd = 0
        public var eventsWouldLose = 0
        /// Fewer responses understood or more broken than were recorded: the gate of a deploy.
        public var worse = false
    }

    public var carrier: String
    /// The script replayed and its version hash (the one recorded with polls, for the live script).
    public var script: String
    public var scriptVersion: String
    public var responses: [Response] = []

    public var summary: Summary {
        var s = Summary()
        for r in responses {
            s.replayed += 1
            if r.changed { s.differing += 1 } else { s.unchanged += 1 }
            if r.recordedOutcome == "tracked" { s.trackedBefore += 1 }
            if r.replayedOutcome == "tracked" { s.trackedAfter += 1 }
            if r.recordedOutcome == "broken" { s.brokenBefore += 1 }
            if r.replayedOutcome == "broken" { s.brokenAfter += 1 }
            s.eventsWouldAdd += r.codes.reduce(0) { $0 + $1.wouldAdd.count }
            s.eventsWouldLose += r.codes.reduce(0) { $0 + $1.wouldLose.count }
        }
        s.worse = s.trackedAfter < s.trackedBefore || s.brokenAfter > s.brokenBefore
        return s
    }

    /// The differing responses, one block each, then the summary line.
    public func renderedText() -> String {
        var lines = ["replaying \(carrier) with \(script) (version \(scriptVersion)) over \(responses.count) stored responses"]
        for r in responses where r.changed {
            var head = "response \(r.responseId) (poll \(r.pollId), \(r.receivedAt), HTTP \(r.httpStatus), recorded by \(r.recordedScript)): "
            head += r.recordedOutcome == r.replayedOutcome ? r.replayedOutcome : "\(r.recordedOutcome) → \(r.replayedOutcome)"
            lines.append(head)
            if r.recordedOutcome != r.replayedOutcome {
                if let e = r.recordedError { lines.append("    was: \(e)") }
                if let e = r.replayedError { lines.append("    now: \(e)") }
            }
            for c in r.codes where c.changed || c.replayedOutcome != "tracked" {
                var line = "  \(c.code): \(c.replayedOutcome)"
                if let m = c.replayedMessage, c.replayedOutcome != "tracked", r.replayedOutcome == "tracked" { line += " (\(m))" }
                if c.recordedStatus != c.replayedStatus { line += ", status \(c.recordedStatus ?? "none") → \(c.replayedStatus ?? "none")" }
                if c.unknownShipment { line += " (no stored shipment for this number)" }
                lines.append(line)
                for e in c.wouldAdd { lines.append("    would add  \(e.line)") }
                for e in c.wouldLose { lines.append("    would lose \(e.line)") }
            }
        }
        let s = summary
        lines.append("\(s.replayed) responses replayed: \(s.unchanged) unchanged, \(s.differing) differing; "
            + "tracked \(s.trackedBefore) → \(s.trackedAfter), broken \(s.brokenBefore) → \(s.brokenAfter); "
            + "\(s.eventsWouldAdd) events would be added, \(s.eventsWouldLose) lost"
            + (s.worse ? " — WORSE than recorded" : ""))
        return lines.joined(separator: "\n")
    }

    /// One JSON object per response (`{"type": "response", "carrier", "response": {…}}`), then the summary
    /// (`{"type": "summary", "carrier", "script", "script_version", "summary": {…}}`); keys in snake case.
    public func renderedJSONLines() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        struct ResponseLine: Encodable { var type = "response"; var carrier: String; var response: Response }
        struct SummaryLine: Encodable { var type = "summary"; var carrier: String; var script: String; var scriptVersion: String; var summary: Summary }
        var out = try responses.map { String(decoding: try encoder.encode(ResponseLine(carrier: carrier, response: $0)), as: UTF8.self) }
        let last = SummaryLine(carrier: carrier, script: script, scriptVersion: scriptVersion, summary: summary)
        out.append(String(decoding: try encoder.encode(last), as: UTF8.self))
        return out.joined(separator: "\n")
    }
}
