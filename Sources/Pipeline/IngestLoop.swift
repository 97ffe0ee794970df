import DurationUnits
import Aggregation
import Foundation
import Kafka
import Logging
import Synchronization
import TraceContext

/// The ingest thread: the ONE thread that polls, pauses, resumes, seeks and commits the consumer and
/// serves its rebalances. It routes records to shards by trace id (header, else key, else round-robin),
/// keeps the per-partition offsets (`EpochTracker`), seals epochs, applies backpressure by pausing all
/// assigned partitions, and reacts to the writer's notices. Never runs on the cooperative pool.
final class IngestLoop: @unchecked Sendable {
    // Safe: every mutable field is touched only on the ingest thread (inside `run`).
    private let consumer: KafkaConsumer
    private let shards: [AsyncStream<ShardMessage>.Continuation]
    private let assembler: EpochAssembler
    private let notices: NoticeBox
    private let writer: EpochWriterLoop
    private let startOffsets: StartOffsets
    private let gauges: PipelineGauges
    private let status: PipelineStatus
    private let settings: IngestSettings
    private let logger: Logger
    let stopRequested = Atomic<Bool>(false)

    /// Every decision (offsets, epochs, quarantine, pause, unsynced partitions); this type does the I/O.
    private var machine: IngestStateMachine
    private var reachability = BrokerReachability(brokers: "")
    private var roundRobin = 0
    /// What a polled record costs against the byte budget, estimated from recent batches (start: 1 MiB,
    /// Kafka's default maximum record size, so that the first poll cannot bring a flood).
    private var recordBytesEstimate = 1 << 20
    /// When the consumer-lag gauges were last set (from librdkafka's cached watermarks).
    private var lagUpdatedAt = ContinuousClock.now
    private var lastNudge = ContinuousClock.now
    private var lastRecordsAt = ContinuousClock.now
    static let lagUpdateInterval = Duration.seconds(2)

    init(
        consumer: KafkaConsumer, shards: [AsyncStream<ShardMessage>.Continuation], assembler: EpochAssembler,
        notices: NoticeBox, writer: EpochWriterLoop, startOffsets: StartOffsets, gauges: PipelineGauges,
        status: PipelineStatus, settings: IngestSettings, logger: Logger
    ) {
        self.consumer = consumer
        self.shards = shards
        self.assembler = assembler
        self.notices = notices
        self.writer = writer
        self.startOffsets = startOffsets
        self.gauges = gauges
        self.status = status
        self.settings = settings
        self.logger = logger
        self.machine = IngestStateMachine(
            maxInflightEpochs: settings.maxInflightEpochs, gapPolicy: settings.gapPolicy,
            policy: .init(interval: settings.flushInterval, maxSpans: settings.flushMaxSpans, idleWriterAfter: settings.idleWriterSealAfter))
        self.reachability = BrokerReachability(brokers: settings.brokers)
    }

    /// Runs until `stopRequested`; then seals, writes, commits and leaves the group. Returns whether the
    /// shutdown drained everything in time.
    func run() -> Bool {
        while !stopRequested.load(ordering: .relaxed) {
            handle(notices.drain())
            syncUnsyncedPartitions()
            let result: KafkaPollResult
            do {
                result = try consumer.poll(maxMessages: min(pollLimit(), machine.pollRecordLimit), timeout: pollTimeout())
            } catch {
                logger.critical("consumer failed", metadata: ["error": "\(error)"])
                status.setStopReason("consumer failed: \(error)")
                break
            }
            if let detail = consumer.takeAllBrokersDownReport() {
                reachability.allBrokersDown(detail: detail, stopping: stopRequested.load(ordering: .relaxed), status: status, logger: logger)
            }
            if result.messages != nil || result.events.contains(where: { if case .assigned = $0 { true } else { false } }) {
                reachability.reachable(status: status, logger: logger)
            }
            for event in result.events { handle(event) }
            if let batch = result.messages {
                lastRecordsAt = .now
                dispatch(batch)
            } else {
                nudgeFetcherIfStalled()
            }
            handle(notices.drain())  // An answer that came during the poll (it woke the poll) counts now.
            let now = ContinuousClock.now
            sealIfDue(now: now)
            applyBackpressure()
            gauges.inflightEpochs.store(machine.tracker.inflight, ordering: .relaxed)
            if now - lagUpdatedAt >= Self.lagUpdateInterval {
                lagUpdatedAt = now
                let assigned = consumer.assignment
                gauges.metrics.updateLag(consumer.cachedLag(assigned), assignment: assigned)
            }
        }
        return shutdown()
    }

