import ArgumentParser
import Foundation
import RastroCarriers
import RastroCore
import RastroScripting
import RastroTransport

struct TrackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "track",
        abstract: "Poll a carrier once, live, and print the normalized timeline.",
        discussion: """
        Configuration comes from the environment: RASTRO_<CARRIER>_<KEY>=value becomes config.<key> for the
        script, e.g. RASTRO_CORREIOS_BASE_URL=http://127.0.0.1:8080 RASTRO_CORREIOS_USER=... ; --set key=value
        overrides it. A configured base_url's host is added to the carrier's allowed hosts.
        """
    )

    @Argument(help: "Carrier id, e.g. correios.")
    var carrier: String

    @Argument(help: "Tracking numbers (several are sent in one request when the carrier batches).")
    var codes: [String]

    @OptionGroup var carriersOption: CarriersOption

    @Option(name: .customLong("set"), help: "Configuration for the script, key=value (repeatable).")
    var settings: [String] = []

    @Flag(help: "Print the normalized result as JSON.")
    var json = false

    func run() async throws {
        let vm = try LuaVM.sandboxed()
        let script = try CarrierScript.load(id: carrier, carriersDirectory: URL(fileURLWithPath: carriersOption.carriers), on: vm)
        var config = CarrierConfig.fromEnvironment(carrier: carrier)
        for setting in settings {
            guard let eq = setting.firstIndex(of: "=") else { throw ValidationError("--set expects key=value, got \(setting)") }
            config[String(setting[..<eq])] = String(setting[setting.index(after: eq)...])
        }
        let normalized = codes.map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        for code in normalized {
            let validation = try script.validate(code)
            if !validation.isValid {
                throw ValidationError("\(code) is not a valid \(script.definition.name) number: \(validation.reason ?? "rejected by validate")")
            }
        }
        let now = Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970))
        let output = try await LivePoll(carrier: script, client: CurlHTTPClient(), config: config).track(normalized, now: now)
        if json {
            print(output.json.prettyPrinted())
        } else {
            print(TimelinePrinter.render(output, codes: normalized, definition: script.definition))
        }
        if case .whole = output { throw ExitCode(2) }
    }
}

enum TimelinePrinter {
    static func render(_ output: ParseOutput, codes: [String], definition: CarrierDefinition) -> String {
        var lines: [String] = []
        let shown = codes.isEmpty ? { if case .perCode(let r, _) = output { return r.keys.sorted() } else { return [] } }() : codes
        if case .whole(let f) = output {
            return "\(definition.name): \(f.kind.rawValue)\(f.message.map { ": \($0)" } ?? "")"
        }
        for code in shown {
            switch output.outcome(for: code) {
            case .failed(let f):
                lines.append("\(code)  \(f.kind.rawValue)\(f.message.map { ": \($0)" } ?? "")")
            case .tracked(let r):
                let others = output.shipments(for: code).count - 1
                lines.append("\(code)  \(r.status.rawValue)\(definition.trackingURL(for: code).map { "  \($0)" } ?? "")"
                             + (others > 0 ? "  (the newest of \(others + 1) shipments under this number)" : ""))
                for e in r.events {
                    let local = EventZone.local(e)
                    let code = e.subcode.map { "\(e.code)/\($0)" } ?? e.code
                    let place = e.location?.summary ?? ""
                    lines.append("  \(local.date) \(local.time)  \(e.status.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(code.padding(toLength: 7, withPad: " ", startingAt: 0)) \(e.description)\(place.isEmpty ? "" : " — \(place)")")
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
