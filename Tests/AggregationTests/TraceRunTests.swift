import Aggregation
import Pricing
import SpanDecoding
import Testing
import TraceContext
import TestSupport

/// Records as a Collector writes them: runs of consecutive spans of one trace (1–20 spans), most in one
/// hour, some across an hour or a month; the same trace again in later runs; roots with different
/// services; environments and sessions on some spans only, so that "which value wins" matters.
private func runsOfSpans(seed: UInt64, runs: Int, costScale: Int64 = 1) -> [[SpanSpec]] {
    var rng = SplitMix64(seed: seed)
    let base: UInt64 = 1_795_000_000_000_000_000  // 2026-11
    var records: [[SpanSpec]] = []
    var spanID: UInt64 = 1
    for _ in 0..<runs {
        let trace = TraceID(high: rng.below(12) + 1, low: 3)
        var start = base + rng.below(2 * 3_600_000_000_000)
        var record: [SpanSpec] = []
        for _ in 0..<Int(rng.below(20) + 1) {
            // Mostly the same hour as the span before; now and then the next hour or 40 days later.
            switch rng.below(12) {
            case 0: start += 3_600_000_000_000
            case 1: start += 40 * 86_400_000_000_000
            default: start += rng.below(1_000_000)
            }
            let outcome: PricingOutcome = rng.below(9) == 0 ? .unpriced : (rng.below(13) == 0 ? .excluded : .priced)
            let cost = (Int64(rng.below(3_000_000)) - 1_000_000) * costScale
            record.append(
                SpanSpec(
                    trace: trace, span: spanID, parent: rng.below(4) == 0 ? 0 : 77, name: "GET /r\(rng.below(3))",
                    startNanos: start, endNanos: start &+ rng.below(2_000_000_000) &- (rng.below(10) == 0 ? 3_000_000_000 : 0),
                    error: rng.below(6) == 0, service: "svc-\(rng.below(3))",
                    environment: rng.below(3) == 0 ? ["prod", "staging"][Int(rng.below(2))] : nil,
                    session: rng.below(4) == 0 ? "session-\(rng.below(4))-of-a-long-name" : nil,
                    cost: SpanCost(
                        total: NanoUSD(outcome == .unpriced ? 0 : cost), outcome: outcome,
                        inputTokens: Int64(rng.below(900)), outputTokens: Int64(rng.below(400)))))
            spanID += 1
        }
        records.append(record)
    }
    return records
}

/// The rows folding `specs` in order must give, computed here from the specs alone: sums; the first
/// root's name and service; the first environment and session of any span; earliest start, latest end
/// (an end before its start counts as the start).
private func expectedRows(_ specs: [SpanSpec]) -> (transactions: [TransactionKey: TransactionDelta], traceHours: [TraceHourKey: TraceHourDelta]) {
    var tx: [TransactionKey: TransactionDelta] = [:]
    var th: [TraceHourKey: TraceHourDelta] = [:]
    for s in specs where s.cost.outcome != .excluded {
        let k = TransactionKey(month: Month(unixNanos: s.startNanos), traceID: s.trace)
        var row = tx[k] ?? TransactionDelta()
        if s.parent == 0 {
            if row.transaction == nil { row.transaction = s.name }
            if row.service == nil { row.service = s.service }
        }
        if row.environment == nil { row.environment = s.environment }
        if row.sessionID == nil { row.sessionID = s.session }
        row.costNanoUSD += s.cost.total.value
        row.spanCount += 1
        if s.error { row.errorCount += 1 }
        if s.cost.outcome == .unpriced { row.unpricedCount += 1 }
        row.inputTokens += s.cost.inputTokens
        row.outputTokens += s.cost.outputTokens
        row.sampledSpansMicro += 1_000_000  // no sampling threshold: one whole span each
        row.firstStartUnixNanos = min(row.firstStartUnixNanos, s.startNanos)
        row.lastEndUnixNanos = max(row.lastEndUnixNanos, max(s.endNanos, s.startNanos))
        tx[k] = row
        let h = TraceHourKey(hour: UTCHour(unixNanos: s.startNanos), traceID: s.trace)
        th[h, default: TraceHourDelta()].costNanoUSD += s.cost.total.value
        th[h, default: TraceHourDelta()].spanCount += 1
    }
    return (tx, th)
}

/// Folds each record as `RecordProcessor` does: one `TraceRun` a record, flushed after its last span.
private func foldRecords(_ records: [[SpanSpec]], into d: inout EpochDelta) {
    for record in records {
        var run = TraceRun()
        for s in record {
            s.withDecoded { d.fold($0, cost: s.cost, baggageSessionID: nil, recordThreshold: nil, keys: nil, run: &run) }
        }
        d.flush(&run)
    }
}

@Suite("a record's run of spans of one trace")
struct TraceRunTests {
    @Test("runs of one trace fold to the rows computed from the spans: sums, first root name and service, first environment and session, time span")
    func runsFoldToTheRowsOfTheSpans() {
        for seed in UInt64(1)...12 {
            let records = runsOfSpans(seed: seed, runs: 300)
            var d = EpochDelta()
            foldRecords(records, into: &d)
            let expected = expectedRows(records.flatMap { $0 })
            #expect(d.closedSlices.isEmpty)
            #expect(d.transactions == expected.transactions, "seed \(seed)")
            #expect(d.traceHours == expected.traceHours, "seed \(seed)")
            #expect(d.invariantViolations().isEmpty)
            // Folding span by span (no shared run) gives the same maps.
            var single = EpochDelta()
            for s in records.joined() { s.withDecoded { single.fold($0, cost: s.cost) } }
            #expect(single.transactions == d.transactions && single.traceHours == d.traceHours)
            #expect(single.counters == d.counters && single.roots == d.roots && single.sessions == d.sessions)
        }
    }

    @Test("a slice started inside a run keeps every span's cost exactly once: the run's rows go into the slice that took them")
    func sliceInsideARunLosesNothing() {
        // Costs near Int64.max / 4 a span: the slice budget closes a slice every few spans, mid-run.
        let records = runsOfSpans(seed: 99, runs: 60, costScale: Int64.max / 4_000_000)
        var d = EpochDelta()
        foldRecords(records, into: &d)
        #expect(!d.closedSlices.isEmpty, "no slice was started: the test checked nothing of the flush before a new slice")
        let specs = records.flatMap { $0 }.filter { $0.cost.outcome != .excluded }
        var expectedCost: [TransactionKey: Int128] = [:]
        var expectedSpans: [TransactionKey: Int64] = [:]
        for s in specs {
            let k = TransactionKey(month: Month(unixNanos: s.startNanos), traceID: s.trace)
            expectedCost[k, default: 0] += Int128(s.cost.total.value)
            expectedSpans[k, default: 0] += 1
        }
        var cost: [TransactionKey: Int128] = [:]
        var spans: [TransactionKey: Int64] = [:]
        var hourCost: Int128 = 0
        for slice in d.slices {
            for (k, row) in slice.transactions {
                cost[k, default: 0] += Int128(row.costNanoUSD)
                spans[k, default: 0] += row.spanCount
            }
            for row in slice.traceHours.values { hourCost += Int128(row.costNanoUSD) }
        }
        #expect(cost == expectedCost)
        #expect(spans == expectedSpans)
        #expect(hourCost == expectedCost.values.reduce(0, +))
    }
}
