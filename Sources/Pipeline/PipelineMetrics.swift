import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Synchronization
import Telemetry
import TraceContext

/// Every swift-metrics series a worker exports (docs/metrics.md), created once through one factory.
///
/// Guarantees: thread-safe (swift-metrics handlers are; the per-partition lag gauges and the domain
/// attribution sit behind `Mutex`es). Ledger counters (records, spans, anomalies, dead letters, sessions,
/// sampled spans, cost by domain) move only when an epoch COMMITS, from the epoch that committed: work
/// folded and then voided (fencing, revocation, lost assignment, unwritable epoch) is never counted, and
/// a record re-read after a void counts once, when its epoch commits. Label sets are bounded: reasons and
/// kinds are fixed lists, environments and domains have a budget, lag series exist only for partitions
/// currently assigned.
final class PipelineMetrics: Sendable {
    private let factory: any MetricsFactory
    private let costExporter: MetricsExporter?

    let recordsCounted: Counter
    let recordsRejected: Counter
    private let deadLetters: [RejectReason: Counter]
    let deadLettersRefused: Counter
    let spansCounted: Counter
    let spansExcluded: Counter
    let anomaliesUnpriced: Counter
    let anomaliesClamped: Counter
    let anomaliesInvalidUpstreamCost: Counter
    let anomaliesCostOutOfRange: Counter
    let anomaliesTraceIDMismatch: Counter
    let badTraceparent: Counter
    let spansWithSession: Counter
    let sampledSpans: Counter
    let epochsCommitted: Counter
    let epochsFenced: Counter
    let epochsUnwritable: Counter
    let fencingRejections: Counter
    let epochWriteSeconds: Timer
    let epochSpans: Recorder
    let inflightEpochs: Gauge
    let paused: Gauge
    let ready: Gauge
    let bufferedBytes: Gauge
    let assignedPartitions: Gauge
    let rebalancesAssigned: Counter
    let rebalancesRevoked: Counter
    let rebalancesLost: Counter
    let retentionGapRecords: Counter
    let catalogVersion: Gauge
    let catalogReloadFailures: Counter
    /// Empty polls after which librdkafka's fetcher was woken for partitions with records left.
    let fetcherNudges: Counter
    /// Excluded spans by environment (CONTRACTS §2 rule 3), under a label budget.
    private let excludedByEnvironment = Mutex<LabelledCounters>(LabelledCounters(budget: 20))
    private let lag = Mutex<[TopicPartition: Gauge]>([:])
    private let attribution = Mutex(DomainAttribution())

