import DurationUnits
public import Aggregation
import Kafka
import Foundation
import Synchronization

/// A sealed epoch ready to write: the offsets half (from the ingest thread) and every shard's delta.
public struct SealedEpoch: Sendable {
    public var plan: SealedEpochPlan
    public var deltas: [EpochDelta]
    /// Dead-letter copies whose first produce failed: produced by the writer before the commit.
    var deadLetterRetries: [OwnedRecord] = []
}

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

/// The hand-off from the assembler to the writer thread: FIFO, blocking `pop`. Its length is bounded
/// by the ingest thread (at most `flush.max_inflight_epochs` sealed epochs exist at once).
final class WriterQueue: @unchecked Sendable {
    // Safe: `items` and `closed` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var items: [SealedEpoch] = []
    private var closed = false

    func push(_ epoch: SealedEpoch) {
        condition.lock()
        items.append(epoch)
        condition.signal()
        condition.unlock()
    }

    /// The next epoch, or nil once closed and empty.
    func pop() -> SealedEpoch? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        return items.isEmpty ? nil : items.removeFirst()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// What the writer tells the ingest thread (drained once per poll loop).
enum WriterNotice: Sendable {
    /// Committed in Postgres; the advances may be committed to Kafka for lag reporting.
    case committed(epochID: UInt64, advances: [PartitionAdvance], spans: Int64, writeDuration: Duration)
    /// Dropped unwritten: its generation is void.
    case dropped(epochID: UInt64)
    /// The fencing check failed: another writer moved a partition; everything in flight is void.
    case fenced(epochID: UInt64, detail: String)
    /// The database refused the epoch's data (`sqlState` class 22/23/54, or nil for our own validation):
    /// everything in flight is void; the ingest thread isolates the offending record(s).
    case unwritable(epochID: UInt64, records: Int, advances: [PartitionAdvance], sqlState: String?, detail: String)
}

/// A mailbox from the writer thread to the ingest thread, with a blocking wait for the ingest thread's
/// drain phases (revocation, resync, shutdown).
final class NoticeBox: @unchecked Sendable {
    // Safe: `notices` only touched with `condition` locked.
    private let condition = NSCondition()
    private var notices: [WriterNotice] = []

    func post(_ n: WriterNotice) {
        condition.lock()
        notices.append(n)
        condition.broadcast()
        condition.unlock()
    }

    func drain() -> [WriterNotice] {
        condition.lock()
        defer { condition.unlock() }
        let out = notices
        notices.removeAll(keepingCapacity: true)
        return out
    }

    /// Waits up to `timeout` for at least one notice, then drains.
    func wait(timeout: Duration) -> [WriterNotice] {
        condition.lock()
        defer { condition.unlock() }
        if notices.isEmpty {
            let seconds = timeout.inSeconds
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
        let out = notices
        notices.removeAll(keepingCapacity: true)
        return out
    }
}
