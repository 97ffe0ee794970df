import Aggregation
import Pipeline
import Testing

@Suite("epoch tracker")
struct EpochTrackerTests {
    let p0 = PartitionKey(topic: "t", partition: 0)
    let p1 = PartitionKey(topic: "t", partition: 1)

    @Test("a sealed epoch moves each partition from the stored offset to one past its last record")
    func sealMovesFromStored() {
        var t = EpochTracker(maxInflightEpochs: 2)
        #expect(t.partitionAssigned(p0, stored: 10, logStart: 0, logEnd: 100, start: .earliest) == 10)
        #expect(t.partitionAssigned(p1, stored: nil, logStart: 3, logEnd: 100, start: .earliest) == 3)
        for o in 10..<15 { #expect(t.recordDelivered(p0, offset: Int64(o), timestampUnixMillis: Int64(o)) == .take) }
        #expect(t.recordDelivered(p1, offset: 3, timestampUnixMillis: 99) == .take)
        let plan = t.seal()
        #expect(plan?.advances == [
            PartitionAdvance(partition: p0, from: 10, to: 15, gaps: []),
            PartitionAdvance(partition: p1, from: nil, to: 4, gaps: []),
        ])
        #expect(plan?.records == 6)
        #expect(plan?.maxRecordTimeUnixMillis == 99)
        // The next epoch starts where this one ended: the writer's fencing check.
        #expect(t.recordDelivered(p0, offset: 15, timestampUnixMillis: 1) == .take)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: 15, to: 16, gaps: [])])
    }

    @Test("the partition of the previous record is found again after other partitions come and go (its place moves)")
    func lastPartitionFoundAfterAssignmentsMoveIt() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 100, start: .earliest)
        for o in 0..<3 { #expect(t.recordDelivered(p0, offset: Int64(o), timestampUnixMillis: 0) == .take) }
        // Enough new partitions to grow the table several times: p0's entry moves.
        let others = (1...200).map { PartitionKey(topic: "other", partition: Int32($0)) }
        for k in others { _ = t.partitionAssigned(k, stored: 7, logStart: 0, logEnd: 100, start: .earliest) }
        #expect(t.recordDelivered(p0, offset: 3, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(others[41], offset: 7, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 4, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 4, timestampUnixMillis: 0) == .duplicate)
        let plan = t.seal()
        #expect(plan?.advances == [
            PartitionAdvance(partition: others[41], from: 7, to: 8, gaps: []),
            PartitionAdvance(partition: p0, from: 0, to: 5, gaps: []),
        ])
        // Removed right after it delivered: its next record is not taken; assigned again, it starts over.
        #expect(t.recordDelivered(p0, offset: 5, timestampUnixMillis: 0) == .take)
        t.partitionsRemoved([p0] + others.prefix(150))
        #expect(t.recordDelivered(p0, offset: 6, timestampUnixMillis: 0) == .notAssigned)
        #expect(t.recordDelivered(others[0], offset: 7, timestampUnixMillis: 0) == .notAssigned)
        _ = t.partitionAssigned(p0, stored: 20, logStart: 0, logEnd: 100, start: .earliest)
        #expect(t.recordDelivered(p0, offset: 20, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(others[199], offset: 7, timestampUnixMillis: 0) == .take)
        #expect(t.seal()?.advances == [
            PartitionAdvance(partition: others[199], from: 7, to: 8, gaps: []),
            PartitionAdvance(partition: p0, from: 20, to: 21, gaps: []),
        ])
    }

    @Test("re-delivered offsets are skipped and revoked partitions' records are not taken")
    func duplicatesAndStrays() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 5, logStart: 0, logEnd: 10, start: .earliest)
        #expect(t.recordDelivered(p0, offset: 5, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 5, timestampUnixMillis: 0) == .duplicate)
        #expect(t.recordDelivered(p0, offset: 4, timestampUnixMillis: 0) == .duplicate)
        #expect(t.recordDelivered(p1, offset: 0, timestampUnixMillis: 0) == .notAssigned)
        t.partitionsRemoved([p0])
        #expect(t.recordDelivered(p0, offset: 6, timestampUnixMillis: 0) == .notAssigned)
    }

    @Test("a stored offset below the log start becomes a retention gap in the next epoch")
    func retentionGapAtAssignment() {
        var t = EpochTracker(maxInflightEpochs: 2)
        #expect(t.partitionAssigned(p0, stored: 100, logStart: 250, logEnd: 300, start: .earliest) == 250)
        #expect(t.recordDelivered(p0, offset: 250, timestampUnixMillis: 0) == .take)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: 100, to: 251, gaps: [OffsetGap(from: 100, to: 250)])])
    }

    @Test("a jump in delivered offsets is recorded as a gap, or stops the partition under on_gap: stop")
    func gapWhileReading() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        #expect(t.recordDelivered(p0, offset: 0, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 7, timestampUnixMillis: 0) == .take)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: 0, to: 8, gaps: [OffsetGap(from: 1, to: 7)])])

        var s = EpochTracker(maxInflightEpochs: 2, gapPolicy: .stop)
        _ = s.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        // Right after positioning, a jump first asks for one seek back; delivered again from there, it is a gap.
        #expect(s.recordDelivered(p0, offset: 3, timestampUnixMillis: 0) == .reposition)
        s.repositioned(p0)
        #expect(s.recordDelivered(p0, offset: 3, timestampUnixMillis: 0) == .stopAtGap)
        #expect(s.recordDelivered(p0, offset: 4, timestampUnixMillis: 0) == .stopAtGap)
        #expect(s.seal() == nil)
    }

    @Test("kafka.start latest with no stored offset records the skipped backlog as a gap")
    func startLatest() {
        var t = EpochTracker(maxInflightEpochs: 2)
        #expect(t.partitionAssigned(p0, stored: nil, logStart: 2, logEnd: 40, start: .latest) == 40)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: nil, to: 40, gaps: [OffsetGap(from: 2, to: 40)])])
    }

    @Test("with max_inflight_epochs sealed epochs unacknowledged nothing seals, and records stop only once the open epoch is full")
    func backpressure() {
        var t = EpochTracker(maxInflightEpochs: 2)
        let t0 = ContinuousClock.Instant.now
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        for o in 0..<2 {
            _ = t.recordDelivered(p0, offset: Int64(o), timestampUnixMillis: 0)
            #expect(t.writerFull == false)
            #expect(t.seal() != nil)
        }
        #expect(t.writerFull)
        _ = t.recordDelivered(p0, offset: 2, timestampUnixMillis: 0)
        t.noteOpen(at: t0)
        // Full writer: neither the interval nor max_spans seals; the open epoch takes records until full.
        #expect(t.shouldSeal(now: t0 + .seconds(5), interval: .seconds(1), openSpans: 10, maxSpans: 10) == false)
        #expect(t.mustStopTaking(openSpans: 9, maxSpans: 10) == false)
        #expect(t.mustStopTaking(openSpans: 10, maxSpans: 10))
        t.epochFinished()
        #expect(t.writerFull == false)
        #expect(t.mustStopTaking(openSpans: 10, maxSpans: 10) == false)
        #expect(t.shouldSeal(now: t0 + .seconds(5), interval: .seconds(1), openSpans: 10, maxSpans: 10))
    }

    @Test("an idle writer gets the open epoch once it is idleWriterAfter old; a busy one only at the interval or max_spans")
    func idleWriterSeal() {
        var t = EpochTracker(maxInflightEpochs: 2)
        let t0 = ContinuousClock.Instant.now
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        _ = t.recordDelivered(p0, offset: 0, timestampUnixMillis: 0)
        t.noteOpen(at: t0)
        let idle = Duration.milliseconds(50)
        #expect(t.shouldSeal(now: t0 + .milliseconds(10), interval: .seconds(1), openSpans: 3, maxSpans: 10, idleWriterAfter: idle) == false)
        #expect(t.shouldSeal(now: t0 + .milliseconds(60), interval: .seconds(1), openSpans: 3, maxSpans: 10, idleWriterAfter: idle))
        #expect(t.seal() != nil)
        _ = t.recordDelivered(p0, offset: 1, timestampUnixMillis: 0)
        t.noteOpen(at: t0)
        // One epoch in flight: the writer is busy, the open epoch waits for the interval or max_spans.
        #expect(t.shouldSeal(now: t0 + .milliseconds(60), interval: .seconds(1), openSpans: 3, maxSpans: 10, idleWriterAfter: idle) == false)
        #expect(t.shouldSeal(now: t0 + .seconds(1), interval: .seconds(1), openSpans: 3, maxSpans: 10, idleWriterAfter: idle))
    }

    @Test("sealDue: the wait until time alone seals (idle writer: idleWriterAfter; busy: the interval), nil with nothing open or the writer full, and shouldSeal agrees at that instant")
    func sealDueMatchesShouldSeal() {
        var t = EpochTracker(maxInflightEpochs: 2)
        let t0 = ContinuousClock.Instant.now
        let (interval, idle) = (Duration.seconds(1), Duration.milliseconds(50))
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        #expect(t.sealDue(after: t0, interval: interval, idleWriterAfter: idle) == nil)  // Nothing open.
        _ = t.recordDelivered(p0, offset: 0, timestampUnixMillis: 0)
        t.noteOpen(at: t0)
        #expect(t.sealDue(after: t0 + .milliseconds(10), interval: interval, idleWriterAfter: idle) == .milliseconds(40))
        #expect(t.sealDue(after: t0 + .milliseconds(10), interval: interval) == .milliseconds(990))
        #expect(t.sealDue(after: t0 + .milliseconds(70), interval: interval, idleWriterAfter: idle) == .zero)
        #expect(!t.shouldSeal(now: t0 + .milliseconds(49), interval: interval, openSpans: 1, maxSpans: 10, idleWriterAfter: idle))
        #expect(t.shouldSeal(now: t0 + .milliseconds(50), interval: interval, openSpans: 1, maxSpans: 10, idleWriterAfter: idle))
        #expect(t.seal() != nil)
        _ = t.recordDelivered(p0, offset: 1, timestampUnixMillis: 0)
        t.noteOpen(at: t0)
        // One epoch in flight: only the interval.
        #expect(t.sealDue(after: t0 + .milliseconds(10), interval: interval, idleWriterAfter: idle) == .milliseconds(990))
        #expect(t.seal() != nil)
        _ = t.recordDelivered(p0, offset: 2, timestampUnixMillis: 0)
        t.noteOpen(at: t0)
        // Writer full: no time seals; its answer must come first.
        #expect(t.sealDue(after: t0 + .seconds(5), interval: interval, idleWriterAfter: idle) == nil)
        t.epochFinished()
        #expect(t.sealDue(after: t0 + .seconds(5), interval: interval, idleWriterAfter: idle) == .zero)
    }

    @Test("resync voids the open epoch and starts a new generation")
    func resyncStartsGeneration() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        _ = t.recordDelivered(p0, offset: 0, timestampUnixMillis: 0)
        let g = t.generation
        t.resync()
        #expect(t.generation == g + 1)
        #expect(t.assigned.isEmpty)
        #expect(t.seal() == nil)
    }
}

