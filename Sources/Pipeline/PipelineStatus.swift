import DurationUnits
import Foundation
import Kafka
import Logging
import Synchronization

/// What the worker is doing, for `/readyz` (and a log line until the HTTP server lands).
public final class PipelineStatus: Sendable {
    private let state = Mutex<(databaseError: String?, paused: Bool, stopReason: String?, kafkaUnreachable: String?)>(
        (nil, false, nil, nil))

    public init() {}

    /// Nil when ready; otherwise why not (database unreachable, partitions paused for backpressure).
    public var notReadyReason: String? {
        state.withLock { s in
            if let e = s.databaseError { return "database unavailable: \(e)" }
            if let r = s.stopReason { return r }
            if let k = s.kafkaUnreachable { return k }
            return nil
        }
    }
    public var isPaused: Bool { state.withLock { $0.paused } }
    /// Partitions assigned to this worker as of the last rebalance event (0 before the first).
    public var assignedPartitions: Int { assigned.load(ordering: .relaxed) }
    private let assigned = Atomic<Int>(0)
    func setAssignedPartitions(_ n: Int) { assigned.store(n, ordering: .relaxed) }

    func setDatabaseError(_ e: String?) { state.withLock { $0.databaseError = e } }
    func setPaused(_ p: Bool) { state.withLock { $0.paused = p } }
    func setStopReason(_ r: String?) { state.withLock { $0.stopReason = r } }
    /// Set while no Kafka broker answers (see ``BrokerReachability``).
    func setKafkaUnreachable(_ r: String?) { state.withLock { $0.kafkaUnreachable = r } }
}
