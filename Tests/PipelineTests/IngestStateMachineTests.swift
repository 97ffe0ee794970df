import Aggregation
@testable import Pipeline
import Testing

/// Event → action, without Kafka or Postgres: what the ingest thread must do after each thing happens.
@Suite("ingest state machine")
struct IngestStateMachineTests {
    let p0 = PartitionKey(topic: "t", partition: 0)
    let p1 = PartitionKey(topic: "t", partition: 1)
    let t0 = ContinuousClock.Instant.now

    func machine(maxInflight: Int = 2, maxSpans: Int = 100) -> IngestStateMachine {
        var m = IngestStateMachine(
            maxInflightEpochs: maxInflight, gapPolicy: .record,
            policy: .init(interval: .seconds(1), maxSpans: maxSpans, idleWriterAfter: .milliseconds(50)))
        #expect(m.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 100, start: .earliest, expectFirst: false, skippedFrom: nil) == nil)
        #expect(m.partitionAssigned(p1, stored: 5, logStart: 0, logEnd: 100, start: .earliest, expectFirst: false, skippedFrom: nil) == nil)
        return m
    }

    func plan(_ action: IngestStateMachine.Action?) -> SealedEpochPlan? {
        if case .seal(let plan) = action { return plan }
        return nil
    }

    @Test("delivered records fold, re-deliveries are skipped, and an idle writer gets the epoch after 50 ms")
    func foldAndSealForIdleWriter() {
        var m = machine()
        #expect(m.recordDelivered(p0, offset: 0, clockMillis: 1).0 == .fold)
        #expect(m.recordDelivered(p0, offset: 1, clockMillis: 2).0 == .fold)
        #expect(m.recordDelivered(p0, offset: 1, clockMillis: 2).0 == .skip)
        #expect(m.recordDelivered(PartitionKey(topic: "t", partition: 9), offset: 0, clockMillis: 2).0 == .skip)
        #expect(m.timePassed(now: t0, openSpans: 10) == nil)
        let sealed = plan(m.timePassed(now: t0 + .milliseconds(60), openSpans: 10))
        #expect(sealed?.advances == [PartitionAdvance(partition: p0, from: 0, to: 2, gaps: [])])
        #expect(sealed?.records == 2)
        #expect(sealed?.maxRecordTimeUnixMillis == 2)
    }

    @Test("a commit reports its offsets to Kafka; a fence in the same batch asks for one resync, after the commit")
    func writerAnswers() {
        var m = machine()
        _ = m.recordDelivered(p0, offset: 0, clockMillis: 0)
        guard let first = plan(m.sealNow()) else { Issue.record("no plan"); return }
        _ = m.recordDelivered(p0, offset: 1, clockMillis: 0)
        guard let second = plan(m.sealNow()) else { Issue.record("no plan"); return }
        let actions = m.writerAnswered([
            .committed(epochID: first.epochID, advances: first.advances, spans: 1, writeDuration: .zero),
            .fenced(epochID: second.epochID, detail: "moved"),
        ])
        #expect(actions == [.commitToKafka(epochID: first.epochID, advances: first.advances), .resync(voidBelow: first.generation + 1)])
        #expect(m.tracker.inflight == 0)
    }

    @Test("after a resync every assigned partition waits unsynced, and a resume leaves unsynced and stopped partitions paused")
    func resyncThenResume() {
        var m = machine()
        guard case .resync = m.resync() else { Issue.record("no resync"); return }
        m.resyncDrained(assigned: [p0, p1])
        #expect(m.unsynced == [p0, p1])
        #expect(m.backpressureChecked(blocked: true, assigned: [p0, p1]) == .pause([p0, p1]))
        #expect(m.backpressureChecked(blocked: true, assigned: [p0, p1]) == nil)
        m.partitionSynced(p0)
        #expect(m.partitionAssigned(p0, stored: 3, logStart: 0, logEnd: 100, start: .earliest, expectFirst: false, skippedFrom: nil) == .pause([p0]))
        #expect(m.backpressureChecked(blocked: false, assigned: [p0, p1]) == .resume([p0]))
    }

    @Test("an empty poll with records left wakes the fetcher only for partitions it should fetch: none while paused for backpressure, never an unsynced one")
    func nudgeOnlyFetchingPartitions() {
        var m = machine()
        #expect(m.pollEmptyWithLag([p1, p0]) == .nudgeFetcher([p0, p1]))
        #expect(m.pollEmptyWithLag([]) == nil)
        _ = m.partitionUnsynced(p1)
        #expect(m.pollEmptyWithLag([p0, p1]) == .nudgeFetcher([p0]))
        #expect(m.pollEmptyWithLag([p1]) == nil)
        #expect(m.backpressureChecked(blocked: true, assigned: [p0, p1]) == .pause([p0, p1]))
        #expect(m.pollEmptyWithLag([p0]) == nil)
        #expect(m.backpressureChecked(blocked: false, assigned: [p0, p1]) == .resume([p0]))
        #expect(m.pollEmptyWithLag([p0, p1]) == .nudgeFetcher([p0]))
    }