@Suite("epoch tracker: first assignment")
struct EpochTrackerFirstAssignmentTests {
    @Test("a partition with no stored offset starts at its first delivered record, without a gap")
    func firstRecordStarts() {
        let p0 = PartitionKey(topic: "t", partition: 0)
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: nil, logStart: 0, logEnd: 0, start: .earliest)
        t.expectFirstRecord(p0)
        #expect(t.recordDelivered(p0, offset: 40, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 41, timestampUnixMillis: 0) == .take)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: nil, to: 42, gaps: [])])
    }
}

@Suite("epoch tracker: stops, idle partitions, gaps")
struct EpochTrackerStopTests {
    let p0 = PartitionKey(topic: "t", partition: 0)
    let p1 = PartitionKey(topic: "t", partition: 1)

    @Test("kafka.on_gap stop: records taken before the gap still advance the partition (never over the gap)")
    func stopAdvancesOverRecordsTakenBeforeTheGap() {
        var t = EpochTracker(maxInflightEpochs: 2, gapPolicy: .stop)
        _ = t.partitionAssigned(p0, stored: 10, logStart: 10, logEnd: 100, start: .earliest)
        for o in 10..<13 { #expect(t.recordDelivered(p0, offset: Int64(o), timestampUnixMillis: 5) == .take) }
        #expect(t.recordDelivered(p0, offset: 20, timestampUnixMillis: 6) == .stopAtGap)
        #expect(t.isStopped(p0))
        #expect(t.stopReason(p0) == .gap(OffsetGap(from: 13, to: 20)))
        // The three records' cost is in the shards' deltas: their offsets must commit with it.
        let plan = t.seal()
        #expect(plan?.advances == [PartitionAdvance(partition: p0, from: 10, to: 13, gaps: [])])
        #expect(plan?.records == 3)
        // Stopped: nothing more is taken, and later epochs move nothing.
        #expect(t.recordDelivered(p0, offset: 21, timestampUnixMillis: 7) == .stopAtGap)
        #expect(t.recordDelivered(p0, offset: 13, timestampUnixMillis: 7) == .stopAtGap)
        #expect(t.seal() == nil)
    }

    @Test("kafka.on_gap stop: a partition that starts below the log start advances over nothing")
    func stopAtAssignmentAdvancesNothing() {
        var t = EpochTracker(maxInflightEpochs: 2, gapPolicy: .stop)
        _ = t.partitionAssigned(p0, stored: 100, logStart: 250, logEnd: 300, start: .earliest)
        #expect(t.isStopped(p0))
        #expect(t.stopReason(p0) == .gap(OffsetGap(from: 100, to: 250)))
        #expect(t.recordDelivered(p0, offset: 250, timestampUnixMillis: 0) == .stopAtGap)
        #expect(t.seal() == nil)
        #expect(t.takeDetectedGaps() == [DetectedGap(partition: p0, gap: OffsetGap(from: 100, to: 250))])
    }

    @Test("a partition with no stored offset that delivered nothing is not sealed (no row, not offset 0)")
    func idlePartitionWithoutRowIsNotSealed() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: nil, logStart: 0, logEnd: 0, start: .earliest)
        t.expectFirstRecord(p0)
        _ = t.partitionAssigned(p1, stored: 7, logStart: 7, logEnd: 9, start: .earliest)
        #expect(t.isAwaitingFirstRecord(p0))
        let t0 = ContinuousClock.Instant.now
        t.noteOpen(at: t0)
        #expect(t.shouldSeal(now: t0 + .seconds(10), interval: .seconds(1), openSpans: 0, maxSpans: 10) == false)
        #expect(t.seal() == nil)
        // Another partition's records seal without it.
        #expect(t.recordDelivered(p1, offset: 7, timestampUnixMillis: 0) == .take)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p1, from: 7, to: 8, gaps: [])])
        // Its first record (log start 500, say) starts it there, without a gap.
        #expect(t.recordDelivered(p0, offset: 500, timestampUnixMillis: 0) == .take)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: nil, to: 501, gaps: [])])
        #expect(t.takeDetectedGaps().isEmpty)
    }

    @Test("kafka.start latest with an unknown end: no row until the first record, which records the backlog before it as skipped")
    func latestWithUnknownEnd() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: nil, logStart: 0, logEnd: 0, start: .latest)
        t.expectFirstRecord(p0, skippedFrom: 0)
        #expect(t.seal() == nil)
        #expect(t.recordDelivered(p0, offset: 37, timestampUnixMillis: 0) == .take)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: nil, to: 38, gaps: [OffsetGap(from: 0, to: 37)])])
        #expect(t.takeDetectedGaps().isEmpty, "a choice, not a loss")
    }

    @Test("a stored offset past the high watermark stops the partition: nothing is skipped as a duplicate, nothing advances")
    func storedBeyondLogEndStops() {
        for policy in [Configuration.GapPolicy.record, .stop] {
            var t = EpochTracker(maxInflightEpochs: 2, gapPolicy: policy)
            _ = t.partitionAssigned(p0, stored: 500, logStart: 0, logEnd: 40, start: .earliest)
            #expect(t.isStopped(p0))
            #expect(t.stopReason(p0) == .storedBeyondLogEnd(stored: 500, logEnd: 40))
            // The recreated topic's records (offsets 0...) are not ours to drop as already counted.
            #expect(t.recordDelivered(p0, offset: 0, timestampUnixMillis: 0) == .stopAtGap)
            #expect(t.recordDelivered(p0, offset: 39, timestampUnixMillis: 0) == .stopAtGap)
            #expect(t.seal() == nil)
        }
        // At the end exactly is fine (caught up).
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 40, logStart: 0, logEnd: 40, start: .earliest)
        #expect(!t.isStopped(p0))
        #expect(t.recordDelivered(p0, offset: 40, timestampUnixMillis: 0) == .take)
    }

    @Test("each gap found while reading is reported once, with its range")
    func gapsAreReportedOnce() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 100, start: .earliest)
        _ = t.partitionAssigned(p1, stored: nil, logStart: 2, logEnd: 40, start: .latest)
        #expect(t.takeDetectedGaps().isEmpty, "the latest backlog is a choice, not a loss")
        #expect(t.recordDelivered(p0, offset: 0, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 5, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 9, timestampUnixMillis: 0) == .take)
        #expect(t.takeDetectedGaps() == [
            DetectedGap(partition: p0, gap: OffsetGap(from: 1, to: 5)), DetectedGap(partition: p0, gap: OffsetGap(from: 6, to: 9)),
        ])
        #expect(t.takeDetectedGaps().isEmpty)
        var s = EpochTracker(maxInflightEpochs: 2, gapPolicy: .stop)
        _ = s.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 100, start: .earliest)
        #expect(s.recordDelivered(p0, offset: 3, timestampUnixMillis: 0) == .reposition)
        #expect(s.takeDetectedGaps().isEmpty, "not a gap before the seek back")
        s.repositioned(p0)
        #expect(s.recordDelivered(p0, offset: 3, timestampUnixMillis: 0) == .stopAtGap)
        #expect(s.recordDelivered(p0, offset: 4, timestampUnixMillis: 0) == .stopAtGap)
        #expect(s.takeDetectedGaps() == [DetectedGap(partition: p0, gap: OffsetGap(from: 0, to: 3))])
    }
}

