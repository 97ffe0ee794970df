import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Logging
import Pricing
import Synchronization

/// Counters shared by the ingest thread and the shards (atomics; relaxed: they steer heuristics).
final class PipelineGauges: Sendable {
    /// The exported series (docs/metrics.md); a no-op factory unless the service was given one.
    let metrics: PipelineMetrics

    init(metrics: PipelineMetrics = PipelineMetrics(factory: NOOPMetricsHandler.instance)) {
        self.metrics = metrics
    }

    /// Records dispatched to shards and not yet processed.
    let queuedRecords = Atomic<Int>(0)
    /// Bytes of polled batches that shards still hold (`DispatchBudget`): the ingest thread waits before
    /// its next poll above `pipeline.max_buffered_bytes`.
    let bufferedBytes = Atomic<Int>(0)
    /// The highest `bufferedBytes` seen right after a dispatch.
    let bufferedBytesPeak = Atomic<Int>(0)
    /// Times the ingest thread waited before a poll (shards over the byte budget, or the writer full
    /// with the open epoch full).
    let bufferWaits = Atomic<Int>(0)
    /// Gaps found while reading (offset jumps, stored offsets below the log start), and the records in them.
    let gapsDetected = Atomic<Int>(0)
    let gapRecordsSkipped = Atomic<Int>(0)
    /// Assignments whose stored offset was past the partition's high watermark (the partition stopped).
    let offsetsBeyondLogEnd = Atomic<Int>(0)
    /// Spans folded since the last seal (for `flush.max_spans`).
    let openSpans = Atomic<Int>(0)
    /// Rows (``EpochDelta/openRowCount``) the shards' open deltas hold: an epoch is also full at
    /// `flush.max_spans / 2` rows, so that one span per trace (a row per span in three maps) does not
    /// make epochs, and memory, several times larger.
    let openRows = Atomic<Int>(0)

    /// How full the open epoch is, in spans: its spans, or twice its rows when that is more.
    var openLoad: Int {
        max(openSpans.load(ordering: .relaxed), openRows.load(ordering: .relaxed).multipliedReportingOverflow(by: 2).partialValue)
    }
    let spansTotal = Atomic<Int>(0)
    let recordsTotal = Atomic<Int>(0)
    let rejectedTotal = Atomic<Int>(0)
    /// Dead letters Kafka refused permanently (not retried; the refusal is in their rejected row).
    let deadLettersRefused = Atomic<Int>(0)
    let committedEpochs = Atomic<Int>(0)
    let fencedEpochs = Atomic<Int>(0)
    /// Epochs the database refused for their data (each starts an isolation of the culprit records).
    let unwritableEpochs = Atomic<Int>(0)
    let inflightEpochs = Atomic<Int>(0)
    /// The last `writeTimesMax` epoch write durations (ms), a ring: bounded whatever the uptime.
    private let writeTimes = Mutex<(values: [Double], next: Int)>(([], 0))
    static let writeTimesMax = 4096

    /// Raises `bufferedBytesPeak` to the current `bufferedBytes` (ingest thread).
    func notePeakBufferedBytes() {
        let now = bufferedBytes.load(ordering: .relaxed)
        if now > bufferedBytesPeak.load(ordering: .relaxed) { bufferedBytesPeak.store(now, ordering: .relaxed) }
    }

    func recordWrite(_ d: Duration) {
        let ms = d.inMilliseconds
        writeTimes.withLock { w in
            if w.values.count < Self.writeTimesMax {
                w.values.append(ms)
            } else {
                w.values[w.next] = ms
                w.next = (w.next + 1) % Self.writeTimesMax
            }
        }
    }

    /// p50, p99 and max of the recent epoch write times (ms); nil before the first write.
    func writeTimePercentiles() -> (p50: Double, p99: Double, max: Double)? {
        let sorted = writeTimes.withLock { $0.values }.sorted()
        guard let last = sorted.last else { return nil }
        func q(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        return (q(0.5), q(0.99), last)
    }
}
