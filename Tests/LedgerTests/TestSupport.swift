import Aggregation
import Foundation
import Testing

@testable import Ledger

/// Tests that need a server read `DATABASE_URL` (scripts/with-postgres.sh sets it).
let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"]
let hasDatabase = databaseURL != nil

/// Runs blocking database work on a fresh OS thread, never on the cooperative pool.
@discardableResult
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
}

func connect() throws -> PGConnection {
    try PGConnection.connect(conninfo: databaseURL ?? "")
}

/// A schema of its own per test, so tests run in parallel; dropped by `drop()`.
struct ScratchSchema: Sendable {
    let ledger: LedgerSchema

    init() throws {
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        ledger = LedgerSchema(schema: try SchemaName("t_\(suffix)"))
    }

    var schema: SchemaName { ledger.schema }

    func table(_ name: String) -> String { "\(schema.quoted).\"\(name)\"" }

    /// Migrated with partitions around `now` (wall clock) plus `extraMonths`.
    static func migrated(extraMonths: [Month] = []) async throws -> ScratchSchema {
        let scratch = try ScratchSchema()
        try await onThread {
            let connection = try connect()
            _ = try scratch.ledger.migrate(on: connection)
            try scratch.ledger.ensurePartitions(months: extraMonths, on: connection)
        }
        return scratch
    }

    func drop() async {
        _ = try? await onThread {
            let connection = try connect()
            try connection.execute("DROP SCHEMA IF EXISTS \(schema.quoted) CASCADE")
        }
    }
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
