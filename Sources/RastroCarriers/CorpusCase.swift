import Foundation

/// A recorded response body, from a carrier's own `tests/` folder or from the
/// shared corpus, with what it should parse to.
public struct CarrierCase: Sendable {
    public enum Expectation: Sendable {
        /// Ours: the exact normalized output (`<name>.case.json`).
        case golden(JSONValue)
        /// The corpus: the facts another project asserted (`<name>.expected.json`).
        case corpus(JSONValue)
        /// A corpus body with no assertions: it must parse without error.
        case parsesWithoutError
    }

    public var name: String
    public var body: Data
    public var httpStatus: Int
    public var codes: [String]
    public var expectation: Expectation

    static let bodyExtensions: Set<String> = ["json", "xml", "html", "txt"]

    /// `carriers/<id>/tests/<name>.<ext>` + `<name>.case.json`.
    static func fixtures(in folder: URL) throws -> [CarrierCase] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var cases: [CarrierCase] = []
        for file in files.sorted() where file.hasSuffix(".case.json") {
            let stem = String(file.dropLast(".case.json".count))
            let caseURL = folder.appendingPathComponent(file)
            let spec = try JSONValue(parsing: try Data(contentsOf: caseURL))
            guard let bodyFile = files.first(where: { f in
                f != file && f.hasPrefix(stem + ".") && bodyExtensions.contains((f as NSString).pathExtension) && !f.hasSuffix(".case.json")
            }) else {
                throw CarrierContractError(file: displayPath(caseURL), "has no body file \(stem).json/.xml/.html beside it")
            }
            guard let expected = spec["expected"] else {
                throw CarrierContractError(file: displayPath(caseURL), field: "expected", "is missing")
            }
            let status: Int
            if case .number(let n)? = spec["http_status"] { status = Int(n) } else { status = 200 }
            let codes = spec["codes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            cases.append(CarrierCase(name: "tests/" + bodyFile, body: try Data(contentsOf: folder.appendingPathComponent(bodyFile)),
                                     httpStatus: status, codes: codes, expectation: .golden(expected)))
        }
        return cases
    }

    /// `<corpus>/<id>/<name>.<ext>` + optional `<name>.expected.json`.
    static func corpus(in folder: URL) throws -> [CarrierCase] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var cases: [CarrierCase] = []
        for file in files.sorted() where !file.hasSuffix(".expected.json") && bodyExtensions.contains((file as NSString).pathExtension) {
            let stem = (file as NSString).deletingPathExtension
            let expectedURL = folder.appendingPathComponent(stem + ".expected.json")
            var expectation = Expectation.parsesWithoutError
            var codes: [String] = []
            if let data = FileManager.default.contents(atPath: expectedURL.path) {
                let expected = try JSONValue(parsing: data)
                expectation = .corpus(expected)
                if let code = expected["tracking_number"]?.stringValue { codes = [code] }
            }
            cases.append(CarrierCase(name: file, body: try Data(contentsOf: folder.appendingPathComponent(file)),
                                     httpStatus: CorpusVocabulary.httpStatus(for: file), codes: codes, expectation: expectation))
        }
        return cases
    }
}
