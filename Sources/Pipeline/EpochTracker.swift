/// A Kafka partition as the pipeline tracks it.
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

/// A range of offsets Kafka no longer had when we asked for it (or that `kafka.start: latest` skipped).
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

/// The offsets half of a sealed epoch; the shards hand over the deltas half.
public struct SealedEpochPlan: Sendable, Equatable {
    public var epochID: UInt64
    /// Epochs of an older generation are dropped unwritten (after a fencing failure or a lost assignment).
    public var generation: UInt64
    public var advances: [PartitionAdvance]
    public var records: Int
    /// Newest Kafka record timestamp in the epoch (ms): "now" for the grace rule.
    public var maxRecordTimeUnixMillis: Int64
}

/// Per-partition offset bookkeeping and epoch/backpressure decisions of ONE ingest thread.
///
/// A pure state machine (no I/O, no clock: callers pass times in), owned and mutated by the ingest
/// thread only. Guarantees: every offset the partition delivers is taken once (`.take`), skipped as a
/// duplicate, or recorded in a gap; a sealed epoch's `from` is the previous sealed epoch's `to` (or the
/// offset stored in Postgres at assignment), which is exactly the fencing check the writer makes; at
/// most `maxInflightEpochs` sealed epochs are unacknowledged before `shouldPause` turns true.
public struct EpochTracker: Sendable {
    public enum Disposition: Equatable, Sendable {
        /// Process the record.
        case take
        /// Already taken (a re-delivery after a seek): skip it.
        case duplicate
        /// The partition is not assigned to us (a stale message after revocation): skip it.
        case notAssigned
        /// `kafka.on_gap: stop` and a gap was found: do not process; pause the partition.
        case stopAtGap
    }

    struct Progress: Sendable {
        var openFrom: Int64?
        var next: Int64
        var gaps: [OffsetGap] = []
        var stopped = false
        /// No stored offset and `start: earliest`: the first delivered record is the start, whatever
        /// its offset (records deleted before we ever read the partition are not a gap of ours).
        var awaitingFirst = false
    }

    public let maxInflightEpochs: Int
    public let gapPolicy: Configuration.GapPolicy
    private var progress: [PartitionKey: Progress] = [:]
    public private(set) var generation: UInt64 = 1
    public private(set) var inflight: Int = 0
    private var nextEpochID: UInt64 = 1
    private var openRecords = 0
    private var openMaxRecordTime: Int64 = 0
    private var openSince: ContinuousClock.Instant?

    public init(maxInflightEpochs: Int, gapPolicy: Configuration.GapPolicy = .record) {
        precondition(maxInflightEpochs > 0, "max_inflight_epochs must be positive")
        self.maxInflightEpochs = maxInflightEpochs
        self.gapPolicy = gapPolicy
    }

    public var assigned: [PartitionKey] { progress.keys.sorted() }
    public var recordsInOpenEpoch: Int { openRecords }

    /// A partition was assigned. `stored` is Postgres's `next_offset` (nil = no row); `logStart`/`logEnd`
    /// are Kafka's low/high watermarks. Returns where to start reading.
    public mutating func partitionAssigned(
        _ key: PartitionKey, stored: Int64?, logStart: Int64, logEnd: Int64, start: Configuration.StartPosition
    ) -> Int64 {
        var p: Progress
        if let stored {
            if stored < logStart {
                // Retention deleted records we never read: record the range, go on from the log start.
                p = Progress(openFrom: stored, next: logStart, gaps: [OffsetGap(from: stored, to: logStart)])
            } else {
                p = Progress(openFrom: stored, next: stored)
            }
        } else if start == .latest, logEnd > logStart {
            p = Progress(openFrom: nil, next: logEnd, gaps: [OffsetGap(from: logStart, to: logEnd)])
        } else {
            p = Progress(openFrom: nil, next: logStart)
        }
        if gapPolicy == .stop, !p.gaps.isEmpty, stored != nil {
            p.stopped = true
        }
        progress[key] = p
        return p.next
    }

