import DurationUnits
public import Aggregation
import Kafka
import Foundation
import Synchronization

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