    /// After an empty poll: when no record came for 200 ms while partitions have records left to fetch,
    /// their fetcher is woken (see ``KafkaConsumer/nudgeFetcher(_:timeout:)``), at most once a second (a
    /// fetch slower than that is left alone).
    private func nudgeFetcherIfStalled() {
        let now = ContinuousClock.now
        guard now - lastRecordsAt >= .milliseconds(200), now - lastNudge >= .seconds(1) else { return }
        lastNudge = now
        let lagging = consumer.cachedLag(consumer.assignment).compactMap { tp, lag in
            lag > 0 ? PartitionKey(topic: tp.topic, partition: tp.partition) : nil
        }
        guard !lagging.isEmpty else { return }
        perform(machine.pollEmptyWithLag(lagging))
    }

    /// The longest a poll waits: 100 ms, or less when the open epoch falls due by time sooner (writer
    /// answers and records wake the poll themselves).
    private func pollTimeout() -> Duration {
        let most = Duration.milliseconds(100)
        guard let due = machine.sealDue(after: .now) else { return most }
        return min(most, max(.milliseconds(1), due))
    }

    // MARK: records

    private func dispatch(_ batch: KafkaMessageBatch) {
        let n = shards.count
        var perShard = [[Int32]](repeating: [], count: n)
        var pending = 0
        // The whole batch stays in memory until the last shard drops it: count all of it, once.
        var bytes = 0
        for i in batch.indices {
            let m = batch[i]
            bytes += DispatchBudget.cost(valueBytes: m.value.count, keyBytes: m.key?.count ?? 0)
        }
        recordBytesEstimate = DispatchBudget.nextRecordBytesEstimate(
            previous: recordBytesEstimate, batchAverage: bytes / max(1, batch.count))
        let held = DispatchedBytes(bytes: bytes, gauges: gauges)
        gauges.notePeakBufferedBytes()
        // Hands what was routed so far to the shards (before a mid-batch seal, and at the end).
        func handOver() {
            guard pending > 0 else { return }
            gauges.queuedRecords.add(pending, ordering: .relaxed)
            for s in 0..<n where !perShard[s].isEmpty {
                shards[s].yield(.records(batch, perShard[s], held))
                perShard[s] = []
            }
            pending = 0
        }
        let clockCeiling = Self.recordTimeCeiling(skew: settings.maxFutureSkew)
        for i in batch.indices {
            let m = batch[i]
            let key = PartitionKey(topic: m.topic, partition: m.partition)
            // Only a record time that is a plausible time may move the epoch's clock ("now" for the grace rule).
            let stamp = m.timestamp?.milliseconds ?? 0
            let clock = stamp >= 0 && stamp <= clockCeiling ? stamp : 0
            let (decision, sealAfter) = machine.recordDelivered(key, offset: m.offset, clockMillis: clock)
            switch decision {
            case .fold:
                perShard[route(m, shards: n)].append(Int32(i))
                pending += 1
            case .reject(let poison):
                handOver()
                gauges.queuedRecords.add(1, ordering: .relaxed)
                shards[route(m, shards: n)].yield(.reject(batch, Int32(i), poison.reason, poison.detail, held))
                logger.warning(
                    "rejecting a record the database refused",
                    metadata: ["partition": "\(key)", "offset": "\(m.offset)", "reason": "\(poison.reason.rawValue)"])
            case .skip:
                continue
            case .stopPartition:
                logger.debug("record of a stopped partition not taken", metadata: ["partition": "\(key)", "offset": "\(m.offset)"])
                try? consumer.pause([TopicPartition(topic: key.topic, partition: key.partition)])
            }
            if sealAfter {
                handOver()
                perform(machine.sealNow())
            }
        }
        handOver()
        repositionMisplacedPartitions()
        reportDetectedGaps()
    }

