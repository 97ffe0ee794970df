import Logging
import DurationUnits
public import ServiceLifecycle

/// The worker's running account (a `Service` beside the worker in its `ServiceGroup`): sets the state
/// gauges that mirror the pipeline (in-flight epochs, paused, ready, buffered bytes) once a second, and
/// logs a progress line every `logInterval` (spans/s, totals, in-flight epochs, epoch write p99), as a
/// warning naming the reason while the worker is not ready. Reads only atomics and the status; ends on
/// graceful shutdown or cancellation; never throws.
public struct ProgressReporter: Service {
    let gauges: PipelineGauges
    let status: PipelineStatus
    let logger: Logger
    var gaugeInterval = Duration.seconds(1)
    var logInterval = Duration.seconds(10)

    init(gauges: PipelineGauges, status: PipelineStatus, logger: Logger) {
        self.gauges = gauges
        self.status = status
        self.logger = logger
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            var last = (spans: gauges.spansTotal.load(ordering: .relaxed), at: ContinuousClock.now)
            while !Task.isCancelled {
                Self.refreshGauges(gauges, status: status)
                try? await Task.sleep(for: gaugeInterval)
                let now = ContinuousClock.now
                if now - last.at >= logInterval {
                    last = logProgress(since: last, now: now)
                }
            }
        }
    }

    private func logProgress(since last: (spans: Int, at: ContinuousClock.Instant), now: ContinuousClock.Instant) -> (
        spans: Int, at: ContinuousClock.Instant
    ) {
        let spans = gauges.spansTotal.load(ordering: .relaxed)
        let seconds = max(1e-9, (now - last.at).inSeconds)
        var metadata: Logger.Metadata = [
            "spans_per_s": "\(Int(Double(spans - last.spans) / seconds))", "spans": "\(spans)",
            "rejected": "\(gauges.rejectedTotal.load(ordering: .relaxed))",
            "epochs": "\(gauges.committedEpochs.load(ordering: .relaxed))",
            "inflight": "\(gauges.inflightEpochs.load(ordering: .relaxed))",
            "paused": "\(status.isPaused)",
        ]
        if let w = gauges.writeTimePercentiles() {
            metadata["epoch_write_p99_ms"] = "\(Int(w.p99.rounded()))"
        }
        if let reason = status.notReadyReason {
            metadata["reason"] = "\(reason)"
            logger.warning("not ready", metadata: metadata)
        } else {
            logger.info("progress", metadata: metadata)
        }
        return (spans, now)
    }

    /// Sets the state gauges (in-flight epochs, paused, ready, buffered bytes) from the pipeline's atomics.
    static func refreshGauges(_ gauges: PipelineGauges, status: PipelineStatus) {
        let m = gauges.metrics
        m.inflightEpochs.record(gauges.inflightEpochs.load(ordering: .relaxed))
        m.paused.record(status.isPaused ? 1 : 0)
        m.ready.record(status.notReadyReason == nil ? 1 : 0)
        m.bufferedBytes.record(max(0, gauges.bufferedBytes.load(ordering: .relaxed)))
    }
}