    /// Marks a partition with no stored offset: its first delivered record sets where it starts.
    public mutating func expectFirstRecord(_ key: PartitionKey) {
        guard var p = progress[key], p.openFrom == nil else { return }
        p.awaitingFirst = true
        progress[key] = p
    }

    /// Partitions were revoked (after the open epoch was sealed and written) or lost.
    public mutating func partitionsRemoved(_ keys: [PartitionKey]) {
        for k in keys { progress[k] = nil }
    }

    /// Whether the partition is stopped at a gap (`kafka.on_gap: stop`).
    public func isStopped(_ key: PartitionKey) -> Bool { progress[key]?.stopped ?? false }

    /// A record at `offset` was delivered.
    public mutating func recordDelivered(_ key: PartitionKey, offset: Int64, timestampUnixMillis: Int64) -> Disposition {
        guard var p = progress[key] else { return .notAssigned }
        if p.stopped { return .stopAtGap }
        if p.awaitingFirst {
            p.awaitingFirst = false
            p.next = offset
        }
        if offset < p.next { return .duplicate }
        if offset > p.next {
            if gapPolicy == .stop {
                p.stopped = true
                progress[key] = p
                return .stopAtGap
            }
            p.gaps.append(OffsetGap(from: p.next, to: offset))
        }
        p.next = offset + 1
        progress[key] = p
        openRecords += 1
        openMaxRecordTime = max(openMaxRecordTime, timestampUnixMillis)
        return .take
    }

    /// Notes when the open epoch got its first record (for `flush.interval`).
    public mutating func noteOpen(at now: ContinuousClock.Instant) {
        if openSince == nil, openRecords > 0 || hasPendingAdvance { openSince = now }
    }

    var hasPendingAdvance: Bool {
        progress.values.contains { !$0.gaps.isEmpty || ($0.openFrom != $0.next && !$0.stopped) }
    }

    /// Whether to seal now: something is open and either `interval` has passed since it opened or it
    /// holds `maxSpans` spans.
    public func shouldSeal(now: ContinuousClock.Instant, interval: Duration, openSpans: Int, maxSpans: Int) -> Bool {
        guard let since = openSince else { return false }
        return openSpans >= maxSpans || now - since >= interval
    }

    /// Seals the open epoch: returns its plan (nil when nothing moved) and starts a new one.
    public mutating func seal() -> SealedEpochPlan? {
        var advances: [PartitionAdvance] = []
        for key in progress.keys.sorted() {
            guard var p = progress[key], !p.stopped else { continue }
            if p.openFrom == p.next, p.gaps.isEmpty { continue }
            advances.append(PartitionAdvance(partition: key, from: p.openFrom, to: p.next, gaps: p.gaps))
            p.openFrom = p.next
            p.gaps = []
            progress[key] = p
        }
        defer {
            openRecords = 0
            openMaxRecordTime = 0
            openSince = nil
        }
        guard !advances.isEmpty || openRecords > 0 else { return nil }
        let plan = SealedEpochPlan(
            epochID: nextEpochID, generation: generation, advances: advances, records: openRecords,
            maxRecordTimeUnixMillis: openMaxRecordTime)
        nextEpochID += 1
        inflight += 1
        return plan
    }

    /// The writer committed, or dropped a stale epoch: one fewer in flight.
    public mutating func epochFinished() {
        precondition(inflight > 0, "an epoch finished that was never sealed")
        inflight -= 1
    }

    /// Too many sealed epochs wait for the writer: pause fetching.
    public var shouldPause: Bool { inflight >= maxInflightEpochs }

    /// After a fencing failure or a lost assignment: everything open or in flight is void. Starts a new
    /// generation; the caller re-reads offsets from Postgres and calls `partitionAssigned` again.
    public mutating func resync() {
        generation += 1
        progress = [:]
        openRecords = 0
        openMaxRecordTime = 0
        openSince = nil
    }
}
