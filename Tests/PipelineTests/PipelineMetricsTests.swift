import Aggregation
import Kafka
@testable import Pipeline
import Telemetry
import Testing
import TraceContext

/// `PipelineMetrics` fed sealed epochs directly, read back through a real exporter and its strict parser.
@Suite("pipeline metrics from committed epochs")
struct PipelineMetricsTests {
    static let month = Month(unixNanos: 1_780_000_000_000_000_000)
    static let hour = UTCHour(unixNanos: 1_780_000_000_000_000_000)

    static func epoch(_ deltas: [EpochDelta]) -> SealedEpoch {
        SealedEpoch(
            plan: SealedEpochPlan(epochID: 1, generation: 0, advances: [], records: 0, maxRecordTimeUnixMillis: 0),
            deltas: deltas)
    }

    /// A delta with one trace's cost, and its root when `root` is given.
    static func delta(trace: TraceID, cost: Int64, root: String? = nil) -> EpochDelta {
        var d = EpochDelta()
        var t = TransactionDelta()
        t.costNanoUSD = cost
        t.spanCount = 1
        d.transactions[TransactionKey(month: month, traceID: trace)] = t
        if let root { d.roots[trace] = RootSeen(hour: hour, transaction: root) }
        d.counters.spansCounted = 1
        d.counters.recordsCounted = 1
        return d
    }

    func exposition(_ exporter: MetricsExporter, openMetrics: Bool = false) throws -> ParsedExposition {
        try ParsedExposition(parsing: exporter.render(openMetrics: openMetrics), openMetrics: openMetrics)
    }

    @Test("a committed epoch's counters reach their series; dead letters by reason are its rejected rows")
    func countersFromCommittedEpoch() throws {
        let exporter = MetricsExporter()
        let metrics = PipelineMetrics(factory: exporter.factory, costExporter: exporter)
        var a = EpochDelta()
        a.counters.recordsCounted = 10
        a.counters.spansCounted = 40
        a.counters.spansUnpriced = 3
        a.counters.spansClamped = 2
        a.counters.spansInvalidUpstreamCost = 1
        a.counters.spansCostOutOfRange = 4
        a.counters.spansTraceMismatch = 5
        a.counters.recordsBadTraceparent = 6
        a.counters.spansWithSession = 7
        a.counters.spansExcluded = ["ci": 8, "staging": 1]
        for (i, reason) in [RejectReason.undecodable, .undecodable, .tooLarge].enumerated() {
            a.rejected.append(
                RejectedRecord(
                    topic: "t", partition: 0, offset: Int64(i), reason: reason, detail: "", sizeBytes: 1,
                    recordTimeUnixMillis: 0))
        }
        var b = EpochDelta()
        b.counters.recordsCounted = 1
        b.counters.spansCounted = 2
        metrics.epochCommitted(Self.epoch([a, b]), writeDuration: .milliseconds(30))
        let e = try exposition(exporter)
        #expect(e.value("traceledger_records_total", ["outcome": "counted"]) == 11)
        #expect(e.value("traceledger_records_total", ["outcome": "rejected"]) == 3)
        #expect(e.value("traceledger_dead_letters_total", ["reason": "undecodable"]) == 2)
        #expect(e.value("traceledger_dead_letters_total", ["reason": "too_large"]) == 1)
        #expect(e.value("traceledger_dead_letters_total", ["reason": "bad_ids"]) == 0)
        #expect(e.value("traceledger_spans_total", ["outcome": "counted"]) == 42)
        #expect(e.value("traceledger_spans_total", ["outcome": "excluded"]) == 9)
        #expect(e.value("traceledger_excluded_spans_total", ["environment": "ci"]) == 8)
        #expect(e.value("traceledger_span_anomalies_total", ["kind": "unpriced"]) == 3)
        #expect(e.value("traceledger_span_anomalies_total", ["kind": "clamped"]) == 2)
        #expect(e.value("traceledger_span_anomalies_total", ["kind": "invalid_upstream_cost"]) == 1)
        #expect(e.value("traceledger_span_anomalies_total", ["kind": "cost_out_of_range"]) == 4)
        #expect(e.value("traceledger_span_anomalies_total", ["kind": "trace_id_mismatch"]) == 5)
        #expect(e.value("traceledger_records_bad_traceparent_total") == 6)
        #expect(e.value("traceledger_spans_with_session_total") == 7)
        #expect(e.value("traceledger_epochs_total", ["result": "committed"]) == 1)
        #expect(e.value("traceledger_epoch_write_seconds_count") == 1)
        #expect(e.value("traceledger_epoch_write_seconds_sum") == 0.03)
        #expect(e.value("traceledger_epoch_spans_sum") == 42)
    }

