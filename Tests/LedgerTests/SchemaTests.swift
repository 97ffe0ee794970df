import Aggregation
import Foundation
import Testing
import TestSupport

@testable import Ledger

@Suite("migrations and partitions", .enabled(if: hasDatabase, "needs DATABASE_URL"))
struct SchemaTests {
    /// Everything in the schema that a migration could change: relations, columns, constraints, indexes,
    /// views, partition bounds, and the migration table.
    static func catalogSnapshot(_ connection: PGConnection, _ schema: SchemaName) throws -> [[String?]] {
        let parts = [
            """
            SELECT c.relname, c.relkind::text, coalesce(pg_get_expr(c.relpartbound, c.oid), '')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1
            """,
            """
            SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
            FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1, 2
            """,
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) ORDER BY 1, 2
            """,
            "SELECT viewname, definition FROM pg_views WHERE schemaname = $1 ORDER BY 1",
        ]
        var rows: [[String?]] = []
        for sql in parts { rows += try connection.execute(sql, [.text(schema.name)]).rows }
        rows += try connection.execute(
            "SELECT version::text, name, applied_at::text FROM \(schema.quoted).schema_migrations ORDER BY 1").rows
        return rows
    }

    @Test("migrate twice: the second run applies nothing and the catalog is unchanged")
    func migrateTwice() async throws {
        let scratch = try ScratchSchema()
        defer { Task { await scratch.drop() } }
        try await onThread {
            let connection = try connect()
            let first = try scratch.ledger.migrate(on: connection)
            #expect(first.applied == LedgerSchema.migrations.map { "\($0.version) \($0.name)" })
            #expect(first.applied == ["1 ledger tables", "2 budgets and views", "3 money and tokens as numeric", "4 sampled spans", "5 budget alerts"])
            #expect(first.partitionsCreated.count == 4 * PartitionedTable.allCases.count)
            let before = try Self.catalogSnapshot(connection, scratch.schema)
            let second = try scratch.ledger.migrate(on: connection)
            #expect(second.changedNothing)
            #expect(second == .init(applied: [], partitionsCreated: []))
            let after = try Self.catalogSnapshot(connection, scratch.schema)
            #expect(before == after)
            #expect(try scratch.ledger.appliedMigrations(on: connection) == LedgerSchema.migrations.map(\.version))
        }
    }

    @Test("concurrent migrators: exactly one applies, the others see nothing to do")
    func concurrentMigrators() async throws {
        let scratch = try ScratchSchema()
        defer { Task { await scratch.drop() } }
        let barrier = ThreadBarrier(count: 4)
        let reports = try await onThreads(4) { _ in
            let connection = try connect()
            barrier.wait()
            return try scratch.ledger.migrate(on: connection)
        }
        #expect(reports.filter { !$0.applied.isEmpty }.count == 1)
        #expect(reports.flatMap(\.applied).count == LedgerSchema.migrations.count)
    }

    @Test("migrate creates partitions for the previous, current and next two months of every ledger table")
    func partitionsAhead() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let current = try Month(containing: Date())
        let expected = try (-1...2).map { try current.adding(months: $0) }
        let partitions = try await onThread { try scratch.ledger.listPartitions(on: connect()) }
        for table in PartitionedTable.allCases {
            let months = partitions.filter { $0.table == table }.compactMap(\.month)
            #expect(months == expected, "\(table)")
        }
        let transactions = partitions.first { $0.name == PartitionedTable.transactions.partitionName(current) }
        let next = try current.adding(months: 1)
        #expect(transactions?.bounds == "FOR VALUES FROM ('\(current.firstDayLiteral)') TO ('\(next.firstDayLiteral)')")
    }

    @Test("an on-demand partition is created exactly once when 8 connections ask at the same moment")
    func onDemandPartitionOnce() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let month = try Month(year: 2031, month: 3)
        let barrier = ThreadBarrier(count: 8)
        let created = try await onThreads(8) { _ in
            let connection = try connect()
            barrier.wait()
            return try scratch.ledger.ensurePartitions(months: [month], on: connection)
        }
        let all = created.flatMap { $0 }
        #expect(all.sorted() == PartitionedTable.allCases.map { $0.partitionName(month) }.sorted())
        #expect(created.filter { !$0.isEmpty }.count == 1)
        let listed = try await onThread { try scratch.ledger.listPartitions(on: connect()) }
        #expect(listed.filter { $0.month == month }.count == PartitionedTable.allCases.count)
    }

    @Test("partitions older than N months are dropped; newer ones stay")
    func dropOld() async throws {
        let old = try Month(year: 2020, month: 1)
        let scratch = try await ScratchSchema.migrated(extraMonths: [old])
        defer { Task { await scratch.drop() } }
        let current = try Month(containing: Date())
        let dropped = try await onThread {
            try scratch.ledger.dropPartitions(olderThan: try current.adding(months: -1), on: connect())
        }
        #expect(dropped.sorted() == PartitionedTable.allCases.map { $0.partitionName(old) }.sorted())
        let months = try await onThread { try scratch.ledger.listPartitions(on: connect()) }.compactMap(\.month)
        #expect(Set(months) == Set(try (-1...2).map { try current.adding(months: $0) }))
    }

    @Test("the views show USD as numeric(30,9) and trace ids as 32 lowercase hex")
    func views() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let month = try Month(containing: Date())
        let row = try await onThread {
            let connection = try connect()
            try connection.execute(
                "INSERT INTO \(scratch.table("transactions")) (month, trace_id, cost_nusd) VALUES ($1, $2, $3)",
                [.monthStart(month), .bytea(Array(0xA0..<0xB0)), .int8(9_223_372_036_854_775_807)])
            return try connection.execute(
                "SELECT trace_id, cost_usd::text, pg_typeof(cost_usd)::text FROM \(scratch.table("transaction_costs"))")
        }
        #expect(row.rows == [["a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "9223372036.854775807", "numeric"]])
    }
}