    @Test("with the writer full nothing seals; the open epoch takes records until full, then ingest must wait")
    func writerFull() {
        var m = machine(maxInflight: 1, maxSpans: 10)
        _ = m.recordDelivered(p0, offset: 0, clockMillis: 0)
        #expect(plan(m.sealNow()) != nil)
        _ = m.recordDelivered(p0, offset: 1, clockMillis: 0)
        #expect(m.timePassed(now: t0 + .seconds(5), openSpans: 10) == nil)
        #expect(m.mustWait(openSpans: 9, overBudget: false) == false)
        #expect(m.mustWait(openSpans: 10, overBudget: false))
        #expect(m.mustWait(openSpans: 0, overBudget: true))
        _ = m.writerAnswered([.dropped(epochID: 1)])
        #expect(m.mustWait(openSpans: 10, overBudget: false) == false)
        #expect(plan(m.timePassed(now: t0 + .seconds(5), openSpans: 10))?.advances == [PartitionAdvance(partition: p0, from: 1, to: 2, gaps: [])])
    }

    @Test("a writer retrying a failed write takes no records once it has no room, however empty the open epoch; its next answer lifts that")
    func failingWriterStopsIntake() {
        var m = machine(maxInflight: 2, maxSpans: 10)
        _ = m.recordDelivered(p0, offset: 0, clockMillis: 0)
        #expect(plan(m.sealNow()) != nil)
        _ = m.writerAnswered([.failing(epochID: 1)])
        #expect(m.writerFailing)
        // The writer still has room for one more epoch: the open epoch fills and seals as usual.
        #expect(m.mustWait(openSpans: 1, overBudget: false) == false)
        #expect(!m.writerStalled)  // shards over budget now would wait first, not pause at once
        _ = m.recordDelivered(p0, offset: 1, clockMillis: 0)
        #expect(plan(m.sealNow()) != nil)
        // No room and failing: wait (then pause) even with an open epoch far from full.
        _ = m.recordDelivered(p0, offset: 2, clockMillis: 0)
        #expect(m.mustWait(openSpans: 1, overBudget: false))
        #expect(m.mustWait(openSpans: 0, overBudget: false))
        #expect(m.writerStalled)
        #expect(m.backpressureChecked(blocked: true, assigned: [p0]) == .pause([p0]))
        // A non-answer notice changes nothing; the retried epoch's commit resumes intake.
        _ = m.writerAnswered([.failing(epochID: 2)])
        #expect(m.mustWait(openSpans: 1, overBudget: false))
        let actions = m.writerAnswered([.committed(epochID: 1, advances: [], spans: 1, writeDuration: .zero)])
        #expect(actions == [.commitToKafka(epochID: 1, advances: [])])
        #expect(!m.writerFailing)
        #expect(m.mustWait(openSpans: 1, overBudget: false) == false)
        #expect(m.backpressureChecked(blocked: false, assigned: [p0]) == .resume([p0]))
        // An answer then a failure in the same batch: the last notice decides.
        #expect(plan(m.sealNow()) != nil)
        _ = m.writerAnswered([.committed(epochID: 2, advances: [], spans: 1, writeDuration: .zero), .failing(epochID: 3)])
        #expect(m.writerFailing)
        #expect(m.mustWait(openSpans: 0, overBudget: false) == false)  // room for one epoch again
    }

    @Test("a clean revoke seals what was read; a lost assignment drops the partitions and resyncs")
    func revoke() {
        var m = machine()
        _ = m.recordDelivered(p1, offset: 5, clockMillis: 0)
        let clean = m.partitionsRevoked([p1], lost: false)
        #expect(clean.count == 1)
        #expect(plan(clean.first)?.advances == [PartitionAdvance(partition: p1, from: 5, to: 6, gaps: [])])
        m.revokedPartitionsWritten([p1])
        #expect(m.recordDelivered(p1, offset: 6, clockMillis: 0).0 == .skip)
        _ = m.recordDelivered(p0, offset: 0, clockMillis: 0)
        let lost = m.partitionsRevoked([p0], lost: true)
        guard case .resync = lost.first else { Issue.record("expected a resync, got \(lost)"); return }
        #expect(m.recordDelivered(p0, offset: 1, clockMillis: 0).0 == .skip)
    }

    @Test("an epoch of one record the database refuses quarantines that record: re-delivered, it is rejected, not folded")
    func quarantineSingleRecord() {
        var m = machine()
        _ = m.recordDelivered(p0, offset: 0, clockMillis: 0)
        guard let single = plan(m.sealNow()) else { Issue.record("no plan"); return }
        let actions = m.writerAnswered([
            .unwritable(epochID: single.epochID, records: 1, advances: single.advances, sqlState: "22003", detail: "out of range")
        ])
        guard case .resync = actions.last else { Issue.record("expected a resync, got \(actions)"); return }
        m.resyncDrained(assigned: [p0])
        m.partitionSynced(p0)
        _ = m.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 100, start: .earliest, expectFirst: false, skippedFrom: nil)
        guard case .reject(let poison) = m.recordDelivered(p0, offset: 0, clockMillis: 0).0 else {
            Issue.record("the refused record was not rejected")
            return
        }
        #expect(poison.reason == .valueOutOfRange)
        #expect(m.recordDelivered(p0, offset: 1, clockMillis: 0).0 == .fold)
    }

    @Test("an open epoch counts as full at max_spans spans or at half as many rows (one span per trace)")
    func rowsFillTheEpoch() {
        let gauges = PipelineGauges()
        gauges.openSpans.store(30, ordering: .relaxed)
        gauges.openRows.store(10, ordering: .relaxed)
        #expect(gauges.openLoad == 30)
        gauges.openRows.store(90, ordering: .relaxed)
        #expect(gauges.openLoad == 180)
        var m = machine(maxSpans: 100)
        _ = m.recordDelivered(p0, offset: 0, clockMillis: 0)
        #expect(m.timePassed(now: t0, openSpans: 30) == nil)
        #expect(plan(m.timePassed(now: t0, openSpans: gauges.openLoad)) != nil)
    }
}