    /// Seeks back each partition whose first record after positioning came from past its stored offset
    /// (once; a jump after that is a gap). Seen in chaos seed 304: a partition assigned at END while the
    /// database was unreadable, then sought to its stored offset, delivered from END first.
    private func repositionMisplacedPartitions() {
        for (key, offset) in machine.takeRepositions() {
            let tp = TopicPartition(topic: key.topic, partition: key.partition)
            guard consumer.assignment.contains(tp) else { continue }
            do {
                try consumer.seek([PartitionOffset(tp, offset: offset)])
                logger.warning(
                    "partition delivered past its stored offset: seeking back",
                    metadata: ["topic": "\(key.topic)", "partition": "\(key.partition)", "offset": "\(offset)"])
            } catch {
                logger.error("seek back to the stored offset failed", metadata: ["partition": "\(key)", "error": "\(error)"])
            }
            machine.repositioned(key)
        }
    }

    /// The latest record time (ms) that counts as a time: this worker's clock + `records.max_future_skew`.
    static func recordTimeCeiling(skew: Duration) -> Int64 {
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        return nowMillis.addingReportingOverflow(skew.wholeMilliseconds).partialValue  // Safe: both ≪ Int64.max.
    }

    /// Logs and counts each gap the tracker found (once): records Kafka no longer had when we read.
    private func reportDetectedGaps() {
        for d in machine.takeDetectedGaps() {
            // Safe: to > from ≥ 0 (the tracker records a gap only for a jump forward).
            let skipped = d.gap.to - d.gap.from
            gauges.gapsDetected.add(1, ordering: .relaxed)
            gauges.gapRecordsSkipped.add(Int(skipped), ordering: .relaxed)
            logger.error(
                settings.gapPolicy == .stop
                    ? "records missing (kafka.on_gap: stop): partition stopped before the gap"
                    : "records missing: recorded in retention_gaps",
                metadata: [
                    "topic": "\(d.partition.topic)", "partition": "\(d.partition.partition)", "from": "\(d.gap.from)",
                    "to": "\(d.gap.to)", "records": "\(skipped)",
                ])
        }
    }

    private func route(_ m: KafkaMessage, shards n: Int) -> Int {
        guard n > 1 else { return 0 }
        if let tp = m.header("traceparent"), let parsed = TraceParent.parseOrNil(tp) {
            return Int((parsed.traceID.high ^ parsed.traceID.low) % UInt64(n))
        }
        if let key = m.key, let id = TraceID(kafkaKey: key) {
            return Int((id.high ^ id.low) % UInt64(n))
        }
        roundRobin = (roundRobin + 1) % n
        return roundRobin
    }

    // MARK: epochs

    /// Seals the open epoch when it is due (`flush.interval`, `flush.max_spans`, or the writer idle).
    private func sealIfDue(now: ContinuousClock.Instant = .now) {
        perform(machine.timePassed(now: now, openSpans: gauges.openLoad))
    }

