import DurationUnits
import Aggregation
import Foundation
import Kafka
import Logging
import Synchronization
import TraceContext

/// The bytes one polled batch holds, counted in ``PipelineGauges/bufferedBytes`` while any shard still
/// holds the batch: sent with each of the batch's shard messages, it gives the bytes back when the last
/// one is dropped (as the batch frees its librdkafka messages then).
final class DispatchedBytes: Sendable {
    let bytes: Int
    private let gauges: PipelineGauges

    init(bytes: Int, gauges: PipelineGauges) {
        self.bytes = bytes
        self.gauges = gauges
        gauges.bufferedBytes.add(bytes, ordering: .relaxed)
    }

    deinit {
        gauges.bufferedBytes.subtract(bytes, ordering: .relaxed)
    }
}
