import DurationUnits
import Aggregation
import Foundation
import Kafka
import Logging
import Synchronization
import TraceContext

/// Settings of the ingest loop (from `Configuration`).
struct IngestSettings: Sendable {
    var flushInterval: Duration
    var flushMaxSpans: Int
    var maxInflightEpochs: Int
    var start: Configuration.StartPosition
    var gapPolicy: Configuration.GapPolicy
    var group: String
    /// `records.max_future_skew`: a record stamped later than the wall clock + this is out of range and
    /// never advances the epoch's clock.
    var maxFutureSkew: Duration = .seconds(2 * 3600)
    var pollMaxMessages = 2_000
    /// `pipeline.max_buffered_bytes`: bytes of polled batches dispatched to the shards and not yet
    /// processed (see ``DispatchBudget``) above which the ingest thread waits before its next poll.
    var maxBufferedBytes = Configuration().pipelineMaxBufferedBytes
    /// The longest the ingest thread waits without polling for the shards to get under the budget;
    /// then it pauses its partitions and polls (rebalances and `max.poll.interval.ms` need polls).
    var bufferWaitMax = Duration.seconds(1)
    /// An open epoch this old goes to the writer as soon as the writer is idle (nothing in flight), before
    /// `flushInterval`: epochs then follow the writer's pace (small and fresh under light load, up to
    /// `flushMaxSpans` while it is busy). Nil: only `flushInterval` and `flushMaxSpans` seal.
    var idleWriterSealAfter: Duration? = Configuration().flushMinInterval
    var shutdownTimeout: Duration
    /// `kafka.brokers`, named in the one line that says no broker is reachable.
    var brokers = ""
}