    /// Executes the state machine's actions, in order.
    private func perform(_ action: IngestStateMachine.Action?) {
        guard let action else { return }
        switch action {
        case .seal(let plan):
            logger.debug(
                "epoch sealed",
                metadata: ["epoch": "\(plan.epochID)", "records": "\(plan.records)", "spans": "\(gauges.openSpans.load(ordering: .relaxed))",
                           "inflight": "\(machine.tracker.inflight)"])
            gauges.openSpans.store(0, ordering: .relaxed)
            gauges.openRows.store(0, ordering: .relaxed)
            for s in shards { s.yield(.seal(epochID: plan.epochID, generation: plan.generation)) }
            assembler.planSealed(plan)
        case .pause(let keys):
            do {
                try consumer.pause(keys.map { TopicPartition(topic: $0.topic, partition: $0.partition) })
            } catch {
                logger.error("pause failed", metadata: ["error": "\(error)"])
            }
        case .resume(let keys):
            do {
                try consumer.resume(keys.map { TopicPartition(topic: $0.topic, partition: $0.partition) })
            } catch {
                logger.error("resume failed", metadata: ["error": "\(error)"])
            }
        case .resync(let voidBelow):
            writer.voidBelow.store(voidBelow, ordering: .releasing)
            for s in shards { s.yield(.discard) }
            gauges.openSpans.store(0, ordering: .relaxed)
            gauges.openRows.store(0, ordering: .relaxed)
            drainInflight(deadline: nil)
            machine.resyncDrained(assigned: consumer.assignment.map { PartitionKey(topic: $0.topic, partition: $0.partition) })
            syncUnsyncedPartitions()
        case .commitToKafka(let epochID, let advances):
            commitToKafka(advances, epochID: epochID)
        case .nudgeFetcher(let keys):
            // One request wakes a leader's broker thread for all it leads: 16 partitions reach up to 16
            // leaders (leaders are spread over consecutive partitions), one round trip, side by side.
            gauges.metrics.fetcherNudges.increment()
            consumer.nudgeFetcher(keys.prefix(16).map { TopicPartition(topic: $0.topic, partition: $0.partition) }, timeout: .milliseconds(250))
        }
    }

    private func perform(_ actions: [IngestStateMachine.Action]) {
        for a in actions { perform(a) }
    }

    /// Counts and logs the writer's answers, then performs what the state machine makes of them (at
    /// most one resync for the whole batch).
    private func handle(_ notices: [WriterNotice]) {
        guard !notices.isEmpty else { return }
        for n in notices {
            switch n {
            case .committed(_, _, _, let duration):
                // Ledger metrics of this epoch were counted by the writer at its commit (PipelineMetrics).
                gauges.committedEpochs.add(1, ordering: .relaxed)
                gauges.recordWrite(duration)
            case .dropped:
                break
            case .unwritable(let id, let records, _, let sqlState, _):
                gauges.unwritableEpochs.add(1, ordering: .relaxed)
                logger.warning(
                    "unwritable epoch: re-reading its records in smaller epochs",
                    metadata: ["epoch": "\(id)", "records": "\(records)", "sqlstate": "\(sqlState ?? "none")"])
            case .fenced(let id, let detail):
                // Counted by the writer at the moment of the fence (EpochWriterLoop).
                logger.warning("fenced: re-reading offsets from Postgres", metadata: ["epoch": "\(id)", "detail": "\(detail)"])
            case .failing:
                break  // The writer logged the failure; the state machine stops taking records when it has no room.
            }
        }
        perform(machine.writerAnswered(notices))
    }

    /// Lag reporting only: Postgres holds the truth.
    private func commitToKafka(_ advances: [PartitionAdvance], epochID: UInt64) {
        let assigned = consumer.assignment
        let offsets = advances.compactMap { a -> PartitionOffset? in
            let tp = TopicPartition(topic: a.partition.topic, partition: a.partition.partition)
            return assigned.contains(tp) ? PartitionOffset(tp, offset: a.to) : nil
        }
        guard !offsets.isEmpty else { return }
        do {
            // Stored, not committed: librdkafka's commit timer commits them and skips while the group
            // rebalances; a commit of ours sent then could cost the whole assignment (librdkafka #4059).
            try consumer.storeOffsets(offsets)
        } catch {
            logger.debug("kafka offset commit (lag only) failed", metadata: ["epoch": "\(epochID)", "error": "\(error)"])
        }
    }

