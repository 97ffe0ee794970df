import Aggregation

/// The ingest thread's decisions, as a pure state machine: no I/O, no clock (callers pass the time and
/// the counters they read), no locks. Inputs are what happened (past tense: a record was delivered, the
/// writer answered, partitions were revoked, time passed); outputs are what the ingest thread must do
/// (imperative: seal, pause, resume, resync, commit to Kafka). `IngestLoop` keeps only the I/O: it
/// polls, dispatches to shards, talks to librdkafka and the writer, and executes the actions in order.
///
/// It owns the offsets bookkeeping (``EpochTracker``), the isolation of records the database refused
/// (``Quarantine``), whether the partitions are paused, and which partitions wait for their stored
/// offset ("unsynced"). Guarantees, on top of ``EpochTracker``'s: an epoch is sealed only when the writer
/// has room (or a revoke, a shutdown or the quarantine forces it); a resync is asked for at most once per
/// batch of writer answers; a resume never resumes an unsynced or stopped partition.
struct IngestStateMachine: Sendable {
    /// What the ingest thread must do, in the order given.
    enum Action: Equatable, Sendable {
        /// Send `.seal` for this plan to every shard, then the plan to the assembler.
        case seal(SealedEpochPlan)
        /// Stop fetching these partitions.
        case pause([PartitionKey])
        /// Fetch these partitions again.
        case resume([PartitionKey])
        /// Everything open or in flight is void: make the writer drop epochs of a generation below
        /// `voidBelow`, discard the shards' open deltas, wait until every epoch in flight is answered,
        /// then call ``resyncDrained(assigned:)`` and re-read the offsets of the partitions it marks.
        case resync(voidBelow: UInt64)
        /// Report the offsets of a committed epoch to Kafka (lag only: Postgres holds the truth).
        case commitToKafka(epochID: UInt64, advances: [PartitionAdvance])
        /// Wake librdkafka's fetcher for these partitions (`KafkaConsumer.nudgeFetcher`).
        case nudgeFetcher([PartitionKey])
    }

    /// What to do with one delivered record.
    enum RecordDecision: Equatable, Sendable {
        /// Fold it (route it to its shard).
        case fold
        /// Reject it with this reason instead of folding it (the database refused it before).
        case reject(Quarantine.Poison)
        /// A re-delivery, or a record of a partition no longer ours: skip it.
        case skip
        /// The partition stopped (a gap under `kafka.on_gap: stop`): skip it and pause the partition.
        case stopPartition
    }

    /// `flush.*` settings.
    struct SealPolicy: Sendable {
        var interval: Duration
        var maxSpans: Int
        /// See ``IngestSettings/idleWriterSealAfter``.
        var idleWriterAfter: Duration?
    }

    private(set) var tracker: EpochTracker
    private(set) var quarantine = Quarantine()
    /// Whether all assigned partitions are paused for backpressure.
    private(set) var paused = false
    /// Assigned partitions whose stored offset could not be read yet (they wait paused).
    private(set) var unsynced: Set<PartitionKey> = []
    /// The writer is retrying an epoch after a transient failure (a `.failing` notice and no answer
    /// since): records taken now could only wait in memory.
    private(set) var writerFailing = false
    let policy: SealPolicy
    /// The last record taken into the open epoch (names the culprit of a one-record epoch).
    private var lastTaken: (key: PartitionKey, offset: Int64)?
    /// Sealed one-record epochs in flight → their record.
    private var singleRecordEpochs: [UInt64: (key: PartitionKey, offset: Int64)] = [:]

    init(maxInflightEpochs: Int, gapPolicy: Configuration.GapPolicy, policy: SealPolicy) {
        self.tracker = EpochTracker(maxInflightEpochs: maxInflightEpochs, gapPolicy: gapPolicy)
        self.policy = policy
    }

    // MARK: records

    /// A record at `offset` of `key` was delivered, stamped `clockMillis` (0 when its time is not a
    /// plausible time). Returns what to do with it, and whether the open epoch must be sealed right after
    /// it (the quarantine re-reads records in epochs of at most its limit).
    mutating func recordDelivered(_ key: PartitionKey, offset: Int64, clockMillis: Int64) -> (RecordDecision, sealAfter: Bool) {
        switch tracker.recordDelivered(key, offset: offset, timestampUnixMillis: clockMillis) {
        case .take:
            lastTaken = (key, offset)
            let decision: RecordDecision = quarantine.poison(key, offset: offset).map { .reject($0) } ?? .fold
            quarantine.recordTaken(key, offset: offset)
            let sealAfter = quarantine.epochRecordLimit.map { tracker.recordsInOpenEpoch >= $0 } ?? false
            return (decision, sealAfter)
        case .duplicate, .notAssigned, .reposition:
            return (.skip, false)
        case .stopAtGap:
            return (.stopPartition, false)
        }
    }

