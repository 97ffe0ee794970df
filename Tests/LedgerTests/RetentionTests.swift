import Aggregation
import Foundation
import Testing
import TestSupport

@testable import Ledger

/// `traceledger partitions --drop-older-than N` against a real PostgreSQL.
@Suite("Retention", .serialized, .enabled(if: hasDatabase, "needs DATABASE_URL (scripts/with-postgres.sh)"))
struct RetentionTests {
    /// One `transactions` row in `month` (first day), one `domain_hourly` row in its first hour.
    private func insertRows(_ scratch: ScratchSchema, _ month: Month, traceByte: UInt8, cost: Int64, on connection: PGConnection) throws {
        let trace = String(repeating: String(format: "%02x", traceByte), count: 16)
        try connection.execute(
            "INSERT INTO \(scratch.table("transactions")) (month, trace_id, transaction, cost_nusd) VALUES ($1::date, decode($2, 'hex'), 'checkout', $3::numeric)",
            [.text(month.firstDayLiteral), .text(trace), .text(String(cost))])
        try connection.execute(
            "INSERT INTO \(scratch.table("domain_hourly")) (hour, transaction, cost_nusd) VALUES ($1::timestamptz, 'checkout', $2::numeric)",
            [.text(month.firstDayLiteral + " 00:00:00+00"), .text(String(cost))])
    }

    /// Σ cost per month in a table, read through the parent.
    private func costs(_ scratch: ScratchSchema, _ table: String, _ key: String, on connection: PGConnection) throws -> [String: String] {
        let result = try connection.execute(
            "SELECT to_char(\(key) AT TIME ZONE 'UTC', 'YYYY-MM'), sum(cost_nusd)::text FROM \(scratch.table(table)) GROUP BY 1 ORDER BY 1")
        var out: [String: String] = [:]
        for row in result.rows { if let m = row[0], let c = row[1] { out[m] = c } }
        return out
    }

    @Test("--drop-older-than 13 drops whole months before (current − 13), keeps the rest and their data")
    func dropsOldMonthsKeepsData() async throws {
        let now = Date()
        let current = try Month(containing: now)
        let old = try [-20, -16, -14, -13, -12].map { try current.adding(months: $0) }
        let scratch = try await ScratchSchema.migrated(extraMonths: old)
        defer { Task { await scratch.drop() } }
        let kept = try [-13, -12, -1, 0, 1, 2].map { try current.adding(months: $0) }
        let droppedMonths = try [-20, -16, -14].map { try current.adding(months: $0) }

        let (result, transactions, hourly, remaining) = try await onThread {
            let connection = try connect()
            for (i, month) in (old + [current]).enumerated() {
                try insertRows(scratch, month, traceByte: UInt8(i + 1), cost: Int64(1_000 + i), on: connection)
            }
            let cutoff = try LedgerSchema.retentionCutoff(dropOlderThanMonths: 13, now: now)
            let result = try scratch.ledger.applyRetention(cutoff: cutoff, now: now, dryRun: false, on: connection)
            return (result, try costs(scratch, "transactions", "month::timestamp AT TIME ZONE 'UTC'", on: connection),
                    try costs(scratch, "domain_hourly", "hour", on: connection),
                    try scratch.ledger.listPartitions(on: connection))
        }
        #expect(result.cutoff == (try current.adding(months: -13)))
        let expectedDropped = PartitionedTable.allCases.flatMap { table in droppedMonths.map { table.partitionName($0) } }
        #expect(result.dropped.sorted() == expectedDropped.sorted())
        #expect(result.skipped.isEmpty)
        #expect(Set(remaining.compactMap(\.month)) == Set(kept))
        // Data of the kept months is intact (costs as inserted: 1000 + index), the dropped months' is gone.
        var expected: [String: String] = [:]
        for (i, month) in (old + [current]).enumerated() where kept.contains(month) { expected[month.description] = String(1_000 + i) }
        #expect(transactions == expected)
        #expect(hourly == expected)
    }

