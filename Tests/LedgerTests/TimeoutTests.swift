import Foundation
import Testing
import TestSupport

@testable import Ledger

#if canImport(Glibc)
import Glibc
#endif

/// Seconds elapsed since `start`, as a Double (for bounds in expectations).
private func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

@Suite("libpq timeouts (PGSessionSettings)")
struct SessionSettingsTests {
    @Test("a URI and a key=value string both get the keywords and -c options; explicit keywords win")
    func conninfoMerging() throws {
        let settings = PGSessionSettings(
            connectTimeout: .milliseconds(2500), keepalivesIdle: .seconds(7), keepalivesInterval: .seconds(3),
            keepalivesCount: 4, statementTimeout: .seconds(12), lockTimeout: .milliseconds(1500),
            idleInTransactionTimeout: .seconds(9), applicationName: "app")
        let fromURI = try PGConnection.conninfo(
            "postgresql://u:p%27w@h:5433/db?connect_timeout=9&options=-c%20lock_timeout%3D77", applying: settings,
            environment: [:])
        #expect(fromURI.contains("host='h'"))
        #expect(fromURI.contains("port='5433'"))
        #expect(fromURI.contains("password='p\\'w'"))  // the quote survives, escaped
        #expect(fromURI.contains("connect_timeout='9'"))  // the URI's own value wins
        #expect(!fromURI.contains("connect_timeout='3'"))
        #expect(fromURI.contains("keepalives='1'") && fromURI.contains("keepalives_idle='7'"))
        #expect(fromURI.contains("keepalives_interval='3'") && fromURI.contains("keepalives_count='4'"))
        #expect(fromURI.contains("fallback_application_name='app'"))
        // The caller's lock_timeout is kept, ours is left out; the other two are ours.
        #expect(fromURI.contains("options='-c statement_timeout=12000 -c idle_in_transaction_session_timeout=9000 -c lock_timeout=77'"))

        let fromPairs = try PGConnection.conninfo("host=/tmp dbname='my db'", applying: settings, environment: [:])
        #expect(fromPairs.contains("host='/tmp'") && fromPairs.contains("dbname='my db'"))
        #expect(fromPairs.contains("connect_timeout='3'"))  // 2.5 s rounds up
        #expect(fromPairs.contains("options='-c statement_timeout=12000 -c lock_timeout=1500 -c idle_in_transaction_session_timeout=9000'"))

        // Empty (PG* variables): only our keywords; PGOPTIONS is kept after ours.
        let empty = try PGConnection.conninfo("", applying: settings, environment: ["PGOPTIONS": "-c work_mem=8MB"])
        #expect(!empty.contains("host="))
        #expect(empty.hasSuffix("-c idle_in_transaction_session_timeout=9000 -c work_mem=8MB'"))

        // Applying twice changes nothing more.
        #expect(try PGConnection.conninfo(fromPairs, applying: .default, environment: [:]).contains("connect_timeout='3'"))
        #expect(try PGConnection.conninfo(fromPairs, applying: .default, environment: [:]).contains("statement_timeout=12000 "))

        #expect(throws: LedgerError.self) { try PGConnection.conninfo("host=h bogus_keyword=1", applying: settings) }
        #expect(throws: LedgerError.self) { try PGConnection.conninfo("postgresql://h/db?nosuchparam=1", applying: settings) }
    }

    @Test("a fresh connection has the configured statement, lock and idle-in-transaction timeouts and keepalives",
          .enabled(if: hasDatabase, "needs DATABASE_URL"))
    func sessionShowsSettings() async throws {
        let settings = PGSessionSettings(
            connectTimeout: .seconds(4), keepalivesIdle: .seconds(11), keepalivesInterval: .seconds(2),
            keepalivesCount: 5, statementTimeout: .milliseconds(12_345), lockTimeout: .milliseconds(2_345),
            idleInTransactionTimeout: .milliseconds(34_567), applicationName: "traceledger-timeout-test")
        let (rows, options) = try await onThread { () -> ([[String?]], [String: String]) in
            let connection = try PGConnection.connect(conninfo: environmentDatabaseURL ?? "", session: settings)
            let result = try connection.execute(
                "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
                    + "current_setting('idle_in_transaction_session_timeout'), current_setting('application_name'), "
                    + "current_setting('TimeZone')")
            return (result.rows, connection.connectionOptions)
        }
        #expect(rows == [["12345ms", "2345ms", "34567ms", "traceledger-timeout-test", "UTC"]])
        #expect(options["connect_timeout"] == "4")
        #expect(options["keepalives"] == "1")
        #expect(options["keepalives_idle"] == "11")
        #expect(options["keepalives_interval"] == "2")
        #expect(options["keepalives_count"] == "5")
        #expect(options["password"] == nil)

        // The defaults, with no settings given.
        let defaults = try await onThread { () -> [[String?]] in
            try PGConnection.connect(conninfo: environmentDatabaseURL ?? "").execute(
                "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
                    + "current_setting('idle_in_transaction_session_timeout')"
            ).rows
        }
        #expect(defaults == [["1min", "10s", "1min"]])
    }