@Suite("epoch tracker: a jump right after positioning is sought back once")
struct RepositionTests {
    let p0 = PartitionKey(topic: "t", partition: 0)

    @Test("positioned at 80, delivered from 81 (a stale END): not taken, sought back to 80 once, then read in order with no gap")
    func staleStartIsSoughtBack() {
        var t = EpochTracker(maxInflightEpochs: 2)
        #expect(t.partitionAssigned(p0, stored: 80, logStart: 0, logEnd: 90, start: .earliest) == 80)
        #expect(t.recordDelivered(p0, offset: 81, timestampUnixMillis: 0) == .reposition)
        #expect(t.recordDelivered(p0, offset: 82, timestampUnixMillis: 0) == .reposition, "the rest of the stale batch waits for the seek")
        #expect(t.takeRepositions().map { "\($0.0):\($0.1)" } == ["\(p0):80"])
        #expect(t.takeRepositions().isEmpty, "asked for once")
        t.repositioned(p0)
        for o in 80..<83 { #expect(t.recordDelivered(p0, offset: Int64(o), timestampUnixMillis: 0) == .take) }
        #expect(t.takeDetectedGaps().isEmpty)
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: 80, to: 83, gaps: [])])
    }

    @Test("records really gone: after the one seek back the same jump is recorded as a gap")
    func realGapAfterSeekBack() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 80, logStart: 0, logEnd: 200, start: .earliest)
        #expect(t.recordDelivered(p0, offset: 150, timestampUnixMillis: 0) == .reposition)
        _ = t.takeRepositions()
        t.repositioned(p0)
        #expect(t.recordDelivered(p0, offset: 150, timestampUnixMillis: 0) == .take)
        #expect(t.takeDetectedGaps() == [DetectedGap(partition: p0, gap: OffsetGap(from: 80, to: 150))])
        #expect(t.seal()?.advances == [PartitionAdvance(partition: p0, from: 80, to: 151, gaps: [OffsetGap(from: 80, to: 150)])])
    }

    @Test("a first record in order disarms the check: a later jump is a gap at once")
    func inOrderStartDisarms() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 80, logStart: 0, logEnd: 200, start: .earliest)
        #expect(t.recordDelivered(p0, offset: 80, timestampUnixMillis: 0) == .take)
        #expect(t.recordDelivered(p0, offset: 85, timestampUnixMillis: 0) == .take)
        #expect(t.takeRepositions().isEmpty)
        #expect(t.takeDetectedGaps() == [DetectedGap(partition: p0, gap: OffsetGap(from: 81, to: 85))])
    }
}

