import ArgumentParser
import Foundation
import Logging
import RastroCarriers
import RastroScripting

struct CarrierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carrier",
        abstract: "Work with carrier scripts.",
        subcommands: [CarrierTestCommand.self, CarrierDetectCommand.self, CarrierBenchCommand.self, CarrierFuzzCommand.self,
                      CarrierReplayCommand.self, CarrierExportCommand.self]
    )
}

struct CarrierTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run carriers' own fixtures and every corpus case through their scripts.",
        discussion: """
        For each carrier: carriers/<id>/tests/<name>.<ext> with <name>.case.json (exact golden output), then,
        when a corpus is present, every body in <corpus>/<id>/ checked against the facts its .expected.json asserts.
        A fact a source got wrong is checked against its erratum (Sources/RastroCarriers/CorpusErrata.swift);
        the case's line names it and the last line counts them. Exit status is non-zero when any case fails.
        """
    )

    @Argument(help: "Carrier ids (default: every carrier).")
    var ids: [String] = []

    @OptionGroup var carriersOption: CarriersOption

    @Option(help: "Corpus folder (default: $RASTRO_CORPUS, else ../shared/corpus when it exists).")
    var corpus: String?

    @Flag(help: "Also list each erratum's reason and the corpus facts that were not checked.")
    var verbose = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var corpusURL: URL?
        if let path = corpus ?? env["RASTRO_CORPUS"] {
            corpusURL = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("corpus folder \(path) does not exist")
            }
        } else if FileManager.default.fileExists(atPath: "../shared/corpus") {
            corpusURL = URL(fileURLWithPath: "../shared/corpus")
        } else {
            print("note: no corpus found (../shared/corpus, --corpus, RASTRO_CORPUS); running fixtures only")
        }
        let runner = CarrierTestRunner(carriersDirectory: URL(fileURLWithPath: carriersOption.carriers), corpusDirectory: corpusURL)
        let report = try runner.run(ids: ids)
        print(report.rendered(verbose: verbose))
        if report.failed > 0 || report.cases.isEmpty && report.loadErrors.isEmpty && !ids.isEmpty { throw ExitCode.failure }
    }
}

struct CarrierDetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "List the carriers whose validate accepts a tracking number, best first (check digit before format only)."
    )

    @Argument(help: "A tracking number.")
    var code: String

    @OptionGroup var carriersOption: CarriersOption

    func run() async throws {
        let vm = try LuaVM.sandboxed()
        let (detector, errors) = CarrierDetector.loading(from: URL(fileURLWithPath: carriersOption.carriers), on: vm)
        for error in errors { FileHandle.standardError.write(Data("warning: \(error)\n".utf8)) }
        let matches = detector.detect(code)
        if matches.isEmpty {
            print("no carrier accepts \(code)")
            throw ExitCode.failure
        }
        for m in matches {
            print("\(m.id.padding(toLength: 16, withPad: " ", startingAt: 0)) \(m.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(m.checkDigitVerified ? "check digit" : "format only")")
        }
    }
}

struct CarrierBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Median microseconds per parse for every fixture and corpus body, per carrier."
    )

    @Argument(help: "Carrier ids (default: every carrier).")
    var ids: [String] = []

    @OptionGroup var carriersOption: CarriersOption

    @Option(help: "Corpus folder (default: $RASTRO_CORPUS, else ../shared/corpus when it exists).")
    var corpus: String?

    @Option(help: "Timed runs per body (after 10 warm-up runs).")
    var runs = 200

    @Flag(help: "One JSON object with every body's median instead of the table (for bench/karrio_compare.sh).")
    var json = false

    func run() async throws {
        // Each body is parsed 210 times: a script's log.warn about a body (an error response,
        // say) would print 210 times and bury the table. Errors still show.
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let path = corpus ?? ProcessInfo.processInfo.environment["RASTRO_CORPUS"] ?? "../shared/corpus"
        let corpusURL = FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
        let rows = try ParseBenchmark(carriersDirectory: URL(fileURLWithPath: carriersOption.carriers), corpusDirectory: corpusURL, runs: runs).run(ids: ids)
        if json {
            let bodies: [[String: Any]] = rows.map { r in
                ["carrier": r.carrier, "body": r.name, "bytes": r.bytes,
                 "median_us": r.failed == nil ? r.medianMicroseconds as Any : NSNull(), "error": r.failed.map { $0 as Any } ?? NSNull()]
            }
            let object: [String: Any] = ["runs": runs, "bodies": bodies]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("carrier          body                                                   bytes   median µs")
        for r in rows {
            let us = r.failed == nil ? String(format: "%9.1f", r.medianMicroseconds) : "   failed"
            print("\(r.carrier.padding(toLength: 16, withPad: " ", startingAt: 0)) \(r.name.padding(toLength: 52, withPad: " ", startingAt: 0)) \(String(r.bytes).leftPadded(7)) \(us)")
        }
        let byCarrier = Dictionary(grouping: rows.filter { $0.failed == nil }, by: \.carrier)
        print("")
        print("per carrier: median of the bodies' medians (bodies under 10 KB)")
        for (carrier, list) in byCarrier.sorted(by: { $0.key < $1.key }) {
            let small = list.filter { $0.bytes < 10_240 }.map(\.medianMicroseconds).sorted()
            guard !small.isEmpty else { continue }
            print("  \(carrier.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(format: "%7.1f", small[small.count / 2])) µs  (\(small.count) bodies)")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

struct CarrierFuzzCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Feed every carrier's parse damaged copies of its bodies; any script error or limit breach is a finding."
    )

    @Argument(help: "Carrier ids (default: every carrier).")
    var ids: [String] = []

    @OptionGroup var carriersOption: CarriersOption

    @Option(help: "Corpus folder (default: $RASTRO_CORPUS, else ../shared/corpus when it exists).")
    var corpus: String?

    @Option(help: "Inputs in all.")
    var inputs = 100_000

    @Option(help: "Seed of the mutations.")
    var seed: UInt64 = 0x5EED

    func run() async throws {
        let path = corpus ?? ProcessInfo.processInfo.environment["RASTRO_CORPUS"] ?? "../shared/corpus"
        let corpusURL = FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
        let start = ContinuousClock.now
        let report = try ParseFuzzer(carriersDirectory: URL(fileURLWithPath: carriersOption.carriers), corpusDirectory: corpusURL, seed: seed)
            .run(ids: ids, inputs: inputs)
        for f in report.findings.prefix(20) { print("FINDING \(f.carrier) \(f.source) (\(f.mutation)): \(f.error)") }
        if report.findings.count > 20 { print("... \(report.findings.count - 20) more findings") }
        for (carrier, n) in report.perCarrier.sorted(by: { $0.key < $1.key }) { print("  \(carrier): \(n) inputs") }
        print("\(report.inputs) inputs in \(ContinuousClock.now - start): \(report.results) results, \(report.typedFailures) whole-response failures, \(report.findings.count) findings (seed \(seed))")
        if !report.findings.isEmpty { throw ExitCode.failure }
    }
}
