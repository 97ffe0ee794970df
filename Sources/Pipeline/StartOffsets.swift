import DurationUnits
import Aggregation
import Foundation
import Kafka
import Logging
import Synchronization
import TraceContext

/// Reads the stored offsets for the start-offset provider, which runs inside librdkafka's rebalance
/// callback on the ingest thread. Thread-safe (one `Mutex` around its own store/connection). Remembers
/// which partitions had no row (they start at the log start or end, per `kafka.start`), which could
/// not be read (the database was down: they start paused, "unsynced", until a read succeeds), and, for
/// `kafka.start: latest`, the start each partition without a row was first given (``LatestStartPins``):
/// it is reused until Postgres has a row, so a wait before the first commit skips nothing.
final class StartOffsets: Sendable {
    struct Answer: Sendable {
        var stored: [PartitionKey: Int64] = [:]
        var unsynced: Set<PartitionKey> = []
        /// Partitions the provider answered END for: the consumer resolves END to a number, which
        /// `answer(for:assignedAt:)` pins.
        var endRequested: Set<PartitionKey> = []
        var pins = LatestStartPins()
    }
    private let store: Mutex<any EpochStore & Sendable>
    private let group: String
    private let start: Configuration.StartPosition
    private let lastAnswer = Mutex(Answer())
    private let logger: Logger

    init(store: any EpochStore & Sendable, group: String, start: Configuration.StartPosition, logger: Logger) {
        self.store = Mutex(store)
        self.group = group
        self.start = start
        self.logger = logger
    }

    /// `StartOffsetProvider`: stored offset, or for `latest` the pinned start (END the first time), or
    /// nothing (beginning); END for all when the database cannot be read (those partitions are marked
    /// unsynced).
    func provide(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        let keys = partitions.map { PartitionKey(topic: $0.topic, partition: $0.partition) }
        do {
            let stored = try read(keys)
            return lastAnswer.withLock { a in
                var out: [TopicPartition: Int64] = [:]
                for (tp, k) in zip(partitions, keys) {
                    a.unsynced.remove(k)
                    a.stored[k] = stored[k]
                    a.endRequested.remove(k)
                    if let s = stored[k] {
                        a.pins.storedOffsetFound(k)
                        out[tp] = s
                    } else if start == .latest {
                        if let pin = a.pins.pinned(k) {
                            out[tp] = pin
                        } else {
                            out[tp] = KafkaOffset.end
                            a.endRequested.insert(k)
                        }
                    }
                }
                return out
            }
        } catch {
            logger.error("cannot read stored offsets at assignment; partitions wait paused", metadata: ["error": "\(error)"])
            return lastAnswer.withLock { a in
                var out: [TopicPartition: Int64] = [:]
                for (tp, k) in zip(partitions, keys) {
                    a.unsynced.insert(k)
                    if start == .latest, let pin = a.pins.pinned(k) {
                        out[tp] = pin
                    } else {
                        out[tp] = KafkaOffset.end
                        if start == .latest { a.endRequested.insert(k) }
                    }
                }
                return out
            }
        }
    }

    func read(_ keys: [PartitionKey]) throws(EpochStoreError) -> [PartitionKey: Int64] {
        try store.withLock { s throws(EpochStoreError) in try s.readOffsets(group: group, partitions: keys) }
    }

    /// What the last provider call found for `key`: (stored offset or nil, unsynced). `assignedAt` is the
    /// offset the assignment started `key` at: when the provider asked for END, that is the resolved
    /// END, pinned as the partition's `latest` start (also while it waits unsynced).
    func answer(for key: PartitionKey, assignedAt: Int64? = nil) -> (stored: Int64?, unsynced: Bool) {
        lastAnswer.withLock { a in
            if let assignedAt, a.endRequested.remove(key) != nil { a.pins.positioned(key, at: assignedAt) }
            return (a.stored[key], a.unsynced.contains(key))
        }
    }

    func markSynced(_ key: PartitionKey, stored: Int64?) {
        lastAnswer.withLock { a in
            a.unsynced.remove(key)
            a.stored[key] = stored
            if stored != nil { a.pins.storedOffsetFound(key) }
        }
    }

    /// `kafka.start: latest`, no stored offset: where `key` starts and the backlog it skips, from the
    /// pinned start when there is one (see ``LatestStartPins/start(for:startsAt:watermarks:)``).
    func latestStart(
        for key: PartitionKey, startsAt: Int64?, watermarks: (low: Int64, high: Int64)?
    ) -> LatestStartPins.Start? {
        lastAnswer.withLock { $0.pins.start(for: key, startsAt: startsAt, watermarks: watermarks) }
    }
}