@Suite("kafka.start latest: pinned start")
struct LatestStartPinsTests {
    let p0 = PartitionKey(topic: "t", partition: 0)

    @Test("the first END pinned for a partition without a row is reused on every later resync until a row exists")
    func firstEndIsReused() {
        var pins = LatestStartPins()
        // First assignment (database down): the consumer resolved END to 40.
        pins.positioned(p0, at: 40)
        // The resync after the outage sees a newer end (records 40..<75 were produced meanwhile).
        #expect(pins.start(for: p0, startsAt: nil, watermarks: (low: 2, high: 75)) == .init(logStart: 2, logEnd: 40))
        // A re-assignment resolves END again (75): the pinned 40 stays the start.
        pins.positioned(p0, at: 75)
        #expect(pins.pinned(p0) == 40)
        #expect(pins.start(for: p0, startsAt: nil, watermarks: nil) == .init(logStart: 40, logEnd: 40))
        // Postgres has a row now: it decides.
        pins.storedOffsetFound(p0)
        #expect(pins.pinned(p0) == nil)
    }

    @Test("without a pin the start is where the consumer was positioned, else the high watermark, and it is pinned")
    func startPinsFirstKnownEnd() {
        var pins = LatestStartPins()
        #expect(pins.start(for: p0, startsAt: nil, watermarks: nil) == nil)
        #expect(pins.start(for: p0, startsAt: -1, watermarks: (low: 0, high: 12)) == .init(logStart: 0, logEnd: 12))
        #expect(pins.start(for: p0, startsAt: nil, watermarks: (low: 0, high: 30)) == .init(logStart: 0, logEnd: 12))
        var other = LatestStartPins()
        #expect(other.start(for: p0, startsAt: 20, watermarks: (low: 25, high: 30)) == .init(logStart: 20, logEnd: 20), "retention passed the pin: no backwards gap")
        #expect(other.pinned(p0) == 20)
    }
}
