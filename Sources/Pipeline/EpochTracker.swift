public import Aggregation

/// Per-partition offset bookkeeping and epoch/backpressure decisions of ONE ingest thread.
///
/// A pure state machine (no I/O, no clock: callers pass times in), owned and mutated by the ingest
/// thread only. Guarantees: every offset the partition delivers is taken once (`.take`), skipped as a
/// duplicate, or recorded in a gap; a sealed epoch's `from` is the previous sealed epoch's `to` (or the
/// offset stored in Postgres at assignment), which is exactly the fencing check the writer makes; at
/// most `maxInflightEpochs` sealed epochs are unacknowledged (then nothing seals, and the open epoch
/// takes records until `mustStopTaking`).
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
        /// The first record after the partition was positioned at its stored offset jumps past it: not
        /// taken, and the partition is to be sought back there once (``takeRepositions()``) before a
        /// jump counts as a gap. librdkafka 2.0.2 can start a partition where an earlier position (END,
        /// a committed offset) put it when the seek to the stored offset lands meanwhile.
        case reposition
    }

    /// Where a partition positioned at its stored offset stands in the one re-seek it may get.
    enum JumpCheck: Sendable, Equatable {
        /// Positioned at the stored offset: the first jump asks for a re-seek.
        case armed
        /// A jump was seen; the re-seek is asked for (records of this partition are skipped until then).
        case seekPending
        /// Re-sought: the next jump is a gap.
        case sought
    }

    /// Why a partition takes no more records.
    public enum StopReason: Equatable, Sendable {
        /// `kafka.on_gap: stop` and records are missing from `gap.from` (exclusive end `gap.to`).
        case gap(OffsetGap)
        /// The offset stored in Postgres is past the partition's high watermark (the topic was deleted
        /// and recreated, or the log was truncated): reading on would skip records silently.
        case storedBeyondLogEnd(stored: Int64, logEnd: Int64)
    }

    struct Progress: Sendable {
        var openFrom: Int64?
        var next: Int64
        var gaps: [OffsetGap] = []
        /// Set once the partition must take no more records; what it took before still advances.
        var stopReason: StopReason?
        var stopped: Bool { stopReason != nil }
        /// No stored offset and `start: earliest` (or `latest` with an unknown end): the first delivered
        /// record is the start, whatever its offset (records deleted before we ever read the partition
        /// are not a gap of ours). Until then the partition has nothing to seal.
        var awaitingFirst = false
        /// `kafka.start: latest` when the end could not be learned: the backlog from here to the first
        /// delivered record is recorded as skipped.
        var skippedBeforeFirstFrom: Int64?
        /// Set when positioned at a stored offset, cleared by the first record taken in order.
        var jumpCheck: JumpCheck?
    }

    public let maxInflightEpochs: Int
    public let gapPolicy: Configuration.GapPolicy
    private var progress: [PartitionKey: Progress] = [:]
    /// The partition of the previous delivered record and its place in `progress`: records come in runs
    /// of one partition, so most records find their partition without hashing its key. An insert or a
    /// removal may move every entry: every write to `progress` other than `recordDelivered`'s
    /// `progress.values[index] = …` (which keeps every index) goes through ``setProgress(_:_:)`` or
    /// clears this. (Not a `willSet` on `progress`: an observed property is copied on each in-place write.)
    private var lastDelivered: (key: PartitionKey, index: Dictionary<PartitionKey, Progress>.Index)?
    public private(set) var generation: UInt64 = 1
    public private(set) var inflight: Int = 0
    private var nextEpochID: UInt64 = 1
    private var openRecords = 0
    private var openMaxRecordTime: Int64 = 0
    private var openSince: ContinuousClock.Instant?
    private var detectedGaps: [DetectedGap] = []
    private var repositions: [PartitionKey: Int64] = [:]

    public init(maxInflightEpochs: Int, gapPolicy: Configuration.GapPolicy = .record) {
        precondition(maxInflightEpochs > 0, "max_inflight_epochs must be positive")
        self.maxInflightEpochs = maxInflightEpochs
        self.gapPolicy = gapPolicy
    }

    public var assigned: [PartitionKey] { progress.keys.sorted() }
    public var recordsInOpenEpoch: Int { openRecords }

    /// A partition was assigned. `stored` is Postgres's `next_offset` (nil = no row); `logStart`/`logEnd`
    /// are Kafka's low/high watermarks. Returns where to start reading.
    ///
    /// A stored offset past `logEnd` stops the partition whatever `kafka.on_gap` says (see
    /// ``StopReason/storedBeyondLogEnd(stored:logEnd:)``). Under `kafka.on_gap: stop`, a stored offset
    /// below `logStart` stops it too, and it advances over nothing (never over the gap).
    public mutating func partitionAssigned(
        _ key: PartitionKey, stored: Int64?, logStart: Int64, logEnd: Int64, start: Configuration.StartPosition
    ) -> Int64 {
        var p: Progress
        if let stored {
            if stored > logEnd {
                p = Progress(openFrom: stored, next: stored)
                p.stopReason = .storedBeyondLogEnd(stored: stored, logEnd: logEnd)
            } else if stored < logStart {
                // Retention deleted records we never read: record the range, go on from the log start.
                let gap = OffsetGap(from: stored, to: logStart)
                detectedGaps.append(DetectedGap(partition: key, gap: gap))
                if gapPolicy == .stop {
                    p = Progress(openFrom: stored, next: stored)
                    p.stopReason = .gap(gap)
                } else {
                    p = Progress(openFrom: stored, next: logStart, gaps: [gap])
                }
            } else {
                p = Progress(openFrom: stored, next: stored)
                p.jumpCheck = .armed
            }
        } else if start == .latest, logEnd > logStart {
            p = Progress(openFrom: nil, next: logEnd, gaps: [OffsetGap(from: logStart, to: logEnd)])
        } else {
            p = Progress(openFrom: nil, next: logStart)
        }
        setProgress(key, p)
        return p.next
    }

    /// Marks a partition with no stored offset: its first delivered record sets where it starts. Until
    /// then it has nothing to seal. `skippedFrom` (for `kafka.start: latest` when the end offset could
    /// not be learned): the range from there to the first record is recorded as skipped.
    public mutating func expectFirstRecord(_ key: PartitionKey, skippedFrom: Int64? = nil) {
        guard var p = progress[key], p.openFrom == nil else { return }
        p.awaitingFirst = true
        p.skippedBeforeFirstFrom = skippedFrom
        setProgress(key, p)
    }

    /// Partitions were revoked (after the open epoch was sealed and written) or lost.
    public mutating func partitionsRemoved(_ keys: [PartitionKey]) {
        for k in keys { setProgress(k, nil) }
    }

    /// Whether the partition takes no more records (stopped at a gap, or its stored offset is past the
    /// log end): it stays paused.
    public func isStopped(_ key: PartitionKey) -> Bool { progress[key]?.stopped ?? false }

    /// Why the partition takes no more records, if it is stopped.
    public func stopReason(_ key: PartitionKey) -> StopReason? { progress[key]?.stopReason }

    /// Whether the partition has no stored offset and has not delivered its first record yet (it has
    /// nothing to advance).
    public func isAwaitingFirstRecord(_ key: PartitionKey) -> Bool { progress[key]?.awaitingFirst ?? false }

    /// Gaps found since the last call, each once (an offset jump while reading, or a stored offset below
    /// the log start at assignment). The skipped backlog of `kafka.start: latest` is a choice, not a
    /// loss, and is not reported here.
    public mutating func takeDetectedGaps() -> [DetectedGap] {
        defer { detectedGaps.removeAll() }
        return detectedGaps
    }

    /// Partitions to seek back to their expected offset (each asked for once, see
    /// ``Disposition/reposition``); call ``repositioned(_:)`` for each after seeking.
    public mutating func takeRepositions() -> [(PartitionKey, Int64)] {
        defer { repositions.removeAll() }
        return repositions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The partition was sought back to its expected offset: from now on a jump is a gap.
    public mutating func repositioned(_ key: PartitionKey) {
        guard var p = progress[key], p.jumpCheck == .seekPending else { return }
        p.jumpCheck = .sought
        setProgress(key, p)
    }

    /// A record at `offset` was delivered.
    public mutating func recordDelivered(_ key: PartitionKey, offset: Int64, timestampUnixMillis: Int64) -> Disposition {
        // At most one hash lookup a record (none in a run of one partition): the position is read and
        // written back without hashing again.
        let index: Dictionary<PartitionKey, Progress>.Index
        if let last = lastDelivered, last.key == key {
            index = last.index
        } else {
            guard let found = progress.index(forKey: key) else { return .notAssigned }
            index = found
        }
        defer { lastDelivered = (key, index) }
        var p = progress.values[index]
        if p.stopped { return .stopAtGap }
        if p.awaitingFirst {
            p.awaitingFirst = false
            if let from = p.skippedBeforeFirstFrom, offset > from { p.gaps.append(OffsetGap(from: from, to: offset)) }
            p.skippedBeforeFirstFrom = nil
            p.next = offset
        }
        if offset < p.next { return .duplicate }
        switch (p.jumpCheck, offset > p.next) {
        case (.armed, true):
            p.jumpCheck = .seekPending
            repositions[key] = p.next
            progress.values[index] = p
            return .reposition
        case (.seekPending, true):
            return .reposition
        case (nil, _), (.sought, true):
            break
        case (_, false):
            p.jumpCheck = nil
        }
        if offset > p.next {
            p.jumpCheck = nil
            let gap = OffsetGap(from: p.next, to: offset)
            detectedGaps.append(DetectedGap(partition: key, gap: gap))
            if gapPolicy == .stop {
                // Never advance over the gap; what was taken before it still advances at the next seal.
                p.stopReason = .gap(gap)
                progress.values[index] = p
                return .stopAtGap
            }
            p.gaps.append(gap)
        }
        p.next = offset + 1
        progress.values[index] = p
        openRecords += 1
        openMaxRecordTime = max(openMaxRecordTime, timestampUnixMillis)
        return .take
    }

    /// Writes (or removes, with nil) a partition's progress; forgets the cached place of the last one.
    private mutating func setProgress(_ key: PartitionKey, _ p: Progress?) {
        lastDelivered = nil
        progress[key] = p
    }

    /// Notes when the open epoch got its first record (for `flush.interval`).
    public mutating func noteOpen(at now: ContinuousClock.Instant) {
        if openSince == nil, openRecords > 0 || hasPendingAdvance { openSince = now }
    }

    var hasPendingAdvance: Bool {
        progress.values.contains { !$0.awaitingFirst && (!$0.gaps.isEmpty || $0.openFrom != $0.next) }
    }

    /// Whether to seal now. Something must be open, and the writer must have room (fewer than
    /// `maxInflightEpochs` sealed epochs unacknowledged: while it has none, the open epoch keeps
    /// growing, see ``mustStopTaking(openSpans:maxSpans:)``). Then: the epoch holds `maxSpans` spans, or
    /// `interval` has passed since it opened, or the writer is idle (nothing in flight) and the epoch
    /// is `idleWriterAfter` old: under light load an epoch goes to an idle writer at once (fresh
    /// answers), under heavy load epochs grow while the writer works (fewer, larger transactions).
    public func shouldSeal(
        now: ContinuousClock.Instant, interval: Duration, openSpans: Int, maxSpans: Int, idleWriterAfter: Duration? = nil
    ) -> Bool {
        guard let since = openSince, inflight < maxInflightEpochs else { return false }
        if openSpans >= maxSpans || now - since >= interval { return true }
        guard let idleWriterAfter else { return false }
        return inflight == 0 && now - since >= idleWriterAfter
    }

    /// How long after `now` ``shouldSeal(now:interval:openSpans:maxSpans:idleWriterAfter:)`` turns true by
    /// time alone (zero when it already would), or nil when no time can make it: nothing is open, or the
    /// writer has no room (its answer changes that, not the clock). The ingest thread waits in its poll
    /// no longer than this, so an epoch goes to an idle writer when due, not at the next poll timeout.
    public func sealDue(after now: ContinuousClock.Instant, interval: Duration, idleWriterAfter: Duration? = nil) -> Duration? {
        guard let since = openSince, inflight < maxInflightEpochs else { return nil }
        var wait = interval
        if inflight == 0, let idle = idleWriterAfter { wait = min(wait, idle) }
        return max(.zero, since + wait - now)
    }

    /// Seals the open epoch: returns its plan (nil when nothing moved) and starts a new one.
    ///
    /// Every partition advances over exactly the records it took (and the gaps it recorded) in the open
    /// epoch, the records' cost being in the shards' deltas: a stopped partition advances over what it
    /// took before it stopped (never over the gap), and a partition still waiting for its first record
    /// advances nowhere (no row is written for it: "no row" must not become "offset 0").
    public mutating func seal() -> SealedEpochPlan? {
        var advances: [PartitionAdvance] = []
        for key in progress.keys.sorted() {
            guard var p = progress[key], !p.awaitingFirst else { continue }
            if p.openFrom == p.next, p.gaps.isEmpty { continue }
            advances.append(PartitionAdvance(partition: key, from: p.openFrom, to: p.next, gaps: p.gaps))
            p.openFrom = p.next
            p.gaps = []
            setProgress(key, p)
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

    /// The writer has no room for another sealed epoch (`maxInflightEpochs` unacknowledged): the open
    /// epoch cannot be sealed and keeps taking records until it is full.
    public var writerFull: Bool { inflight >= maxInflightEpochs }

    /// The writer has no room and the open epoch holds `maxSpans` spans: take no more records (wait,
    /// then pause fetching) until an epoch commits. Memory stays bounded by `maxInflightEpochs` sealed
    /// epochs plus one open epoch of `maxSpans` spans (and what one poll adds).
    public func mustStopTaking(openSpans: Int, maxSpans: Int) -> Bool {
        writerFull && openSpans >= maxSpans
    }

    /// After a fencing failure or a lost assignment: everything open or in flight is void. Starts a new
    /// generation; the caller re-reads offsets from Postgres and calls `partitionAssigned` again.
    public mutating func resync() {
        generation += 1
        progress = [:]
        lastDelivered = nil
        detectedGaps = []
        openRecords = 0
        openMaxRecordTime = 0
        openSince = nil
    }
}
