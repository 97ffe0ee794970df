import Aggregation
import Foundation
import Testing
import TestSupport

@testable import Ledger

@Suite("libpq wrapper", .enabled(if: hasDatabase, "needs DATABASE_URL"))
struct ConnectionTests {
    @Test("a unique violation surfaces as LedgerError with SQLSTATE 23505, message, detail and SQL")
    func uniqueViolation() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let error = try await onThread { () -> LedgerError? in
            let connection = try connect()
            let sql = "INSERT INTO \(scratch.table("ingest_offsets")) (consumer_group, topic, partition, next_offset, writer) VALUES ($1, $2, $3, $4, $5)"
            let row: [PGValue] = [.text("g"), .text("t"), .int4(0), .int8(1), .text("w")]
            try connection.execute(sql, row)
            do { try connection.execute(sql, row) } catch let error as LedgerError { return error }
            return nil
        }
        let caught = try #require(error)
        #expect(caught.code == .queryFailed)
        #expect(caught.sqlState == SQLState.uniqueViolation)
        #expect(caught.message.contains("duplicate key"))
        #expect(caught.detail?.contains("already exists") == true)
        #expect(caught.context?.contains("ingest_offsets") == true)
    }

    @Test("a real deadlock between two connections surfaces as SQLSTATE 40P01")
    func deadlock() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let table = scratch.table("ingest_offsets")
        try await onThread {
            try connect().execute(
                "INSERT INTO \(table) (consumer_group, topic, partition, next_offset, writer) VALUES ('g','t',0,0,'w'), ('g','t',1,0,'w')")
        }
        let barrier = ThreadBarrier(count: 2)
        // Each connection locks its own row, meets the other at the barrier, then wants the other's row.
        let outcomes = try await onThreads(2) { index -> String? in
            let connection = try connect()
            try connection.execute("BEGIN")
            try connection.execute("UPDATE \(table) SET next_offset = next_offset + 1 WHERE partition = $1", [.int4(Int32(index))])
            barrier.wait()
            do {
                try connection.execute("UPDATE \(table) SET next_offset = next_offset + 1 WHERE partition = $1", [.int4(Int32(1 - index))])
                try connection.execute("COMMIT")
                return nil
            } catch let error as LedgerError {
                connection.rollbackIfNeeded()
                return error.sqlState
            }
        }
        #expect(outcomes.compactMap { $0 } == [SQLState.deadlockDetected])
        #expect(LedgerError(.queryFailed, message: "", sqlState: "40P01").isRetriableTransactionConflict)
    }

    @Test("an unreachable server is a connectionFailed error on one line")
    func unreachable() async throws {
        let error = try await onThread { () -> LedgerError? in
            do { _ = try PGConnection.connect(conninfo: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2") } catch let error as LedgerError {
                return error
            }
            return nil
        }
        let caught = try #require(error)
        #expect(caught.code == .connectionFailed)
        #expect(!caught.message.contains("\n"))
        #expect(caught.message.contains("127.0.0.1"))
    }

    @Test("binary COPY round-trips int8, text, bytea, timestamptz, date, bool and NULL")
    func binaryCopy() async throws {
        let month = try Month(year: 2026, month: 11)
        let micros: Int64 = 1_790_000_000_123_456  // 2026-09-21T...Z
        let rows = try await onThread { () -> [[String?]] in
            let connection = try connect()
            try connection.execute(
                "CREATE TEMP TABLE copy_probe (a int8, b text, c bytea, d timestamptz, e date, f bool, g text, h int4)")
            var encoder = BinaryCopyEncoder()
            encoder.beginRow(fieldCount: 8)
            encoder.appendInt8(-9_223_372_036_854_775_808)
            encoder.appendText("héllo\t\"x\"")
            encoder.appendBytea([0, 1, 0xFF])
            encoder.appendTimestamptz(unixMicros: micros)
            encoder.appendDate(month)
            encoder.appendBool(true)
            encoder.appendNull()
            encoder.appendInt4(42)
            encoder.beginRow(fieldCount: 8)
            encoder.appendInt8(7)
            encoder.appendText("")
            encoder.appendBytea([])
            encoder.appendTimestamptz(unixMicros: -1)
            encoder.appendDate(try Month(year: 1970, month: 1))
            encoder.appendBool(false)
            encoder.appendText(nil)
            encoder.appendInt4(-1)
            let copied = try connection.copyIn("COPY copy_probe FROM STDIN (FORMAT binary)", data: encoder.finish())
            #expect(copied == 2)
            return try connection.execute(
                "SELECT a::text, b, encode(c, 'hex'), (extract(epoch FROM d) * 1000000)::bigint::text, e::text, f::text, g, h::text FROM copy_probe ORDER BY a"
            ).rows
        }
        #expect(rows == [
            ["-9223372036854775808", "héllo\t\"x\"", "0001ff", String(micros), "2026-11-01", "true", nil, "42"],
            ["7", "", "", "-1", "1970-01-01", "false", nil, "-1"],
        ])
    }

    @Test("binary parameters round-trip through PQexecParams")
    func parameters() async throws {
        let row = try await onThread {
            try connect().execute(
                "SELECT $1::int8::text, $2::text, encode($3::bytea, 'hex'), $4::timestamptz::text, $5::date::text, $6::text IS NULL, $7::int4::text, $8::bool::text",
                [.int8(Int64.min), .text("it's"), .bytea([0xDE, 0xAD]), .timestamptz(unixMicros: 0),
                 .monthStart(try Month(year: 2026, month: 2)), .null, .int4(-5), .bool(true)])
        }
        #expect(row.rows == [["-9223372036854775808", "it's", "dead", "1970-01-01 00:00:00+00", "2026-02-01", "t", "-5", "true"]])
    }

    @Test("the worker thread runs jobs in order, reconnects lazily and refuses jobs after shutdown")
    func workerThread() async throws {
        let worker = LedgerWorkerThread(name: "test.worker", queueCapacity: 4) { try connect() }
        let pid1 = try await worker.run { $0.backendPID }
        let pid2 = try await worker.run { $0.backendPID }
        #expect(pid1 == pid2)
        let onWorker = try await worker.run { _ in LedgerWorkerThread.currentWorkerName }
        #expect(onWorker == "test.worker")
        #expect(LedgerWorkerThread.currentWorkerName == nil)
        // The OS sees the name too (top -H, ps -L, perf): Foundation's Thread.name alone does not set it on Linux.
        let osName = try await worker.run { _ in (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "" }
        #expect(osName.trimmingCharacters(in: .newlines) == "test.worker")
        // A job that leaves a transaction open is rolled back after it.
        try await worker.run { try $0.execute("BEGIN") }
        #expect(try await worker.run { $0.isInTransaction } == false)
        worker.shutdown()
        await #expect(throws: LedgerError.self) { try await worker.run { $0.backendPID } }
    }

    @Test("a full worker queue refuses a job with workerBusy instead of growing")
    func workerBusy() async throws {
        let worker = LedgerWorkerThread(queueCapacity: 1) { try connect() }
        defer { worker.shutdown() }
        _ = try await worker.run { $0.backendPID }  // connected
        async let slow: Void = worker.run { try $0.execute("SELECT pg_sleep(0.5)") ; return () }
        try await Task.sleep(for: .milliseconds(100))  // the slow job is running; the queue is empty
        async let queued = worker.run { $0.backendPID }
        try await Task.sleep(for: .milliseconds(100))  // one job waits: the queue is full
        do {
            _ = try await worker.run { $0.backendPID }
            Issue.record("expected workerBusy")
        } catch let error as LedgerError {
            #expect(error.code == .workerBusy)
        }
        _ = try await (slow, queued)
    }

    @Test("a worker whose database is unreachable reports connectionFailed for each job")
    func workerUnreachable() async throws {
        let worker = LedgerWorkerThread(conninfo: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
        defer { worker.shutdown() }
        do {
            _ = try await worker.run { $0.backendPID }
            Issue.record("expected a connection failure")
        } catch let error as LedgerError {
            #expect(error.code == .connectionFailed)
        }
    }
}

@Suite("Month and identifiers (no database)")
struct MonthTests {
    @Test("Month rejects out-of-range and malformed values before any SQL exists")
    func validation() throws {
        for (year, month) in [(2026, 13), (2026, 0), (1969, 12), (10000, 1), (-1, 5)] {
            #expect(throws: LedgerError.self) { try Month(year: year, month: month) }
        }
        for text in ["2026-11'; DROP TABLE x; --", "2026-1", "26-11", "2026/11", "2026-11-01", "", "２０２６-11", "2026-00"] {
            #expect(throws: LedgerError.self, "\(text)") { try Month(parsing: text) }
        }
        #expect(throws: LedgerError.self) { try Month(containingUnixNanos: -1) }  // 1969-12-31
        #expect(throws: LedgerError.self) { try Month(year: 9999, month: 12).adding(months: 1) }
        #expect(throws: LedgerError.self) { try SchemaName("x\"; DROP SCHEMA public; --") }
        #expect(throws: LedgerError.self) { try SchemaName("Upper") }
        #expect(throws: LedgerError.self) { try SchemaName("pg_catalog") }
        #expect(throws: LedgerError.self) { try SchemaName("1abc") }
    }

    @Test("partition DDL is built only from the validated month, table constant and schema")
    func ddlFromValidatedMonth() throws {
        let month = try Month(parsing: "2026-11")
        let ledger = LedgerSchema(schema: try SchemaName("traceledger"))
        #expect(try ledger.partitionDDL(for: .transactions, month: month) == [
            #"CREATE TABLE IF NOT EXISTS "traceledger"."transactions_2026_11" (LIKE "traceledger"."transactions" INCLUDING ALL)"#,
            #"ALTER TABLE "traceledger"."transactions" ATTACH PARTITION "traceledger"."transactions_2026_11" FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')"#,
        ])
        #expect(try ledger.partitionDDL(for: .domainHourly, month: try Month(year: 2026, month: 12)).last
            == #"ALTER TABLE "traceledger"."domain_hourly" ATTACH PARTITION "traceledger"."domain_hourly_2026_12" FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')"#)
        #expect(LedgerSchema.month(ofPartition: "transactions_2026_11", table: .transactions) == month)
        #expect(LedgerSchema.month(ofPartition: "transactions_2026_13", table: .transactions) == nil)
        #expect(LedgerSchema.month(ofPartition: "transactions_x", table: .transactions) == nil)
    }

    @Test("Month arithmetic and instants at month boundaries")
    func arithmetic() throws {
        let november = try Month(year: 2026, month: 11)
        #expect(try november.adding(months: 2) == Month(year: 2027, month: 1))
        #expect(try november.adding(months: -11) == Month(year: 2025, month: 12))
        #expect(try november.adding(months: -23) == Month(year: 2024, month: 12))
        // 2026-11-01T00:00:00Z = 1793491200 s.
        #expect(try Month(containingUnixNanos: 1_793_491_200 * 1_000_000_000) == november)
        #expect(try Month(containingUnixNanos: 1_793_491_200 * 1_000_000_000 - 1) == Month(year: 2026, month: 10))
        #expect(november.startUnixMicros == 1_793_491_200_000_000)
        #expect(try UTCHour(unixNanos: 1_793_491_200 * 1_000_000_000 - 1).month == Month(year: 2026, month: 10))
        #expect(try Month(year: 2024, month: 2).adding(months: 1).startUnixMicros - Month(year: 2024, month: 2).startUnixMicros
            == 29 * 86_400_000_000)
        #expect(november.description == "2026-11" && november.partitionSuffix == "2026_11" && november.yyyymm == 202611)
    }
}

