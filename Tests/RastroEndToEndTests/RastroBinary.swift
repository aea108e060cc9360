import Foundation
import RastroTestSupport

/// Runs the built `rastro` executable, the way an operator would.
enum RastroBinary {
    static let root = LoopbackCarrier.packageRoot
    static let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    static var corpusPresent: Bool { FileManager.default.fileExists(atPath: corpus.path) }

    struct Result {
        var status: Int32
        var output: String
    }

    static var executable: URL {
        // Beside the test bundle: .build/<triple>/debug/rastro
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDir.appendingPathComponent("rastro"), root.appendingPathComponent(".build/debug/rastro")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        return root.appendingPathComponent(".build/debug/rastro")
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL = root) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RASTRO_CORPUS")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