    @Test("retention drops the same partitions whatever the session's DateStyle and time zone")
    func retentionIgnoresSessionDateStyle() async throws {
        let now = Date()
        let current = try Month(containing: now)
        let old = try current.adding(months: -20)
        let scratch = try await ScratchSchema.migrated(extraMonths: [old])
        defer { Task { await scratch.drop() } }
        let result = try await onThread {
            let connection = try connect()
            // A role's or PGDATESTYLE's setting: bounds would print as e.g. '01-05-2025 00:00:00 EDT'.
            try connection.execute("SET DateStyle = 'SQL, DMY'")
            try connection.execute("SET TimeZone = 'America/New_York'")
            return try scratch.ledger.applyRetention(
                cutoff: try LedgerSchema.retentionCutoff(dropOlderThanMonths: 13, now: now), now: now, dryRun: false,
                on: connection)
        }
        #expect(result.skipped.isEmpty, "\(result.skipped)")
        #expect(result.dropped.sorted() == PartitionedTable.allCases.map { $0.partitionName(old) }.sorted())
    }

    @Test("--dry-run lists the same partitions and changes nothing")
    func dryRun() async throws {
        let now = Date()
        let current = try Month(containing: now)
        let old = try current.adding(months: -30)
        let scratch = try await ScratchSchema.migrated(extraMonths: [old])
        defer { Task { await scratch.drop() } }
        let (result, before, after) = try await onThread {
            let connection = try connect()
            let before = try scratch.ledger.listPartitions(on: connection)
            let result = try scratch.ledger.applyRetention(
                cutoff: try LedgerSchema.retentionCutoff(dropOlderThanMonths: 1, now: now), now: now, dryRun: true, on: connection)
            return (result, before, try scratch.ledger.listPartitions(on: connection))
        }
        #expect(result.dropped.sorted() == PartitionedTable.allCases.map { $0.partitionName(old) }.sorted())
        #expect(before == after)
    }

    @Test("N < 1 and a cutoff after the current month are refused; N = 1 keeps the previous month")
    func neverCurrentMonth() async throws {
        let now = Date()
        let current = try Month(containing: now)
        #expect(throws: LedgerError.self) { try LedgerSchema.retentionCutoff(dropOlderThanMonths: 0, now: now) }
        #expect(throws: LedgerError.self) { try LedgerSchema.retentionCutoff(dropOlderThanMonths: -3, now: now) }
        #expect(try LedgerSchema.retentionCutoff(dropOlderThanMonths: 1, now: now) == current.adding(months: -1))
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let next = try current.adding(months: 1)
        await #expect(throws: LedgerError.self) {
            try await onThread { try scratch.ledger.applyRetention(cutoff: next, now: now, dryRun: false, on: connect()) }
        }
        let result = try await onThread {
            try scratch.ledger.applyRetention(cutoff: try current.adding(months: -1), now: now, dryRun: false, on: connect())
        }
        #expect(result.dropped.isEmpty)  // migrate made previous, current, next 2: all kept
        let months = try await onThread { try scratch.ledger.listPartitions(on: connect()) }.compactMap(\.month)
        #expect(Set(months) == Set(try (-1...2).map { try current.adding(months: $0) }))
    }

    @Test("a partition named like a month but with other bounds is kept; a detached leftover of an old month is dropped")
    func boundsAndLeftovers() async throws {
        let now = Date()
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let odd = try Month(year: 2001, month: 1)
        let leftover = try Month(year: 2002, month: 5)
        let result = try await onThread {
            let connection = try connect()
            // transactions_2001_01 covering two months: not what retention made, so not its to drop.
            try connection.execute("CREATE TABLE \(scratch.table("transactions_2001_01")) (LIKE \(scratch.table("transactions")) INCLUDING ALL)")
            try connection.execute(
                "ALTER TABLE \(scratch.table("transactions")) ATTACH PARTITION \(scratch.table("transactions_2001_01")) FOR VALUES FROM ('2001-01-01') TO ('2001-03-01')")
            // A run interrupted after DETACH: sessions_2002_05 is a plain table now.
            try scratch.ledger.ensurePartitions(months: [leftover], on: connection)
            try connection.execute("ALTER TABLE \(scratch.table("sessions")) DETACH PARTITION \(scratch.table("sessions_2002_05"))")
            return try scratch.ledger.applyRetention(
                cutoff: try LedgerSchema.retentionCutoff(dropOlderThanMonths: 2, now: now), now: now, dryRun: false, on: connection)
        }
        #expect(result.skipped.map(\.name) == [PartitionedTable.transactions.partitionName(odd)])
        #expect(result.dropped.contains("sessions_2002_05"))
        #expect(Set(result.dropped) == Set(PartitionedTable.allCases.map { $0.partitionName(leftover) }))
        let tables = try await onThread {
            try connect().execute(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND relname LIKE '%2002_05'",
                [.text(scratch.schema.name)]).rows
        }
        #expect(tables.isEmpty)
    }
}
