import Foundation
import Logging
import Synchronization
import Testing
@testable import RastroOperations

@Suite("JSON logs")
struct JSONLogHandlerTests {
    /// A logger whose lines are collected instead of written.
    final class Capture: Sendable {
        let lines = Mutex<[String]>([])
        func logger(level: Logger.Level = .info, metadata: Logger.Metadata = [:]) -> Logger {
            var logger = Logger(label: "rastro.test") { label in
                JSONLogHandler(label: label) { line in self.lines.withLock { $0.append(line) } }
            }
            logger.logLevel = level
            for (k, v) in metadata { logger[metadataKey: k] = v }
            return logger
        }
        func objects() throws -> [[String: Any]] {
            try lines.withLock { $0 }.map { line in
                #expect(line.hasSuffix("\n") && line.dropLast().contains("\n") == false, "not one line: \(line)")
                return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
        }
    }

    @Test func eachEventIsOneJSONObjectWithTheFixedFieldsFirstAndMetadataFlattenedAndSorted() {
        let line = JSONLogHandler.line(timestamp: Date(timeIntervalSince1970: 1_767_607_200.125), level: .notice, label: "rastro",
                                       message: "status changed",
                                       metadata: ["shipment": "42", "carrier": "acme", "poll": .stringConvertible(7),
                                                  "http": ["status": "200", "route": "/v1/shipments/{id}"], "codes": ["AC1", "AC2"]])
        #expect(line == #"{"timestamp":"2026-01-05T10:00:00.125Z","level":"notice","label":"rastro","message":"status changed","#
            + #""carrier":"acme","codes":["AC1","AC2"],"http.route":"/v1/shipments/{id}","http.status":"200","poll":"7","shipment":"42"}"# + "\n")
    }

    @Test func quotesBackslashesAndControlCharactersAreEscapedSoTheLineStaysValidJSON() throws {
        let capture = Capture()
        capture.logger().error("carrier said \"no\"\nbody:\t\\x\u{01}", metadata: ["error": "line1\nline2\r"])
        let object = try #require(try capture.objects().first)
        #expect(object["message"] as? String == "carrier said \"no\"\nbody:\t\\x\u{01}")
        #expect(object["error"] as? String == "line1\nline2\r")
        #expect(object["level"] as? String == "error")
    }

    @Test func loggerAndCallMetadataAreMergedAndTheCallWins() throws {
        let capture = Capture()
        let logger = capture.logger(metadata: ["carrier": "acme", "component": "scheduler"])
        logger.info("poll failed", metadata: ["carrier": "correios", "poll": "9"])
        let object = try #require(try capture.objects().first)
        #expect(object["carrier"] as? String == "correios" && object["component"] as? String == "scheduler" && object["poll"] as? String == "9")
        #expect(object["label"] as? String == "rastro.test")
    }

    @Test func metadataNamedLikeAFixedFieldIsPrefixedInsteadOfReplacingIt() throws {
        let capture = Capture()
        capture.logger().info("real message", metadata: ["message": "impostor", "level": "x"])
        let object = try #require(try capture.objects().first)
        #expect(object["message"] as? String == "real message" && object["level"] as? String == "info")
        #expect(object["metadata.message"] as? String == "impostor" && object["metadata.level"] as? String == "x")
    }

    @Test func eventsBelowTheLevelAreNotWritten() throws {
        let capture = Capture()
        let logger = capture.logger(level: .warning)
        logger.info("quiet")
        logger.warning("loud")
        #expect(try capture.objects().map { $0["message"] as? String } == ["loud"])
    }

    @Test func theConfiguredFormatPicksTheHandler() {
        var settings = LogSettings()
        settings.format = .json
        settings.level = .debug
        let handler = settings.makeHandler(label: "x")
        #expect(handler is JSONLogHandler && handler.logLevel == .debug)
        settings.format = .text
        #expect(settings.makeHandler(label: "x") is DeferredMetadataLogHandler<StreamLogHandler>)
    }
}