@Suite("traceledger CLI", .enabled(if: ProcessInfo.processInfo.environment["TRACELEDGER_BIN"] != nil, "needs TRACELEDGER_BIN"))
struct CLITests {
    @Test("migrate with an unreachable database exits non-zero with one line saying what to set")
    func migrateUnreachable() async throws {
        let result = try await onThread {
            try runTraceledger(["migrate"], environment: ["DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", "PATH": "/usr/bin:/bin"])
        }
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.hasPrefix("error: cannot connect to PostgreSQL ("))
        #expect(result.stderr.contains("set DATABASE_URL=postgresql://user@host:port/db or PGHOST/PGPORT/PGUSER/PGDATABASE"))
    }

    @Test("migrate then migrate again reports nothing applied; partitions lists them", .enabled(if: hasDatabase))
    func migrateTwice() async throws {
        let scratch = try ScratchSchema()
        defer { Task { await scratch.drop() } }
        var environment = ProcessInfo.processInfo.environment
        environment["TRACELEDGER_DATABASE_SCHEMA"] = scratch.schema.name
        let env = environment
        let first = try await onThread { try runTraceledger(["migrate"], environment: env) }
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied migration 1 ledger tables"))
        let second = try await onThread { try runTraceledger(["migrate", "--schema", scratch.schema.name], environment: env) }
        #expect(second.status == 0)
        #expect(second.stdout.contains("nothing applied"))
        let list = try await onThread { try runTraceledger(["partitions"], environment: env) }
        #expect(list.status == 0)
        #expect(list.stdout.split(separator: "\n").count == 4 * PartitionedTable.allCases.count)
        let bad = try await onThread { try runTraceledger(["migrate", "--schema", "Bad-Name"], environment: env) }
        #expect(bad.status != 0)
    }
}
