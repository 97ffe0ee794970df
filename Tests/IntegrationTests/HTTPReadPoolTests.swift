import Foundation
import Ledger
import Testing
import TestSupport

/// The API's read pool against a real PostgreSQL: bounded queue, statement timeout, read-only, reconnect.
@Suite("HTTP API read pool (real Postgres)", .serialized)
struct HTTPReadPoolTests {
    @Test("a full read pool refuses at once with workerBusy instead of queueing without bound")
    func fullPoolRefuses() async throws {
        let pool = LedgerReadPool(
            conninfo: try databaseURL(), statementTimeout: .seconds(30), connections: 1, queueCapacityPerConnection: 1)
        defer { pool.shutdown() }
        _ = try await pool.read { c in try c.execute("SELECT 1") }  // connected
        async let slow: Void = { _ = try await pool.read { c in try c.execute("SELECT pg_sleep(1.5)") } }()
        try await Task.sleep(for: .milliseconds(300))
        // One statement runs, at most one waits: of two more, at least one is refused.
        async let a = attempt { try await pool.read { c in try c.execute("SELECT 1").int64(0, 0) } }
        async let b = attempt { try await pool.read { c in try c.execute("SELECT 1").int64(0, 0) } }
        let outcomes = await [a, b]
        let refused = outcomes.filter {
            if case .failure(let e as LedgerError) = $0 { return e.code == .workerBusy }
            return false
        }
        #expect(refused.count >= 1)
        try await slow
    }

    @Test("a read over http.statement_timeout fails with SQLSTATE 57014, and the connection serves the next read")
    func statementTimeout() async throws {
        let pool = LedgerReadPool(conninfo: try databaseURL(), statementTimeout: .milliseconds(200), connections: 1)
        defer { pool.shutdown() }
        await #expect(throws: LedgerError.self) { try await pool.read { c in try c.execute("SELECT pg_sleep(3)") } }
        do {
            _ = try await pool.read { c in try c.execute("SELECT pg_sleep(3)") }
        } catch let error as LedgerError {
            #expect(error.sqlState == "57014")
        }
        #expect(try await pool.read { c in try c.execute("SELECT 41 + 1").int64(0, 0) } == 42)
    }

    @Test("API reads are read-only: a write fails with SQLSTATE 25006")
    func readOnly() async throws {
        let pool = LedgerReadPool(conninfo: try databaseURL(), statementTimeout: .seconds(5), connections: 1)
        defer { pool.shutdown() }
        do {
            _ = try await pool.read { c in try c.execute("CREATE TABLE http_pool_must_not_exist (a int)") }
            Issue.record("a write succeeded on a read connection")
        } catch let error as LedgerError {
            #expect(error.sqlState == "25006")
        }
    }

    @Test("a connection the server ended is opened again for the next read; probe reports the database state")
    func reconnectsAfterABrokenConnection() async throws {
        let pool = LedgerReadPool(conninfo: try databaseURL(), statementTimeout: .seconds(5), connections: 1)
        defer { pool.shutdown() }
        let first = try await pool.read { c in c.backendPID }
        _ = try? await pool.read { c in try c.execute("SELECT pg_terminate_backend(pg_backend_pid())") }
        let second = try await pool.read { c in c.backendPID }
        #expect(first != second)
        #expect(await pool.probe() == nil)
        #expect(pool.lastProbeError == nil)

        let nowhere = LedgerReadPool(
            conninfo: "postgresql://nobody@127.0.0.1:1/none", session: PGSessionSettings(connectTimeout: .seconds(2)),
            statementTimeout: .seconds(1), connections: 1)
        defer { nowhere.shutdown() }
        #expect(await nowhere.probe() != nil)
        #expect(nowhere.lastProbeError != nil)
    }
}

func attempt<T: Sendable>(_ body: @Sendable () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
