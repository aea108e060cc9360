import ArgumentParser
import Foundation
import RastroCarriers

struct CarrierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carrier",
        abstract: "Work with carrier scripts.",
        subcommands: [CarrierTestCommand.self]
    )
}

struct CarrierTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run carriers' own fixtures and every corpus case through their scripts.",
        discussion: """
        For each carrier: carriers/<id>/tests/<name>.<ext> with <name>.case.json (exact golden output), then,
        when a corpus is present, every body in <corpus>/<id>/ checked against the facts its .expected.json asserts.
        Exit status is non-zero when any case fails.
        """
    )

    @Argument(help: "Carrier ids (default: every carrier).")
    var ids: [String] = []

    @OptionGroup var carriersOption: CarriersOption

    @Option(help: "Corpus folder (default: $RASTRO_CORPUS, else ../shared/corpus when it exists).")
    var corpus: String?

    @Flag(help: "Also list the corpus facts that were not checked.")
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