    /// Blocks (serving notices, not polling) until no sealed epoch is in flight or the deadline passes.
    @discardableResult
    /// `duringShutdown` false (a revoke's or a resync's drain): returns early once a stop is requested,
    /// so that the shutdown's own drain, bounded by `shutdown.timeout`, takes over.
    private func drainInflight(deadline: ContinuousClock.Instant?, duringShutdown: Bool = false) -> Bool {
        while machine.tracker.inflight > 0 {
            if let deadline, ContinuousClock.now >= deadline { return false }
            if !duringShutdown, stopRequested.load(ordering: .relaxed) { return false }
            handle(notices.wait(timeout: .milliseconds(100)))
        }
        return true
    }

    // MARK: rebalance

    private func handle(_ event: KafkaConsumerEvent) {
        switch event {
        case .assigned(let offsets):
            var synced: [(key: PartitionKey, stored: Int64?, startsAt: Int64)] = []
            for po in offsets {
                let key = PartitionKey(topic: po.topicPartition.topic, partition: po.topicPartition.partition)
                let answer = startOffsets.answer(for: key, assignedAt: po.offset)
                if answer.unsynced {
                    perform(machine.partitionUnsynced(key))
                    continue
                }
                synced.append((key, answer.stored, po.offset))
            }
            let watermarks = queryWatermarks(synced.map { ($0.key, $0.stored) })
            for p in synced {
                _ = assign(p.key, stored: p.stored, startsAt: p.startsAt, watermarks: watermarks[p.key])
            }
            gauges.metrics.rebalanced(
                assigned: offsets.map(\.topicPartition), revoked: [], lost: false, assignment: consumer.assignment.count)
            logger.info("partitions assigned", metadata: ["partitions": "\(offsets.map { $0.description })"])
            status.setAssignedPartitions(consumer.assignment.count)
        case .revoked(let tps, let lost):
            let keys = tps.map { PartitionKey(topic: $0.topic, partition: $0.partition) }
            if lost { logger.warning("assignment lost: dropping open state", metadata: ["partitions": "\(keys)"]) }
            // Lost: resync. Revoked: write what we hold for them before another member starts on them;
            // fencing makes a race with the new owner safe either way.
            perform(machine.partitionsRevoked(keys, lost: lost))
            if !lost {
                drainInflight(deadline: ContinuousClock.now + settings.shutdownTimeout)
                machine.revokedPartitionsWritten(keys)
            }
            gauges.metrics.rebalanced(assigned: [], revoked: tps, lost: lost, assignment: consumer.assignment.count)
            logger.info("partitions revoked", metadata: ["partitions": "\(keys)", "lost": "\(lost)"])
            status.setAssignedPartitions(consumer.assignment.count)
        case .error(let error):
            if reachability.handle(error, stopping: stopRequested.load(ordering: .relaxed), status: status, logger: logger) { break }
            logger.warning("kafka", metadata: ["error": "\(error)"])
        }
    }

