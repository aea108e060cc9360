import Logging

extension LogSettings {
    /// The handler for `label` in the configured format and level, writing to standard error
    /// (journald and container runtimes collect it from there).
    public func makeHandler(label: String) -> any LogHandler {
        switch format {
        case .text:
            var handler = DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
