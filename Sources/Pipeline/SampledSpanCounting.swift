import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Synchronization
import Telemetry
import TraceContext

/// `EpochCounters.sampledSpans` (Σ adjusted counts of spans with an `ot=th` threshold) where the
/// Aggregation module defines it, else 0: the stored property, when present, is the witness of this
/// requirement; the extension's 0 is used only when it is absent. Read through the generic function
/// below (a direct `counters.sampledSpans` would not compile without the field).
protocol SampledSpanCounting {
    var sampledSpans: Int64 { get }
}

extension SampledSpanCounting {
    var sampledSpans: Int64 { 0 }
}

extension EpochCounters: SampledSpanCounting {}

func sampledSpanCount(_ counters: some SampledSpanCounting) -> Int64 { counters.sampledSpans }
