import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Logging
import Pricing
import Synchronization

/// A message from the ingest thread to one shard. Each shard receives them in order (FIFO), so a
/// `.seal` is a barrier: every record dispatched before it belongs to the sealed epoch.
enum ShardMessage: Sendable {
    /// Records of one polled batch routed to this shard (indices into the batch). The batch keeps the
    /// librdkafka messages alive until every shard has dropped it; so does the batch's byte count in
    /// the dispatch budget (`DispatchedBytes`, shared by the batch's messages to all shards).
    case records(KafkaMessageBatch, [Int32], DispatchedBytes)
    /// Hand over the open epoch's delta to the assembler and start a new one.
    case seal(epochID: UInt64, generation: UInt64)
    /// Drop the open epoch (after a fencing failure or a lost assignment).
    case discard
    /// Reject one record of the batch with this reason instead of folding it (a record the database
    /// refused, found by the ingest thread's `Quarantine`).
    case reject(KafkaMessageBatch, Int32, RejectReason, String, DispatchedBytes)
}
