import DevHarness
import Foundation
import Kafka
import LoadGen
import Logging
import Synchronization

/// Lets a load run up to a number of records, then holds it until allowed further.
/// Guarantees: `pass` blocks at most 5 minutes (then says no); `waitBlocked` returns only once the load
/// is held, after librdkafka had 300 ms to deliver what was produced.
public final class LoadGate: Sendable {
    private let state: Mutex<(allowed: Int, blockedAt: Int?)>

    public init(allowedRecords: Int) { state = Mutex((allowedRecords, nil)) }

    public func allow(_ records: Int) {
        state.withLock {
            $0.allowed = records
            $0.blockedAt = nil
        }
    }

    /// Called by the load between chunks: blocks while `produced` is at or past the allowance (at most 5 min).
    public func pass(_ produced: Int) -> Bool {
        let deadline = ContinuousClock.now + .seconds(300)
        while true {
            let go = state.withLock { s -> Bool in
                if produced < s.allowed {
                    s.blockedAt = nil
                    return true
                }
                s.blockedAt = produced
                return false
            }
            if go { return true }
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Waits until the load is held at the gate; returns how many records it has produced by then.
    public func waitBlocked(timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let at = state.withLock({ $0.blockedAt }) {
                // Let librdkafka deliver what was produced (linger 5 ms).
                try await Task.sleep(for: .milliseconds(300))
                return at
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the load did not reach its gate within \(timeout)")
    }
}

/// A `LoadProducer` run on a dedicated thread (it blocks while pacing), priced by the shipped catalog.
/// Guarantees: `result` returns the manifest and record count only for a load that produced all of
/// `plan`'s spans; it throws when the load failed, stopped early or did not end within the timeout.
public final class LoadRun: Sendable {
    private let outcome = Mutex<Result<(Manifest, Int), any Error>?>(nil)

    public init(plan: LoadPlan, brokers: String, gate: LoadGate?, logger: Logger) {
        let thread = Thread { [self] in
            let result = Result { () throws -> (Manifest, Int) in
                let producer = try KafkaProducer(
                    configuration: KafkaProducerConfiguration(bootstrapServers: brokers, properties: LoadProducer.producerProperties),
                    logger: logger)
                let load = LoadProducer(producer: producer, catalogURL: shippedPricingFile, plan: plan)
                let (manifest, records) = try load.run { produced in gate?.pass(produced) ?? true }
                guard manifest.totals.spans >= plan.spans else {
                    throw TestFailure("the load stopped early (held at its gate too long)")
                }
                return (manifest, records)
            }
            self.outcome.withLock { $0 = result }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    public var isFinished: Bool { outcome.withLock { $0 != nil } }

    public func result(timeout: Duration) async throws -> (manifest: Manifest, records: Int) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let r = outcome.withLock({ $0 }) { return try r.get() }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the load did not finish within \(timeout)")
    }
}
