import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Logging
import Pricing
import Synchronization

/// What every shard shares: configuration and the hand-off points.
struct ShardEnvironment: Sendable {
    var catalogSource: PriceCatalogSource
    var limits: RecordLimits
    var jsonTopics: Set<String>
    var deadLetters: DeadLetterSink
    var assembler: EpochAssembler
    var gauges: PipelineGauges
    var logger: Logger
    /// `flush.max_spans`: a new epoch's maps reserve room for at most this many rows each.
    var maxSpansPerEpoch: Int
}
