import Synchronization

/// What the worker tells `/readyz`, supplied by the caller (the Pipeline's `PipelineStatus` in
/// `traceledger run`), so that this module does not depend on the Pipeline.
///
/// Implementations must be cheap and thread-safe: they are read on the HTTP event loop.
public protocol ReadinessSource: Sendable {
    /// Nil when the worker itself is fine; else why not (e.g. the epoch writer cannot reach the database).
    var notReadyReason: String? { get }
    /// Whether ingest is paused (backpressure) right now.
    var isPaused: Bool { get }
    /// Partitions assigned to this worker right now; nil when the source does not know.
    var assignedPartitions: Int? { get }
}

extension ReadinessSource {
    public var assignedPartitions: Int? { nil }
}

/// A readiness source that is always ready (tests, tools that run no worker).
public struct AlwaysReady: ReadinessSource {
    public init() {}
    public var notReadyReason: String? { nil }
    public var isPaused: Bool { false }
}

/// Turns samples of a ``ReadinessSource`` and the read pool's probe into the `/readyz` answer.
///
/// Guarantees: ready exactly when the source gives no reason, the last database probe succeeded, ingest
/// has not been paused continuously for longer than `maxPause`, and partitions are assigned (or the
/// source does not know, or the worker started less than `assignmentGrace` ago). Thread-safe.
final class ReadinessTracker: Sendable {
    private let source: any ReadinessSource
    private let maxPause: Duration
    private let assignmentGrace: Duration
    private let started = ContinuousClock.now
    private let pausedSince = Mutex<ContinuousClock.Instant?>(nil)

    init(source: any ReadinessSource, maxPause: Duration, assignmentGrace: Duration) {
        self.source = source
        self.maxPause = maxPause
        self.assignmentGrace = assignmentGrace
    }

    /// Records whether ingest is paused now (called periodically and on every `/readyz`).
    func sample(now: ContinuousClock.Instant = .now) {
        let paused = source.isPaused
        pausedSince.withLock { since in
            if !paused {
                since = nil
            } else if since == nil {
                since = now
            }
        }
    }

    /// Nil when ready, else why not.
    func notReadyReason(databaseError: String?, now: ContinuousClock.Instant = .now) -> String? {
        sample(now: now)
        if let reason = source.notReadyReason { return reason }
        if let databaseError { return "database unreachable: \(databaseError)" }
        if let since = pausedSince.withLock({ $0 }), now - since > maxPause {
            return "ingest paused for more than \(maxPause) (backpressure)"
        }
        if let assigned = source.assignedPartitions, assigned == 0, now - started > assignmentGrace {
            return "no partitions assigned"
        }
        return nil
    }
}
