import Foundation
import RastroCore
import RastroScripting

/// Runs carriers' golden fixtures and the shared corpus through their scripts.
public struct CarrierTestRunner {
    public struct CaseReport: Sendable {
        public enum Source: String, Sendable { case fixture, corpus }
        public var carrier: String
        public var source: Source
        public var name: String
        /// Empty when the case passed.
        public var problems: [String]
        public var unchecked: [String]
        /// Facts checked against an erratum instead of the corpus (see `CorpusErrata`).
        public var errata: [CorpusErratum] = []
        public var passed: Bool { problems.isEmpty }
    }

    public struct Report: Sendable {
        public var cases: [CaseReport] = []
        /// Carriers that could not be loaded at all.
        public var loadErrors: [String] = []
        public var passed: Int { cases.filter(\.passed).count }
        public var failed: Int { cases.count - passed + loadErrors.count }
        /// Facts, over all cases, checked against an erratum instead of the corpus.
        public var factsByErratum: Int { cases.reduce(0) { $0 + $1.errata.count } }
    }

    public var carriersDirectory: URL
    public var corpusDirectory: URL?
    /// Corpus facts a source got wrong, and what rastro asserts instead.
    public var errata: [CorpusErratum] = CorpusErrata.all
    /// A fixed "now" so results do not depend on the day the tests run.
    public var now = Timestamp(iso8601: "2026-01-01T00:00:00Z")!

    public init(carriersDirectory: URL, corpusDirectory: URL?) {
        self.carriersDirectory = carriersDirectory
        self.corpusDirectory = corpusDirectory
    }

    /// Carrier ids: folders holding a carrier.lua.
    public static func carrierIDs(in directory: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).appendingPathComponent("carrier.lua").path) }.sorted()
    }

    public func run(ids requested: [String]) throws -> Report {
        let ids = requested.isEmpty ? Self.carrierIDs(in: carriersDirectory) : requested
        let vm = try LuaVM.sandboxed()
        var report = Report()
        for id in ids {
            let carrier: CarrierScript
            do {
                carrier = try CarrierScript.load(id: id, carriersDirectory: carriersDirectory, on: vm)
            } catch {
                report.loadErrors.append("\(id): \(error)")
                continue
            }
            let fixtures: [CarrierCase]
            do {
                fixtures = try CarrierCase.fixtures(in: carriersDirectory.appendingPathComponent(id).appendingPathComponent("tests"))
            } catch {
                report.loadErrors.append("\(id): \(error)")
                continue
            }
            for c in fixtures { report.cases.append(run(c, on: carrier, source: .fixture)) }
            if let corpus = corpusDirectory?.appendingPathComponent(id) {
                let cases = (try? CarrierCase.corpus(in: corpus)) ?? []
                for c in cases { report.cases.append(run(c, on: carrier, source: .corpus)) }
                // An erratum whose corpus case is gone (or lost its .expected.json) is stale.
                let asserted = Set(cases.compactMap { c -> String? in
                    if case .corpus = c.expectation { return "\(id)/\(c.name)" } else { return nil }
                })
                for e in errata where e.carrier == id && !asserted.contains(e.file) {
                    report.loadErrors.append("\(id): erratum for \(e.file) \(e.fact): the corpus has no such case with an .expected.json")
                }
            }
        }
        return report
    }

    func run(_ c: CarrierCase, on carrier: CarrierScript, source: CaseReport.Source) -> CaseReport {
        var report = CaseReport(carrier: carrier.definition.id, source: source, name: c.name, problems: [], unchecked: [])
        let contentType = c.name.hasSuffix(".xml") ? "text/xml" : c.name.hasSuffix(".html") ? "text/html" : "application/json"
        let response = HTTPResponse(status: c.httpStatus, headers: ["content-type": contentType], body: Array(c.body))
        let output: ParseOutput
        do {
            output = try carrier.parse(response, codes: c.codes, context: CarrierContext(now: now))
        } catch {
            report.problems = ["parse failed: \(error)"]
            return report
        }
        switch c.expectation {
        case .golden(let expected):
            report.problems = expected.differences(from: output.json).map(\.description)
        case .corpus(let expected):
            let verdict = CorpusVocabulary.check(expected, against: output, source: c.name,
                                                 errata: CorpusErrata.errata(for: "\(carrier.definition.id)/\(c.name)", in: errata))
            report.problems = verdict.mismatches
            report.unchecked = verdict.unchecked
            report.errata = verdict.errata
        case .parsesWithoutError:
            break
        }
        return report
    }
}

extension CarrierTestRunner.Report {
    /// A fact's value on one line: lists by their length.
    static func brief(_ value: JSONValue) -> String {
        if let a = value.arrayValue, !a.isEmpty { return "a list of \(a.count)" }
        return value.description
    }

    /// What `rastro carrier test` prints.
    public func rendered(verbose: Bool = false) -> String {
        var lines: [String] = []
        for error in loadErrors { lines.append("FAIL  \(error)") }
        for c in cases {
            let where_ = c.source == .corpus ? "corpus/\(c.carrier)/\(c.name)" : "carriers/\(c.carrier)/\(c.name)"
            // Errata are never a silent pass: named on the case's line, their reasons listed.
            let errataNote = c.errata.isEmpty ? "" :
                "\(c.errata.count) fact\(c.errata.count == 1 ? "" : "s") by erratum: \(c.errata.map(\.fact).joined(separator: ", "))"
            let erratumLines = c.errata.map { "        erratum: \($0.fact) = \(Self.brief($0.rastro)) (source: \(Self.brief($0.corpus))): \($0.reason)" }
            if c.passed {
                let notes = [errataNote, c.unchecked.isEmpty ? "" : "\(c.unchecked.count) fact\(c.unchecked.count == 1 ? "" : "s") not checked"]
                    .filter { !$0.isEmpty }
                lines.append("ok    \(where_)" + (notes.isEmpty ? "" : "  (\(notes.joined(separator: "; ")))"))
                if verbose {
                    lines += erratumLines
                    for u in c.unchecked { lines.append("        unchecked: \(u)") }
                }
            } else {
                lines.append("FAIL  \(where_)")
                for p in c.problems { lines.append("        \(p)") }
                lines += erratumLines
                for u in c.unchecked where verbose { lines.append("        unchecked: \(u)") }
            }
        }
        lines.append("")
        let errataCount = factsByErratum
        // The line still ends "N passed, M failed", which scripts look for.
        lines.append((errataCount == 0 ? "" : "\(errataCount) fact\(errataCount == 1 ? "" : "s") by erratum; ") + "\(passed) passed, \(failed) failed")
        return lines.joined(separator: "\n")
    }
}