    /// - Parameters:
    ///   - factory: where every series is made (never the global bootstrap unless the caller passes it).
    ///   - costExporter: receives each committed epoch's cost by domain (`traceledger_cost_nusd_total`);
    ///     nil: cost by domain is not exported.
    init(factory: any MetricsFactory, costExporter: MetricsExporter? = nil) {
        self.factory = factory
        self.costExporter = costExporter
        func counter(_ label: String, _ dims: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: dims, factory: factory)
        }
        func gauge(_ label: String, _ dims: [(String, String)] = []) -> Gauge {
            Gauge(label: label, dimensions: dims, factory: factory)
        }
        recordsCounted = counter("traceledger_records_total", [("outcome", "counted")])
        recordsRejected = counter("traceledger_records_total", [("outcome", "rejected")])
        var dl: [RejectReason: Counter] = [:]
        for r in RejectReason.allCases { dl[r] = counter("traceledger_dead_letters_total", [("reason", r.rawValue)]) }
        deadLetters = dl
        deadLettersRefused = counter("traceledger_dead_letters_refused_total")
        spansCounted = counter("traceledger_spans_total", [("outcome", "counted")])
        spansExcluded = counter("traceledger_spans_total", [("outcome", "excluded")])
        let anomaly = "traceledger_span_anomalies_total"
        anomaliesUnpriced = counter(anomaly, [("kind", "unpriced")])
        anomaliesClamped = counter(anomaly, [("kind", "clamped")])
        anomaliesInvalidUpstreamCost = counter(anomaly, [("kind", "invalid_upstream_cost")])
        anomaliesCostOutOfRange = counter(anomaly, [("kind", "cost_out_of_range")])
        anomaliesTraceIDMismatch = counter(anomaly, [("kind", "trace_id_mismatch")])
        badTraceparent = counter("traceledger_records_bad_traceparent_total")
        spansWithSession = counter("traceledger_spans_with_session_total")
        sampledSpans = counter("traceledger_sampled_spans_total")
        epochsCommitted = counter("traceledger_epochs_total", [("result", "committed")])
        epochsFenced = counter("traceledger_epochs_total", [("result", "fenced")])
        epochsUnwritable = counter("traceledger_epochs_total", [("result", "unwritable")])
        fencingRejections = counter("traceledger_fencing_rejections_total")
        epochWriteSeconds = Timer(label: "traceledger_epoch_write_seconds", dimensions: [], factory: factory)
        epochSpans = Recorder(label: "traceledger_epoch_spans", dimensions: [], aggregate: true, factory: factory)
        inflightEpochs = gauge("traceledger_inflight_epochs")
        paused = gauge("traceledger_paused")
        ready = gauge("traceledger_ready")
        bufferedBytes = gauge("traceledger_buffered_bytes")
        assignedPartitions = gauge("traceledger_assigned_partitions")
        rebalancesAssigned = counter("traceledger_rebalances_total", [("kind", "assigned")])
        rebalancesRevoked = counter("traceledger_rebalances_total", [("kind", "revoked")])
        rebalancesLost = counter("traceledger_rebalances_total", [("kind", "lost")])
        retentionGapRecords = counter("traceledger_retention_gap_records_total")
        catalogVersion = gauge("traceledger_catalog_version")
        catalogReloadFailures = counter("traceledger_catalog_reload_failures_total")
        fetcherNudges = counter("traceledger_fetcher_nudges_total")
        // Gauges start at a value so that every series is exposed from the start.
        for g in [inflightEpochs, paused, ready, bufferedBytes, assignedPartitions, catalogVersion] { g.record(0) }
    }

    /// What a committed epoch adds (writer thread, right after the commit).
    func epochCommitted(_ epoch: SealedEpoch, writeDuration: Duration) {
        var counters = EpochCounters()
        var rejectedByReason: [RejectReason: Int64] = [:]
        var rejected: Int64 = 0
        for d in epoch.deltas {
            counters.merge(d.counters)
            for r in d.rejected {
                rejectedByReason[r.reason, default: 0] += 1
                rejected += 1
            }
        }
        recordsCounted.increment(by: max(0, counters.recordsCounted))
        recordsRejected.increment(by: rejected)
        for (reason, n) in rejectedByReason { deadLetters[reason]?.increment(by: n) }
        spansCounted.increment(by: max(0, counters.spansCounted))
        let excluded = counters.spansExcluded.values.reduce(Int64(0)) { $0 &+ $1 }
        spansExcluded.increment(by: max(0, excluded))
        if !counters.spansExcluded.isEmpty {
            excludedByEnvironment.withLock { e in
                for (env, n) in counters.spansExcluded {
                    e.counter(for: env) {
                        Counter(label: "traceledger_excluded_spans_total", dimensions: [("environment", $0)], factory: factory)
                    }.increment(by: max(0, n))
                }
            }
        }
        anomaliesUnpriced.increment(by: max(0, counters.spansUnpriced))
        anomaliesClamped.increment(by: max(0, counters.spansClamped))
        anomaliesInvalidUpstreamCost.increment(by: max(0, counters.spansInvalidUpstreamCost))
        anomaliesCostOutOfRange.increment(by: max(0, counters.spansCostOutOfRange))
        anomaliesTraceIDMismatch.increment(by: max(0, counters.spansTraceMismatch))
        badTraceparent.increment(by: max(0, counters.recordsBadTraceparent))
        spansWithSession.increment(by: max(0, counters.spansWithSession))
        sampledSpans.increment(by: max(0, sampledSpanCount(counters)))
        // Gaps are written to `retention_gaps` by the epoch that advances past them: counted with it.
        var gapRecords: Int64 = 0
        for a in epoch.plan.advances {
            for g in a.gaps where g.to > g.from && g.from >= 0 {
                // Saturating: offsets are ≥ 0, so each difference fits; only the sum could overflow.
                let (sum, overflow) = gapRecords.addingReportingOverflow(g.to - g.from)
                gapRecords = overflow ? .max : sum
            }
        }
        retentionGapRecords.increment(by: max(0, gapRecords))
        epochsCommitted.increment()
        epochWriteSeconds.recordNanoseconds(writeDuration.wholeNanoseconds)
        epochSpans.record(max(0, counters.spansCounted))
        if let costExporter {
            let costs = attribution.withLock { $0.add(epoch.deltas) }
            if !costs.isEmpty { costExporter.recordDomainCost(costs) }
        }
    }

    func epochFenced() {
        epochsFenced.increment()
        fencingRejections.increment()
    }

    func epochUnwritable() { epochsUnwritable.increment() }

    /// After a rebalance event (ingest thread): counts it and sets the assigned-partitions gauge; a
    /// revoked or lost partition's lag series is removed.
    func rebalanced(assigned: [TopicPartition], revoked: [TopicPartition], lost: Bool, assignment: Int) {
        if !assigned.isEmpty { rebalancesAssigned.increment() }
        if !revoked.isEmpty { (lost ? rebalancesLost : rebalancesRevoked).increment() }
        assignedPartitions.record(assignment)
        if !revoked.isEmpty {
            let removed = lag.withLock { l in revoked.compactMap { l.removeValue(forKey: $0) } }
            for g in removed { g.destroy() }
        }
    }

    /// Sets the lag of each assigned partition that has one; removes the series of partitions no longer
    /// assigned.
    func updateLag(_ lags: [TopicPartition: Int64], assignment: Set<TopicPartition>) {
        let removed: [Gauge] = lag.withLock { l in
            var gone: [Gauge] = []
            for tp in Array(l.keys) where !assignment.contains(tp) {
                if let g = l.removeValue(forKey: tp) { gone.append(g) }
            }
            for (tp, value) in lags where assignment.contains(tp) {
                let g =
                    l[tp]
                    ?? Gauge(
                        label: "traceledger_consumer_lag",
                        dimensions: [("topic", tp.topic), ("partition", "\(tp.partition)")], factory: factory)
                l[tp] = g
                g.record(max(0, value))
            }
            return gone
        }
        for g in removed { g.destroy() }
    }

}
