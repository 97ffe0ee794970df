import DurationUnits
import Aggregation
import Foundation
import Kafka
import Logging
import Synchronization
import TraceContext

/// The memory bound of the hand-off to the shards, in bytes: what a polled batch holds (value and key
/// bytes plus ``recordOverheadBytes`` a record) counts from dispatch until every shard it went to has
/// processed its part (then librdkafka's messages are freed). A pure value: the ingest thread asks it,
/// before each poll, whether to poll, wait, or (after waiting `waitMax`) pause.
///
/// Over budget the ingest thread waits instead of pausing, since a pause purges librdkafka's prefetched
/// records. A single record larger than the budget still passes: with nothing buffered, a poll is
/// always allowed. One poll can overshoot the budget by one batch, itself bounded by librdkafka's
/// prefetch queue (`queued.max.messages.kbytes`).
public struct DispatchBudget: Sendable, Equatable {
    /// What a record holds beyond its key and value: librdkafka's message and headers, our index.
    public static let recordOverheadBytes = 512

    public enum Action: Equatable, Sendable {
        /// Under budget (or nothing buffered): poll.
        case poll
        /// Over budget: wait a short slice (serving the writer's notices), then ask again.
        case wait
        /// Over budget for longer than `waitMax`: pause the partitions and keep polling.
        case pause
    }

    public let maxBytes: Int

    public init(maxBytes: Int) {
        precondition(maxBytes > 0, "pipeline.max_buffered_bytes must be positive")
        self.maxBytes = maxBytes
    }

    /// What one record counts against the budget.
    public static func cost(valueBytes: Int, keyBytes: Int) -> Int {
        // Safe: both are sizes of buffers in memory (≤ Int.max / 4 each on a 64-bit machine).
        valueBytes + keyBytes + recordOverheadBytes
    }

    /// How many records the next poll may return: as many as fit in what is left of the budget at
    /// `recordBytesEstimate` each, at least 1 and at most `maxMessages`. A poll takes whatever
    /// librdkafka has prefetched (tens of MiB of large records at once), so the count is what keeps one
    /// poll from overshooting the budget by more than a few records.
    public func pollLimit(bufferedBytes: Int, recordBytesEstimate: Int, maxMessages: Int) -> Int {
        let left = maxBytes - max(0, bufferedBytes)
        guard left > 0 else { return 1 }
        return min(maxMessages, max(1, left / max(1, recordBytesEstimate)))
    }

    /// The next estimate of a record's cost after a batch whose records averaged `batchAverage`: up at
    /// once to a larger average, down gradually (an eighth of the old estimate at most per batch), so
    /// that a few small batches between large ones do not open the gate wide.
    public static func nextRecordBytesEstimate(previous: Int, batchAverage: Int) -> Int {
        max(batchAverage, previous - previous / 8, recordOverheadBytes)
    }

    /// Whether another poll may add to `bufferedBytes`.
    public func admitsPoll(bufferedBytes: Int) -> Bool {
        bufferedBytes <= 0 || bufferedBytes < maxBytes
    }

    /// What to do before the next poll, having waited `waited` so far for the shards.
    public func action(bufferedBytes: Int, waited: Duration, waitMax: Duration) -> Action {
        if admitsPoll(bufferedBytes: bufferedBytes) { return .poll }
        return waited < waitMax ? .wait : .pause
    }
}