    /// Starts tracking a partition. `startsAt` is the offset the consumer was told to start at, if
    /// known (the assignment resolves `latest` to a number). Returns where a caller that positions the
    /// partition itself should seek for `latest`: the end the skipped backlog is recorded up to (the
    /// start pinned for the partition, reused until Postgres has a row).
    ///
    /// A stored offset past the partition's high watermark (topic deleted and recreated, log truncated)
    /// stops the partition: it stays paused, takes and advances nothing, and the mismatch is logged and
    /// counted (`offsetsBeyondLogEnd`). Reading on would skip the new log's records up to the stored offset.
    /// `watermarks`: the partition's, from ``queryWatermarks(_:)`` (nil when the query failed or was
    /// not needed).
    private func assign(_ key: PartitionKey, stored: Int64?, startsAt: Int64?, watermarks w: Watermarks?) -> Int64? {
        var logStart: Int64 = 0
        var logEnd: Int64 = 0
        var latestTarget: Int64?
        var latestUnknown = false
        if let stored {
            // A stored offset below the log start shows up as a jump at the first record (a gap), so only
            // the end matters here. When the query fails, nothing can be checked: go on as before.
            logStart = stored
            logEnd = w?.high ?? stored
        } else if settings.start == .latest {
            if let s = startOffsets.latestStart(for: key, startsAt: startsAt, watermarks: w.map { ($0.low, $0.high) }) {
                // The gap ends exactly where consumption starts, so no record falls between the two.
                (logStart, logEnd) = (s.logStart, s.logEnd)
                latestTarget = s.logEnd
            } else {
                latestUnknown = true
            }
        }
        // No stored offset and `earliest`: the first delivered record is the start. Neither the assignment
        // nor a query told where the end is (`latest`): librdkafka resolves END later; no row until the
        // first record, which records everything before it as skipped.
        let pause = machine.partitionAssigned(
            key, stored: stored, logStart: logStart, logEnd: logEnd, start: settings.start,
            expectFirst: (stored == nil && settings.start == .earliest) || latestUnknown, skippedFrom: latestUnknown ? 0 : nil)
        if case .storedBeyondLogEnd(let s, let high) = machine.tracker.stopReason(key) {
            gauges.offsetsBeyondLogEnd.add(1, ordering: .relaxed)
            logger.error(
                "stored offset is past the partition's end (topic recreated or log truncated?): partition stopped, nothing read; fix ingest_offsets and restart",
                metadata: ["topic": "\(key.topic)", "partition": "\(key.partition)", "stored": "\(s)", "high_watermark": "\(high)"])
        }
        perform(pause)
        return latestTarget
    }

    /// The watermarks ``assign(_:stored:startsAt:watermarks:)`` checks, for the partitions that need
    /// them (a stored offset, or no stored offset and `start: latest`), asked side by side: one at a
    /// time, each waited behind the broker's outstanding fetch (up to `fetch.wait.max.ms`), which
    /// delayed a takeover by seconds. A failed query is absent.
    private func queryWatermarks(_ partitions: [(key: PartitionKey, stored: Int64?)]) -> [PartitionKey: Watermarks] {
        let needed = partitions.filter { $0.stored != nil || settings.start == .latest }
            .map { TopicPartition(topic: $0.key.topic, partition: $0.key.partition) }
        guard !needed.isEmpty else { return [:] }
        var out: [PartitionKey: Watermarks] = [:]
        for (tp, result) in consumer.queryWatermarks(needed, timeout: .seconds(5)) {
            if case .success(let w) = result { out[PartitionKey(topic: tp.topic, partition: tp.partition)] = w }
        }
        return out
    }

