import Foundation
import Aggregation
import Ledger

#if canImport(Glibc)
import Glibc
#endif

// The database tests talk to: the one scripts/with-postgres.sh starts (DATABASE_URL), a scratch schema
// of a test's own in it, or a server of the test's own (DevHarness' `ThrowawayPostgres`).

/// `DATABASE_URL` as scripts/with-postgres.sh exports it; nil (or empty) when the tests run without one.
public let environmentDatabaseURL: String? = ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// Whether a database is there: for `.enabled(if: hasDatabase, …)`.
public let hasDatabase = environmentDatabaseURL != nil

/// `DATABASE_URL`, or a failure that says how to run the tests with one.
public func databaseURL() throws -> String {
    guard let url = environmentDatabaseURL else {
        throw TestFailure("DATABASE_URL is not set: run the tests with scripts/test.sh")
    }
    return url
}

/// A connection to `DATABASE_URL` (an empty conninfo when unset: libpq's defaults).
public func connectToTestDatabase(session: PGSessionSettings = .default) throws -> PGConnection {
    try PGConnection.connect(conninfo: environmentDatabaseURL ?? "", session: session)
}

/// `prefix_` and 16 random hex digits: a schema name (a valid unquoted identifier for a lower-case
/// prefix) no other test, run or worker uses.
public func uniqueSchemaName(_ prefix: String) -> String {
    "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
}

/// Runs blocking work (libpq, librdkafka, a child process) on a fresh OS thread with a 4 MiB stack,
/// never on the cooperative pool, and returns its result or error.
@discardableResult
public func onThread<T: Sendable>(
    named name: String? = nil, _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        if let name { thread.name = name }
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// A ledger schema of a test's own in `DATABASE_URL`'s database, so that tests run side by side.
/// Guarantees: its name is unique (`prefix_` + 16 hex digits); `migrated` returns it migrated (with
/// partitions around now, plus any months asked for); `drop()` removes it and everything in it.
public struct ScratchSchema: Sendable {
    public let ledger: LedgerSchema

    public init(prefix: String = "t") throws {
        ledger = LedgerSchema(schema: try SchemaName(uniqueSchemaName(prefix)))
    }

    public var schema: SchemaName { ledger.schema }

    /// `"schema"."name"`.
    public func table(_ name: String) -> String { "\(schema.quoted).\"\(name)\"" }

    /// Migrated with partitions around `now` (wall clock) plus `extraMonths`.
    public static func migrated(prefix: String = "t", extraMonths: [Month] = []) async throws -> ScratchSchema {
        let scratch = try ScratchSchema(prefix: prefix)
        try await onThread {
            let connection = try connectToTestDatabase()
            _ = try scratch.ledger.migrate(on: connection)
            _ = try scratch.ledger.ensurePartitions(months: extraMonths, on: connection)
        }
        return scratch
    }

    /// The rows of `sql` (on a connection of its own, off the cooperative pool).
    public func query(_ sql: String, _ parameters: [PGValue] = []) async throws -> [[String?]] {
        try await onThread {
            let connection = try connectToTestDatabase()
            return try (parameters.isEmpty ? connection.execute(sql) : connection.execute(sql, parameters)).rows
        }
    }

    public func drop() async {
        let schema = schema
        _ = try? await onThread {
            let connection = try connectToTestDatabase()
            try connection.execute("DROP SCHEMA IF EXISTS \(schema.quoted) CASCADE")
        }
    }
}
