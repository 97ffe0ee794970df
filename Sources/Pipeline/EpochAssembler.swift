import DurationUnits
public import Aggregation
import Kafka
import Foundation
import Synchronization

/// Joins the two halves of a sealed epoch: the ingest thread's plan and one delta per shard. When the
/// last part arrives, the epoch goes to the writer queue. Thread-safe (one `Mutex`); holds at most the
/// epochs in flight, which the ingest thread bounds with `flush.max_inflight_epochs`.
final class EpochAssembler: Sendable {
    private struct Partial {
        var plan: SealedEpochPlan?
        var deltas: [EpochDelta?]
        var retries: [OwnedRecord] = []
        var received = 0
    }
    private let shardCount: Int
    private let parts = Mutex<[UInt64: Partial]>([:])
    private let output: WriterQueue

    init(shardCount: Int, output: WriterQueue) {
        self.shardCount = shardCount
        self.output = output
    }

    // Epochs complete in epoch order (the plan comes in order from one thread, and each shard delivers
    // in order); pushing under the lock keeps that order in the writer queue.
    func planSealed(_ plan: SealedEpochPlan) {
        parts.withLock { parts in
            var p = parts[plan.epochID] ?? Partial(deltas: Array(repeating: nil, count: shardCount))
            p.plan = plan
            if let ready = Self.complete(&parts, plan.epochID, p, shardCount) { output.push(ready) }
        }
    }

    func shardDelivered(
        epochID: UInt64, generation: UInt64, shard: Int, delta: EpochDelta, deadLetterRetries: [OwnedRecord] = []
    ) {
        parts.withLock { parts in
            var p = parts[epochID] ?? Partial(deltas: Array(repeating: nil, count: shardCount))
            precondition(p.deltas[shard] == nil, "shard \(shard) delivered epoch \(epochID) twice")
            p.deltas[shard] = delta
            p.retries.append(contentsOf: deadLetterRetries)
            p.received += 1
            if let ready = Self.complete(&parts, epochID, p, shardCount) { output.push(ready) }
        }
    }

    private static func complete(_ parts: inout [UInt64: Partial], _ id: UInt64, _ p: Partial, _ n: Int) -> SealedEpoch? {
        guard let plan = p.plan, p.received == n else {
            parts[id] = p
            return nil
        }
        parts[id] = nil
        return SealedEpoch(plan: plan, deltas: p.deltas.compactMap { $0 }, deadLetterRetries: p.retries)
    }
}