    /// Partitions delivered from past their stored offset right after positioning: seek each back to
    /// its offset, then report ``repositioned(_:)`` (see ``EpochTracker/Disposition/reposition``).
    mutating func takeRepositions() -> [(PartitionKey, Int64)] { tracker.takeRepositions() }

    /// `key` was sought back to its expected offset.
    mutating func repositioned(_ key: PartitionKey) { tracker.repositioned(key) }

    /// The most records one poll may bring: under quarantine, no more than the epochs in flight may hold,
    /// so that sealing every `limit` records does not pile up epochs.
    var pollRecordLimit: Int {
        quarantine.epochRecordLimit.map {
            max(1, $0.multipliedReportingOverflow(by: tracker.maxInflightEpochs).partialValue)
        } ?? Int.max
    }

    // MARK: epochs

    /// Time passed: seals the open epoch if it is due (see
    /// ``EpochTracker/shouldSeal(now:interval:openSpans:maxSpans:idleWriterAfter:)``).
    mutating func timePassed(now: ContinuousClock.Instant, openSpans: Int) -> Action? {
        tracker.noteOpen(at: now)
        guard
            tracker.shouldSeal(
                now: now, interval: policy.interval, openSpans: openSpans, maxSpans: policy.maxSpans,
                idleWriterAfter: policy.idleWriterAfter)
        else { return nil }
        return sealNow()
    }

    /// How long after `now` the open epoch falls due by time (see ``EpochTracker/sealDue(after:interval:idleWriterAfter:)``);
    /// nil when only a record or a writer answer can change that.
    func sealDue(after now: ContinuousClock.Instant) -> Duration? {
        tracker.sealDue(after: now, interval: policy.interval, idleWriterAfter: policy.idleWriterAfter)
    }

    /// A poll came back empty while `lagging` partitions still had records to fetch (librdkafka's cached
    /// high watermark is past the position): wake the fetcher for those it should be fetching (not
    /// paused for backpressure, unsynced or stopped). Nil when none is.
    func pollEmptyWithLag(_ lagging: [PartitionKey]) -> Action? {
        guard !paused else { return nil }
        let keys = lagging.filter { !unsynced.contains($0) && !tracker.isStopped($0) }
        return keys.isEmpty ? nil : .nudgeFetcher(keys.sorted())
    }

    /// Seals the open epoch whatever the writer holds (a revoke, a shutdown, the quarantine's limit).
    /// Nil when nothing moved.
    mutating func sealNow() -> Action? {
        let single = tracker.recordsInOpenEpoch == 1 ? lastTaken : nil
        lastTaken = nil
        guard let plan = tracker.seal() else { return nil }
        if let single { singleRecordEpochs[plan.epochID] = single }
        return .seal(plan)
    }

    /// The writer answered these epochs. Accounts for every answer first, then asks for one resync if
    /// any answer voids what is in flight (a fence, or data the database refused): a resync waits for
    /// the epochs in flight, and answers still unprocessed would never reach that wait.
    mutating func writerAnswered(_ notices: [WriterNotice]) -> [Action] {
        var actions: [Action] = []
        var resyncNeeded = false
        for n in notices {
            if n.isAnswer { writerFailing = false }  // the writer made progress
            switch n {
            case .failing:
                writerFailing = true
            case .committed(let id, let advances, _, _):
                tracker.epochFinished()
                singleRecordEpochs[id] = nil
                quarantine.epochCommitted(advances)
                actions.append(.commitToKafka(epochID: id, advances: advances))
            case .dropped(let id):
                tracker.epochFinished()
                singleRecordEpochs[id] = nil
            case .unwritable(let id, let records, let advances, let sqlState, let detail):
                tracker.epochFinished()
                quarantine.epochUnwritable(
                    records: records, advances: advances, single: singleRecordEpochs.removeValue(forKey: id),
                    sqlState: sqlState, detail: detail)
                resyncNeeded = true
            case .fenced(let id, _):
                tracker.epochFinished()
                singleRecordEpochs[id] = nil
                resyncNeeded = true
            }
        }
        if resyncNeeded { actions.append(resync()) }
        return actions
    }

