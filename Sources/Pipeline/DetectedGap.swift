public import Aggregation

/// A range of offsets found missing while reading a partition (an offset jump, or a stored offset below
/// the log start): reported once by ``EpochTracker/takeDetectedGaps()`` so the ingest thread can log and
/// count it.
public struct DetectedGap: Sendable, Equatable {
    public var partition: PartitionKey
    public var gap: OffsetGap
    public init(partition: PartitionKey, gap: OffsetGap) {
        self.partition = partition
        self.gap = gap
    }
}
