import Logging
import Synchronization

/// Keeps the log lines of the loggers made from it, in order, from any thread.
/// Guarantees: every line at or above the logger's level is kept with its level, its message, the
/// event's own metadata (values as text) and all its metadata (the logger's and the event's, the
/// event's winning) as one text; `lines` is a snapshot.
public final class CapturedLogs: Sendable {
    /// One kept log line; nothing is dropped or truncated.
    public struct Line: Sendable {
        public var level: Logger.Level
        public var message: String
        /// The event's own metadata, values as text (e.g. `rdkafka.facility`, `topic`).
        public var metadata: [String: String]
        /// The logger's and the event's metadata together, as text.
        public var allMetadata: String
    }

    private let kept = Mutex<[Line]>([])

    public init() {}

    public var lines: [Line] { kept.withLock { $0 } }

    /// A logger whose lines at `level` and above are kept here.
    public func logger(_ label: String, level: Logger.Level = .debug) -> Logger {
        var logger = Logger(label: label) { _ in Handler(sink: self) }
        logger.logLevel = level
        return logger
    }

    private struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let own = event.metadata ?? [:]
            let all = metadata.merging(own) { _, new in new }
            let line = Line(level: event.level, message: "\(event.message)", metadata: own.mapValues { "\($0)" }, allMetadata: "\(all)")
            sink.kept.withLock { $0.append(line) }
        }
    }
}
