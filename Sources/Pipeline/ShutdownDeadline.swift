import DurationUnits
import Aggregation
public import CoreMetrics
import Foundation
import Kafka
public import Logging
import Pricing
public import ServiceLifecycle
import Synchronization
public import Telemetry

/// When graceful shutdown began, and so when `shutdown.timeout` runs out.
final class ShutdownDeadline: Sendable {
    private let started = Mutex<ContinuousClock.Instant?>(nil)
    let timeout: Duration

    init(timeout: Duration) { self.timeout = timeout }

    /// Marks the start of shutdown (the first call counts).
    func begin() {
        started.withLock { if $0 == nil { $0 = ContinuousClock.now } }
    }

    /// Nil until shutdown begins.
    var deadline: ContinuousClock.Instant? { started.withLock { $0.map { $0 + timeout } } }

    /// `limit`, or less so that `keeping` is left before the deadline (zero at the latest).
    func remaining(atMost limit: Duration, keeping: Duration) -> Duration {
        guard let deadline else { return limit }
        return max(.zero, min(limit, deadline - keeping - ContinuousClock.now))
    }
}