    @Test("retention gaps count when the epoch that records them commits")
    func gapsCountAtCommit() throws {
        let exporter = MetricsExporter()
        let metrics = PipelineMetrics(factory: exporter.factory)
        let key = PartitionKey(topic: "t", partition: 0)
        let plan = SealedEpochPlan(
            epochID: 1, generation: 0,
            advances: [
                PartitionAdvance(partition: key, from: 0, to: 500, gaps: [OffsetGap(from: 0, to: 120), OffsetGap(from: 300, to: 310)])
            ],
            records: 370, maxRecordTimeUnixMillis: 0)
        metrics.epochCommitted(SealedEpoch(plan: plan, deltas: []), writeDuration: .zero)
        #expect(try exposition(exporter).value("traceledger_retention_gap_records_total") == 130)
    }

    @Test("a fenced epoch counts a fencing rejection and nothing of its contents")
    func fencedEpochCountsNothing() throws {
        let exporter = MetricsExporter()
        let metrics = PipelineMetrics(factory: exporter.factory, costExporter: exporter)
        metrics.epochFenced()
        let e = try exposition(exporter)
        #expect(e.value("traceledger_epochs_total", ["result": "fenced"]) == 1)
        #expect(e.value("traceledger_fencing_rejections_total") == 1)
        #expect(e.value("traceledger_records_total", ["outcome": "counted"]) == 0)
        #expect(e.value("traceledger_epochs_total", ["result": "committed"]) == 0)
    }

    @Test("a trace's cost waits until its root commits, then goes to the root's domain; its top trace is the exemplar")
    func lateRootAttribution() throws {
        let exporter = MetricsExporter()
        let metrics = PipelineMetrics(factory: exporter.factory, costExporter: exporter)
        let (t1, t2) = (TraceID(high: 1, low: 1), TraceID(high: 2, low: 2))
        // Epoch 1: children of t1 (no root yet) and a whole cheap t2.
        metrics.epochCommitted(Self.epoch([Self.delta(trace: t1, cost: 500), Self.delta(trace: t2, cost: 20, root: "GET /a")]), writeDuration: .zero)
        var e = try exposition(exporter)
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "GET /a"]) == 20)
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "POST /b"]) == nil)
        // Epoch 2: t1's root, with a little more cost; a later span of t2 (root known from epoch 1).
        metrics.epochCommitted(
            Self.epoch([Self.delta(trace: t1, cost: 5, root: "POST /b"), Self.delta(trace: t2, cost: 1)]), writeDuration: .zero)
        e = try exposition(exporter, openMetrics: true)
        let b = e.samples(named: "traceledger_cost_nusd_total").first { $0.labels["domain"] == "POST /b" }
        #expect(b?.value == 505)
        #expect(b?.exemplar == ParsedExposition.Exemplar(labels: ["trace_id": t1.description], value: 505))
        #expect(e.value("traceledger_cost_nusd_total_total") == nil)
        let a = e.samples(named: "traceledger_cost_nusd_total").first { $0.labels["domain"] == "GET /a" }
        #expect(a?.value == 21)
    }

    @Test("lag series exist only for assigned partitions; a revoked partition's series is removed")
    func lagSeriesFollowTheAssignment() throws {
        let exporter = MetricsExporter()
        let metrics = PipelineMetrics(factory: exporter.factory)
        let (p0, p1) = (TopicPartition(topic: "t", partition: 0), TopicPartition(topic: "t", partition: 1))
        metrics.updateLag([p0: 5, p1: 7], assignment: [p0, p1])
        var e = try exposition(exporter)
        #expect(e.value("traceledger_consumer_lag", ["topic": "t", "partition": "0"]) == 5)
        #expect(e.value("traceledger_consumer_lag", ["topic": "t", "partition": "1"]) == 7)
        metrics.rebalanced(assigned: [], revoked: [p1], lost: false, assignment: 1)
        e = try exposition(exporter)
        #expect(e.value("traceledger_consumer_lag", ["topic": "t", "partition": "1"]) == nil)
        #expect(e.value("traceledger_consumer_lag", ["topic": "t", "partition": "0"]) == 5)
        #expect(e.value("traceledger_rebalances_total", ["kind": "revoked"]) == 1)
        #expect(e.value("traceledger_assigned_partitions") == 1)
        metrics.updateLag([p0: 2], assignment: [])
        e = try exposition(exporter)
        #expect(e.samples(named: "traceledger_consumer_lag").isEmpty)
    }
}
