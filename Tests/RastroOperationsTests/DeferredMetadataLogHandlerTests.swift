import Foundation
import Logging
import Synchronization
import Testing
@testable import RastroOperations

@Suite("Text logs keep metadata until a line is written")
struct DeferredMetadataLogHandlerTests {
    /// A handler that records the metadata it is given and counts how often a key is set on it.
    struct Recording: LogHandler {
        final class Box: Sendable {
            let sets = Atomic<Int>(0)
            let logged = Mutex<[Logger.Metadata]>([])
        }
        let box: Box
        var logLevel: Logger.Level = .info
        var metadataProvider: Logger.MetadataProvider?
        var metadata: Logger.Metadata {
            get { [:] }
            set { box.sets.add(1, ordering: .relaxed) }
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { nil }
            set { box.sets.add(1, ordering: .relaxed) }
        }
        func log(event: LogEvent) { box.logged.withLock { $0.append(event.metadata ?? [:]) } }
    }

    @Test func settingMetadataCostsTheWrappedHandlerNothingUntilALineIsLogged() {
        let box = Recording.Box()
        var logger = Logger(label: "t") { _ in DeferredMetadataLogHandler(Recording(box: box)) }
        for i in 0..<100 { logger[metadataKey: "hb.request.id"] = "\(i)" }
        logger.debug("below the level: not written")
        #expect(box.sets.load(ordering: .relaxed) == 0)
        #expect(box.logged.withLock { $0 }.isEmpty)
    }

    @Test func aLineCarriesTheLoggersMetadataAndTheMessagesOwnWins() {
        let box = Recording.Box()
        var logger = Logger(label: "t") { _ in DeferredMetadataLogHandler(Recording(box: box)) }
        logger[metadataKey: "request"] = "r1"
        logger[metadataKey: "carrier"] = "acme"
        logger.info("polled", metadata: ["carrier": "correios", "shipment": "42"])
        logger.info("plain")
        #expect(box.logged.withLock { $0 } == [["request": "r1", "carrier": "correios", "shipment": "42"], ["request": "r1", "carrier": "acme"]])
    }

    @Test func theLevelIsTheWrappedHandlers() {
        var handler = DeferredMetadataLogHandler(StreamLogHandler.standardError(label: "t"))
        handler.logLevel = .warning
        #expect(handler.base.logLevel == .warning)
    }
}
