/// A Kafka partition as the pipeline tracks it and the ledger stores it (`ingest_offsets`, fencing).
///
/// Guarantees: a plain value (no dependency on the Kafka module); ordered by topic, then partition —
/// the order in which the ledger moves offsets, so concurrent writers lock rows in one order.
public struct PartitionKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public static func < (a: PartitionKey, b: PartitionKey) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)/\(partition)" }
}

/// A range of offsets Kafka no longer had when we asked for it (or that `kafka.start: latest` skipped):
/// `[from, to)`, written to `retention_gaps`.
///
/// Guarantees: none by construction; the ledger refuses an epoch whose gap is reversed or negative.
public struct OffsetGap: Sendable, Equatable {
    public var from: Int64
    /// Exclusive.
    public var to: Int64
    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }
}

/// What one sealed epoch moves, per partition: from the offset stored in Postgres (`from`, nil when the
/// partition has no row yet) to one past the last record it took (`to`), plus gaps it recorded.
///
/// Guarantees: none by construction; the ledger refuses (before any I/O) an advance that moves
/// backwards or a partition listed twice in one epoch, and fences an advance whose `from` is stale.
public struct PartitionAdvance: Sendable, Equatable {
    public var partition: PartitionKey
    public var from: Int64?
    public var to: Int64
    public var gaps: [OffsetGap]
    public init(partition: PartitionKey, from: Int64?, to: Int64, gaps: [OffsetGap]) {
        self.partition = partition
        self.from = from
        self.to = to
        self.gaps = gaps
    }
}

/// The offsets half of a sealed epoch; the shards hand over the deltas half (``EpochDelta``).
///
/// Guarantees: a plain value; what the ledger commits together with the deltas (the fencing check
/// moves every advance's partition from `from` to `to` in the same transaction).
public struct SealedEpochPlan: Sendable, Equatable {
    public var epochID: UInt64
    /// Epochs of an older generation are dropped unwritten (after a fencing failure or a lost assignment).
    public var generation: UInt64
    public var advances: [PartitionAdvance]
    public var records: Int
    /// Newest Kafka record timestamp in the epoch (ms): "now" for the grace rule.
    public var maxRecordTimeUnixMillis: Int64

    public init(
        epochID: UInt64, generation: UInt64, advances: [PartitionAdvance], records: Int, maxRecordTimeUnixMillis: Int64
    ) {
        self.epochID = epochID
        self.generation = generation
        self.advances = advances
        self.records = records
        self.maxRecordTimeUnixMillis = maxRecordTimeUnixMillis
    }
}