    /// Partitions whose stored offset could not be read wait paused; retried every loop.
    private func syncUnsyncedPartitions() {
        guard !machine.unsynced.isEmpty else { return }
        let keys = machine.unsynced.sorted()
        let stored: [PartitionKey: Int64]
        do {
            stored = try startOffsets.read(keys)
        } catch {
            status.setDatabaseError(error.detail)
            return
        }
        let assigned = consumer.assignment
        let watermarks = queryWatermarks(
            keys.filter { assigned.contains(TopicPartition(topic: $0.topic, partition: $0.partition)) }.map { ($0, stored[$0]) })
        var seeks: [PartitionOffset] = []
        var resumes: [TopicPartition] = []
        for key in keys {
            let tp = TopicPartition(topic: key.topic, partition: key.partition)
            machine.partitionSynced(key)
            guard assigned.contains(tp) else { continue }
            startOffsets.markSynced(key, stored: stored[key])
            let latestTarget = assign(key, stored: stored[key], startsAt: nil, watermarks: watermarks[key])
            if machine.tracker.isStopped(key) { continue }  // stays paused (assign said why)
            let target: Int64
            if let s = stored[key] {
                target = s
            } else if settings.start == .latest {
                target = latestTarget ?? KafkaOffset.end
            } else {
                target = KafkaOffset.beginning
            }
            seeks.append(PartitionOffset(tp, offset: target))
            resumes.append(tp)
        }
        do {
            if !seeks.isEmpty { try consumer.seek(seeks) }
            if !machine.paused, !resumes.isEmpty { try consumer.resume(resumes) }
        } catch {
            logger.error("seek after re-reading offsets failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: backpressure

    /// How many records the next poll may return (see ``DispatchBudget/pollLimit``).
    private func pollLimit() -> Int {
        DispatchBudget(maxBytes: settings.maxBufferedBytes).pollLimit(
            bufferedBytes: gauges.bufferedBytes.load(ordering: .relaxed), recordBytesEstimate: recordBytesEstimate,
            maxMessages: settings.pollMaxMessages)
    }

    /// Three conditions, one wait (docs/architecture.md, Backpressure): while the shards hold more than
    /// `pipeline.max_buffered_bytes`, or the writer has no room (`flush.max_inflight_epochs` sealed
    /// epochs unacknowledged) and the open epoch is full (`flush.max_spans`) or the writer is retrying a
    /// failed write (``IngestStateMachine/mustWait(openSpans:overBudget:)``), wait here before the next
    /// poll, serving the writer's notices and sealing as soon as the writer has room. No pause while
    /// waiting: a pause purges librdkafka's prefetch, which a resume must fetch again. After
    /// `bufferWaitMax`, pause all assigned partitions as a fallback so that polls keep the group
    /// membership; resuming leaves unsynced and stopped partitions paused.
    private func applyBackpressure() {
        let budget = DispatchBudget(maxBytes: settings.maxBufferedBytes)
        func blocked() -> Bool {
            machine.mustWait(
                openSpans: gauges.openLoad,
                overBudget: !budget.admitsPoll(bufferedBytes: gauges.bufferedBytes.load(ordering: .relaxed)))
        }
        var isBlocked = blocked()
        if isBlocked, !machine.paused, !machine.writerStalled {  // a stalled writer: pause at once
            let began = ContinuousClock.now
            gauges.bufferWaits.add(1, ordering: .relaxed)
            while isBlocked, !stopRequested.load(ordering: .relaxed), ContinuousClock.now - began < settings.bufferWaitMax {
                handle(notices.wait(timeout: .milliseconds(5)))
                sealIfDue()
                isBlocked = blocked()
            }
        }
        let assigned = consumer.assignment.map { PartitionKey(topic: $0.topic, partition: $0.partition) }
        guard let action = machine.backpressureChecked(blocked: isBlocked && !stopRequested.load(ordering: .relaxed), assigned: assigned)
        else { return }
        perform(action)
        status.setPaused(machine.paused)
        logger.debug(
            machine.paused ? "paused: writer behind or failing, or shards over the byte budget" : "resumed",
            metadata: ["inflight": "\(machine.tracker.inflight)", "buffered_bytes": "\(gauges.bufferedBytes.load(ordering: .relaxed))"])
    }

    // MARK: shutdown

    private func shutdown() -> Bool {
        let deadline = ContinuousClock.now + settings.shutdownTimeout
        perform(machine.sealNow())
        let drained = drainInflight(deadline: deadline, duringShutdown: true)
        if !drained {
            writer.giveUp.store(true, ordering: .relaxed)
            logger.error("shutdown timeout: epochs not written will be re-read from Kafka by the next owner")
        }
        do {
            let events = try consumer.close()
            for case .revoked(let tps, let lost) in events {
                gauges.metrics.rebalanced(assigned: [], revoked: tps, lost: lost, assignment: 0)
            }
        } catch {
            logger.warning("consumer close", metadata: ["error": "\(error)"])
        }
        // Out of the group: no partitions, no lag series.
        gauges.metrics.updateLag([:], assignment: [])
        gauges.metrics.assignedPartitions.record(0)
        for s in shards { s.finish() }
        return drained
    }
}
