import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Synchronization
import Telemetry
import TraceContext

/// Counters keyed by an input-derived label (an environment name) under a budget: the first `budget`
/// values keep their label, the rest share `other`.
struct LabelledCounters {
    let budget: Int
    private var counters: [String: Counter] = [:]

    init(budget: Int) { self.budget = budget }

    mutating func counter(for value: String, make: (String) -> Counter) -> Counter {
        if let c = counters[value] { return c }
        let label = counters.count < budget && value != "other" ? value : "other"
        if let c = counters[label] { return c }
        let c = make(label)
        counters[label] = c
        return c
    }
}
