import DurationUnits
public import Aggregation
import Kafka
import Foundation
import Synchronization

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
