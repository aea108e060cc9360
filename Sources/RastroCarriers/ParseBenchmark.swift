import Foundation
import RastroCore
import RastroScripting

/// Times `parse` over recorded bodies: the median of many runs per body.
public struct ParseBenchmark {
    public struct Row: Sendable {
        public var carrier: String
        public var name: String
        public var bytes: Int
        public var medianMicroseconds: Double
        public var failed: String?
    }

    public var carriersDirectory: URL
    public var corpusDirectory: URL?
    public var runs: Int

    public init(carriersDirectory: URL, corpusDirectory: URL?, runs: Int = 200) {
        self.carriersDirectory = carriersDirectory
        self.corpusDirectory = corpusDirectory
        self.runs = runs
    }

    public func run(ids requested: [String]) throws -> [Row] {
        let ids = requested.isEmpty ? CarrierTestRunner.carrierIDs(in: carriersDirectory) : requested
        let vm = try LuaVM.sandboxed()
        let context = CarrierContext(now: Timestamp(secondsSinceEpoch: 1_767_225_600))
        var rows: [Row] = []
        for id in ids {
            let carrier = try CarrierScript.load(id: id, carriersDirectory: carriersDirectory, on: vm)
            var cases = try CarrierCase.fixtures(in: carriersDirectory.appendingPathComponent(id).appendingPathComponent("tests"))
            if let corpus = corpusDirectory?.appendingPathComponent(id) { cases += (try? CarrierCase.corpus(in: corpus)) ?? [] }
            for c in cases {
                let response = HTTPResponse(status: c.httpStatus, body: Array(c.body))
                var samples: [Double] = []
                samples.reserveCapacity(runs)
                var failure: String?
                let clock = ContinuousClock()
                for i in 0..<(runs + 10) {
                    let start = clock.now
                    do { _ = try carrier.parse(response, codes: c.codes, context: context) } catch { failure = String(describing: error); break }
                    let elapsed = clock.now - start
                    if i >= 10 { samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6) }
                }
                samples.sort()
                rows.append(Row(carrier: id, name: c.name, bytes: c.body.count,
                                medianMicroseconds: samples.isEmpty ? .nan : samples[samples.count / 2], failed: failure))
            }
        }
        return rows
    }
}