    /// Everything open or in flight is void (a fence, refused data, a lost assignment): starts a new
    /// generation. Follow the returned `.resync`, then call ``resyncDrained(assigned:)``.
    mutating func resync() -> Action {
        tracker.resync()
        lastTaken = nil
        return .resync(voidBelow: tracker.generation)
    }

    /// The epochs in flight are answered after a resync: every assigned partition waits for its stored
    /// offset to be read again.
    mutating func resyncDrained(assigned: [PartitionKey]) {
        unsynced.formUnion(assigned)
    }

    // MARK: backpressure

    /// Whether the ingest thread must wait before its next poll: the writer has no room and the open
    /// epoch is full, or the writer has no room and is retrying a failed write (the database is down:
    /// an outage holds no more than the epochs in flight and the open epoch as it was), or the shards
    /// hold more than the byte budget (`overBudget`).
    func mustWait(openSpans: Int, overBudget: Bool) -> Bool {
        overBudget || tracker.mustStopTaking(openSpans: openSpans, maxSpans: policy.maxSpans) || writerStalled
    }

    /// The writer is retrying a failed write and has no room: it will not make room soon, so the ingest
    /// thread pauses at once instead of waiting first (a wait would only let librdkafka's prefetch fill).
    var writerStalled: Bool { writerFailing && tracker.writerFull }

    /// Backpressure was checked: `blocked` after waiting as long as allowed (see ``mustWait``). Pauses
    /// or resumes `assigned` when that changes; a resume leaves unsynced and stopped partitions paused.
    mutating func backpressureChecked(blocked: Bool, assigned: [PartitionKey]) -> Action? {
        guard blocked != paused else { return nil }
        paused = blocked
        if blocked { return .pause(assigned) }
        return .resume(assigned.filter { !unsynced.contains($0) && !tracker.isStopped($0) })
    }

    // MARK: rebalance

    /// Partitions were revoked. Lost (another member may own them already): their state is dropped and
    /// everything in flight is void (`.resync`). Revoked cleanly: the open epoch is sealed so that what
    /// was read from them is written before another member starts on them; wait for the epochs in
    /// flight, then call ``revokedPartitionsWritten(_:)``.
    mutating func partitionsRevoked(_ keys: [PartitionKey], lost: Bool) -> [Action] {
        unsynced.subtract(keys)
        if lost {
            tracker.partitionsRemoved(keys)
            quarantine.partitionsRemoved(keys)
            return [resync()]
        }
        return sealNow().map { [$0] } ?? []
    }

    /// The epochs in flight at a clean revoke are answered (or the wait timed out): forget the partitions.
    mutating func revokedPartitionsWritten(_ keys: [PartitionKey]) {
        tracker.partitionsRemoved(keys)
        quarantine.partitionsRemoved(keys)
        unsynced.subtract(keys)
    }

    /// An assigned partition's stored offset could not be read: it waits paused until a read succeeds.
    mutating func partitionUnsynced(_ key: PartitionKey) -> Action {
        unsynced.insert(key)
        return .pause([key])
    }

    /// `key`'s stored offset was read (after it waited unsynced).
    mutating func partitionSynced(_ key: PartitionKey) {
        unsynced.remove(key)
    }

    /// A partition is tracked from here (see ``EpochTracker/partitionAssigned(_:stored:logStart:logEnd:start:)``).
    /// `expectFirst`: no stored offset and the first delivered record sets where it starts (`skippedFrom`:
    /// the skipped range's start for `latest` with an unknown end). Returns `.pause` when the partition is
    /// stopped from the start (its stored offset is past the log end) or all partitions are paused.
    mutating func partitionAssigned(
        _ key: PartitionKey, stored: Int64?, logStart: Int64, logEnd: Int64, start: Configuration.StartPosition,
        expectFirst: Bool, skippedFrom: Int64?
    ) -> Action? {
        _ = tracker.partitionAssigned(key, stored: stored, logStart: logStart, logEnd: logEnd, start: start)
        if expectFirst { tracker.expectFirstRecord(key, skippedFrom: skippedFrom) }
        return tracker.isStopped(key) || paused ? .pause([key]) : nil
    }
}

extension IngestStateMachine {
    /// Gaps the tracker found since the last call, each once (see ``EpochTracker/takeDetectedGaps()``).
    mutating func takeDetectedGaps() -> [DetectedGap] { tracker.takeDetectedGaps() }
}
