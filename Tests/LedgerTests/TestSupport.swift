import Aggregation
import Foundation
import Testing
import TestSupport

@testable import Ledger

// The database (`hasDatabase`, `environmentDatabaseURL`), `onThread` and `ScratchSchema` are TestSupport's.

/// A connection to `DATABASE_URL`.
func connect() throws -> PGConnection {
    try connectToTestDatabase()
}

/// A reusable barrier for N threads (releases all once N have arrived).
final class ThreadBarrier: @unchecked Sendable {  // Safe: state under `condition`.
    private let condition = NSCondition()
    private var waiting = 0
    private let count: Int

    init(count: Int) { self.count = count }

    func wait() {
        condition.lock()
        waiting += 1
        if waiting >= count {
            condition.broadcast()
        } else {
            while waiting < count { condition.wait() }
        }
        condition.unlock()
    }
}

/// Runs `body(i)` for i in 0..<count on `count` threads at once and returns the results in order.
func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for index in 0..<count {
            group.addTask { (index, try await onThread { try body(index) }) }
        }
        var results = [(Int, T)]()
        for try await result in group { results.append(result) }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
