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

/// Bridges a thread's end to an awaiting task.
final class ThreadCompletion: Sendable {
    private let state = Mutex<(finished: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    var isFinished: Bool { state.withLock { $0.finished } }

    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.finished { return true }
                s.waiter = c
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}
