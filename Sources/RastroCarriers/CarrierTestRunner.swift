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
        public var passed: Bool { problems.isEmpty }
    }

    public struct Report: Sendable {
        public var cases: [CaseReport] = []
        /// Carriers that could not be loaded at all.
        public var loadErrors: [String] = []
        public var passed: Int { cases.filter(\.passed).count }
        public var failed: Int { cases.count - passed + loadErrors.count }
    }

    public var carriersDirectory: URL
    public var corpusDirectory: URL?
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
                for c in (try? CarrierCase.corpus(in: corpus)) ?? [] { report.cases.append(run(c, on: carrier, source: .corpus)) }
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
            let verdict = CorpusVocabulary.check(expected, against: output, source: c.name)
            report.problems = verdict.mismatches
            report.unchecked = verdict.unchecked
        case .parsesWithoutError:
            break
        }
        return report
    }
}

extension CarrierTestRunner.Report {
    /// What `rastro carrier test` prints.
    public func rendered(verbose: Bool = false) -> String {
        var lines: [String] = []
        for error in loadErrors { lines.append("FAIL  \(error)") }
        for c in cases {
            let where_ = c.source == .corpus ? "corpus/\(c.carrier)/\(c.name)" : "carriers/\(c.carrier)/\(c.name)"
            if c.passed {
                let note = c.unchecked.isEmpty ? "" : "  (\(c.unchecked.count) fact\(c.unchecked.count == 1 ? "" : "s") not checked)"
                lines.append("ok    \(where_)\(note)")
                if verbose { for u in c.unchecked { lines.append("        unchecked: \(u)") } }
            } else {
                lines.append("FAIL  \(where_)")
                for p in c.problems { lines.append("        \(p)") }
                for u in c.unchecked where verbose { lines.append("        unchecked: \(u)") }
            }
        }
        lines.append("")
        lines.append("\(passed) passed, \(failed) failed")
        return lines.joined(separator: "\n")
    }
}
