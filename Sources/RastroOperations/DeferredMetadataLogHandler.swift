import Logging

/// Keeps a logger's metadata and hands it to `base` only when a message is logged.
///
/// `StreamLogHandler` formats its whole metadata each time one key is set, and
/// Hummingbird sets a request id on every request's logger: 2.4 % of a push's CPU
/// went there, for lines that, at the default level, are never written.
public struct DeferredMetadataLogHandler<Base: LogHandler>: LogHandler {
    public var base: Base
    public var metadata: Logger.Metadata = [:]

    public init(_ base: Base) { self.base = base }

    public var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            // The message's own metadata wins over the logger's, as in every swift-log handler.
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, new in new }
        }
        base.log(event: event)
    }
}