    @Test("a statement waiting on a row lock held by another session fails with 55P03 within ~lock_timeout",
          .enabled(if: hasDatabase, "needs DATABASE_URL"))
    func lockTimeout() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let table = scratch.table("ingest_offsets")
        let outcome = try await onThread { () -> (LedgerError?, Double) in
            let holder = try connect()
            try holder.execute(
                "INSERT INTO \(table) (consumer_group, topic, partition, next_offset, writer) VALUES ('g','t',0,0,'w')")
            try holder.execute("BEGIN")
            try holder.execute("SELECT * FROM \(table) WHERE partition = 0 FOR UPDATE")  // the "zombie" holds it
            defer { holder.rollbackIfNeeded() }
            let waiter = try PGConnection.connect(
                conninfo: environmentDatabaseURL ?? "", session: PGSessionSettings(lockTimeout: .milliseconds(1_500)))
            let start = ContinuousClock.now
            do {
                _ = try waiter.transaction { c in
                    try c.execute("UPDATE \(table) SET next_offset = 10 WHERE partition = 0 AND next_offset = 0")
                }
                return (nil, seconds(since: start))
            } catch let error as LedgerError {
                return (error, seconds(since: start))
            }
        }
        let error = try #require(outcome.0, "the UPDATE behind the lock succeeded instead of timing out")
        #expect(error.code == .queryFailed)
        #expect(error.sqlState == SQLState.lockNotAvailable)
        #expect(outcome.1 >= 1.4 && outcome.1 < 6, "waited \(outcome.1) s with lock_timeout 1.5 s")
    }

    @Test("a statement running past statement_timeout fails with 57014",
          .enabled(if: hasDatabase, "needs DATABASE_URL"))
    func statementTimeout() async throws {
        let outcome = try await onThread { () -> (LedgerError?, Double, Bool) in
            let c = try PGConnection.connect(
                conninfo: environmentDatabaseURL ?? "", session: PGSessionSettings(statementTimeout: .milliseconds(500)))
            let start = ContinuousClock.now
            do {
                try c.execute("SELECT pg_sleep(10)")
                return (nil, seconds(since: start), c.isHealthy)
            } catch let error as LedgerError {
                return (error, seconds(since: start), c.isHealthy)
            }
        }
        let error = try #require(outcome.0)
        #expect(error.sqlState == SQLState.queryCanceled)
        #expect(outcome.1 < 5)
        #expect(outcome.2, "the session survives a statement timeout")
    }

    @Test("a session idle inside a transaction past idle_in_transaction_timeout is ended and its locks freed",
          .enabled(if: hasDatabase, "needs DATABASE_URL"))
    func idleInTransaction() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let table = scratch.table("ingest_offsets")
        let outcome = try await onThread { () -> (Int, LedgerError?) in
            let setup = try connect()
            try setup.execute(
                "INSERT INTO \(table) (consumer_group, topic, partition, next_offset, writer) VALUES ('g','t',0,0,'w')")
            let zombie = try PGConnection.connect(
                conninfo: environmentDatabaseURL ?? "", session: PGSessionSettings(idleInTransactionTimeout: .seconds(1)))
            try zombie.execute("BEGIN")
            try zombie.execute("UPDATE \(table) SET next_offset = 5 WHERE partition = 0")
            // The new owner waits at most ~1 s for the zombie's row lock (not lock_timeout's 10 s).
            let owner = try connect()
            let moved = try owner.execute("UPDATE \(table) SET next_offset = 7 WHERE partition = 0 AND next_offset = 0")
            do {
                try zombie.execute("COMMIT")
                return (moved.affectedRows, nil)
            } catch let error as LedgerError {
                return (moved.affectedRows, error)
            }
        }
        #expect(outcome.0 == 1, "the owner's fencing-style UPDATE went through once the zombie was ended")
        let error = try #require(outcome.1, "the zombie's COMMIT must fail")
        #expect(error.code == .connectionLost || error.code == .queryFailed)
    }

    @Test("connect_timeout bounds a connect to a port that accepts TCP but never answers; a closed port fails at once")
    func connectTimeout() async throws {
        // A listening socket that never accepts: the kernel completes the handshake, nobody speaks.
        let (listener, port) = try loopbackSocket()
        defer { close(listener) }

        let silent = try await onThread { () -> (LedgerError?, Double) in
            let start = ContinuousClock.now
            do {
                _ = try PGConnection.connect(
                    conninfo: "postgresql://nobody@127.0.0.1:\(port)/none", session: PGSessionSettings(connectTimeout: .seconds(2)))
                return (nil, seconds(since: start))
            } catch let error as LedgerError {
                return (error, seconds(since: start))
            }
        }
        #expect(silent.0?.code == .connectionFailed)
        #expect(silent.1 >= 1.5 && silent.1 < 6, "gave up after \(silent.1) s with connect_timeout 2 s")

        let closed = try await onThread { () -> (LedgerError?, Double) in
            let start = ContinuousClock.now
            do {
                _ = try PGConnection.connect(conninfo: "postgresql://nobody@127.0.0.1:1/none")
                return (nil, seconds(since: start))
            } catch let error as LedgerError {
                return (error, seconds(since: start))
            }
        }
        #expect(closed.0?.code == .connectionFailed)
        #expect(closed.1 < 5.5, "the default connect_timeout (5 s) bounds it; took \(closed.1) s")
    }
}
