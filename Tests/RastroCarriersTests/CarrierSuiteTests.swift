import Foundation
import Testing
@testable import RastroCarriers
import RastroTestSupport

/// Every carrier in carriers/, through its fixtures, the corpus and the fuzzer.
@Suite("Every carrier")
struct CarrierSuiteTests {
    static let carriers = LoopbackCarrier.packageRoot.appendingPathComponent("carriers")
    static let corpus = LoopbackCarrier.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    static var corpusIfPresent: URL? { FileManager.default.fileExists(atPath: corpus.path) ? corpus : nil }

    @Test("every carrier passes its own fixtures and every corpus case it claims")
    func everyCarrierPasses() throws {
        let report = try CarrierTestRunner(carriersDirectory: Self.carriers, corpusDirectory: Self.corpusIfPresent).run(ids: [])
        #expect(report.loadErrors.isEmpty, "\(report.loadErrors)")
        for c in report.cases where !c.passed { Issue.record("\(c.carrier)/\(c.name): \(c.problems.joined(separator: "; "))") }
        #expect(report.cases.count > 50)
    }

    @Test("every carrier has at least one delivered, one in-transit and one failure fixture")
    func fixtureCoverage() throws {
        for id in CarrierTestRunner.carrierIDs(in: Self.carriers) {
            let cases = try CarrierCase.fixtures(in: Self.carriers.appendingPathComponent(id).appendingPathComponent("tests"))
            let text = cases.compactMap { c -> String? in if case .golden(let e) = c.expectation { return e.description } else { return nil } }.joined()
            #expect(text.contains("\"status\": \"delivered\""), "\(id) has no delivered fixture")
            #expect(text.contains("\"status\": \"in_transit\"") || text.contains("\"status\": \"out_for_delivery\""), "\(id) has no in-transit fixture")
            #expect(text.contains("\"failure\""), "\(id) has no failure fixture")
        }
    }

    @Test("damaged bodies give a result or a typed failure, never a script error or a limit breach (short form)")
    func fuzzShortForm() throws {
        let report = try ParseFuzzer(carriersDirectory: Self.carriers, corpusDirectory: Self.corpusIfPresent, seed: 0xC1).run(ids: [], inputs: 4_000)
        #expect(report.inputs >= 3_500)
        for f in report.findings.prefix(10) { Issue.record("\(f.carrier) \(f.source) (\(f.mutation)): \(f.error)") }
    }
}
