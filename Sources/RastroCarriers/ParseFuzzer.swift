import Foundation
import RastroCore
import RastroScripting

/// Feeds each carrier's `parse` damaged copies of its recorded bodies
/// (truncated, bit-flipped, byte-deleted, duplicated, oversized) and counts
/// what came back. A result or a typed failure is fine; a script error, a
/// limit breach or a contract violation is a finding.
public struct ParseFuzzer {
    public struct Finding: Sendable {
        public var carrier: String
        public var source: String
        public var mutation: String
        public var error: String
    }

    public struct Report: Sendable {
        public var inputs = 0
        public var results = 0
        public var typedFailures = 0
        public var findings: [Finding] = []
        public var perCarrier: [String: Int] = [:]
    }

    public var carriersDirectory: URL
    public var corpusDirectory: URL?
    public var seed: UInt64

    public init(carriersDirectory: URL, corpusDirectory: URL?, seed: UInt64 = 0x5EED) {
        self.carriersDirectory = carriersDirectory
        self.corpusDirectory = corpusDirectory
        self.seed = seed
    }

    /// Runs about `inputs` parses in all, shared evenly between the carriers' bodies.
    public func run(ids requested: [String], inputs: Int) throws -> Report {
        let ids = requested.isEmpty ? CarrierTestRunner.carrierIDs(in: carriersDirectory) : requested
        let vm = try LuaVM.sandboxed()
        var rng = SplitMix64(seed: seed)
        var bodies: [(CarrierScript, CarrierCase)] = []
        var carriers: [CarrierScript] = []
        for id in ids {
            let carrier = try CarrierScript.load(id: id, carriersDirectory: carriersDirectory, on: vm)
            carriers.append(carrier)
            var cases = try CarrierCase.fixtures(in: carriersDirectory.appendingPathComponent(id).appendingPathComponent("tests"))
            if let corpus = corpusDirectory?.appendingPathComponent(id) { cases += (try? CarrierCase.corpus(in: corpus)) ?? [] }
            bodies += cases.map { (carrier, $0) }
        }
        var report = Report()
        guard !bodies.isEmpty else { return report }
        let perBody = max(1, inputs / bodies.count)
        let context = CarrierContext(now: Timestamp(secondsSinceEpoch: 1_767_225_600))
        for (carrier, c) in bodies {
            for _ in 0..<perBody {
                let (mutation, body) = Self.mutate(Array(c.body), rng: &rng)
                let status = rng.next() % 10 == 0 ? [200, 400, 401, 404, 429, 500, 503][Int(rng.next() % 7)] : c.httpStatus
                report.inputs += 1
                report.perCarrier[carrier.definition.id, default: 0] += 1
                do {
                    let out = try carrier.parse(HTTPResponse(status: status, body: body), codes: c.codes, context: context)
                    if case .whole = out { report.typedFailures += 1 } else { report.results += 1 }
                } catch {
                    report.findings.append(Finding(carrier: carrier.definition.id, source: c.name, mutation: mutation, error: String(describing: error)))
                }
            }
        }
        return report
    }

    static func mutate(_ body: [UInt8], rng: inout SplitMix64) -> (String, [UInt8]) {
        var b = body
        let n = max(b.count, 1)
        switch rng.next() % 6 {
        case 0:
            let cut = Int(rng.next() % UInt64(n))
            return ("truncated at \(cut)", Array(b.prefix(cut)))
        case 1:
            let flips = 1 + Int(rng.next() % 8)
            for _ in 0..<flips where !b.isEmpty { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8)) }
            return ("\(flips) bits flipped", b)
        case 2:
            guard !b.isEmpty else { return ("empty", []) }
            let at = Int(rng.next() % UInt64(b.count)), len = min(b.count - at, 1 + Int(rng.next() % 64))
            b.removeSubrange(at..<(at + len))
            return ("\(len) bytes deleted at \(at)", b)
        case 3:
            guard !b.isEmpty else { return ("empty", []) }
            let at = Int(rng.next() % UInt64(b.count)), len = min(b.count - at, 1 + Int(rng.next() % 256))
            b.insert(contentsOf: b[at..<(at + len)], at: at)
            return ("\(len) bytes duplicated at \(at)", b)
        case 4:
            // Oversized: the body repeated, as a misbehaving proxy might send it.
            let times = 2 + Int(rng.next() % 30)
            return ("repeated \(times)x", Array([[UInt8]](repeating: b, count: times).joined()))
        default:
            let at = Int(rng.next() % UInt64(n))
            let junk: [UInt8] = Array("\u{0}\"<>{}[]\\\u{FF}\u{FE}&;".utf8)
            b.insert(contentsOf: (0..<(1 + Int(rng.next() % 16))).map { _ in junk[Int(rng.next() % UInt64(junk.count))] }, at: min(at, b.count))
            return ("junk inserted at \(at)", b)
        }
    }
}
