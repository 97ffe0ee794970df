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

    @Test("ingest pauses once max_inflight_epochs sealed epochs are unacknowledged, and resumes after one commits")
    func backpressure() {
        var t = EpochTracker(maxInflightEpochs: 2)
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        for o in 0..<2 {
            _ = t.recordDelivered(p0, offset: Int64(o), timestampUnixMillis: 0)
            #expect(t.shouldPause == false)
            #expect(t.seal() != nil)
        }
        #expect(t.shouldPause)
        t.epochFinished()
        #expect(t.shouldPause == false)
    }

    @Test("an epoch is sealed after flush.interval or at flush.max_spans, never when empty")
    func sealTiming() {
        var t = EpochTracker(maxInflightEpochs: 2)
        let t0 = ContinuousClock.Instant.now
        _ = t.partitionAssigned(p0, stored: 0, logStart: 0, logEnd: 10, start: .earliest)
        t.noteOpen(at: t0)
        #expect(t.shouldSeal(now: t0 + .seconds(5), interval: .seconds(1), openSpans: 0, maxSpans: 10) == false)
        _ = t.recordDelivered(p0, offset: 0, timestampUnixMillis: 0)
        t.noteOpen(at: t0)
        #expect(t.shouldSeal(now: t0 + .milliseconds(10), interval: .seconds(1), openSpans: 3, maxSpans: 10) == false)
        #expect(t.shouldSeal(now: t0 + .milliseconds(10), interval: .seconds(1), openSpans: 10, maxSpans: 10))
        #expect(t.shouldSeal(now: t0 + .seconds(1), interval: .seconds(1), openSpans: 0, maxSpans: 10))
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
