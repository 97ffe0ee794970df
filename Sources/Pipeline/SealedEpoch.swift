import DurationUnits
public import Aggregation
import Kafka
import Foundation
import Synchronization

/// A sealed epoch ready to write: the offsets half (from the ingest thread) and every shard's delta.
public struct SealedEpoch: Sendable {
    public var plan: SealedEpochPlan
    public var deltas: [EpochDelta]
    /// Dead-letter copies whose first produce failed: produced by the writer before the commit.
    var deadLetterRetries: [OwnedRecord] = []
}
