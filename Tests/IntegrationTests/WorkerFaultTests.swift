import DevHarness
import Foundation
import Kafka
import Ledger
import LoadGen
import Logging
import Pipeline
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

// Worker-level fault tests: real `traceledger run` processes (TRACELEDGER_BIN) against a real PostgreSQL
// and librdkafka's mock cluster (hosted in this test process, reached over 127.0.0.1), with a load of
// LoadGen traffic whose manifest is priced by LoadGen's own reference pricer. Each scenario injects one
// kind of fault under load and ends with the ledger compared to that manifest, trace by trace.
// Every wait is bounded and fails with a message naming what did not happen.

@Suite(
    "worker faults (processes: SIGKILL, database outage, zombie, killed connections)", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["TRACELEDGER_BIN"] != nil, "needs TRACELEDGER_BIN (scripts/test.sh)"),
    .enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"] != nil, "needs DATABASE_URL (scripts/test.sh)"))
struct WorkerFaultTests {
    @Test("SIGKILL a worker mid-epoch twice under load, restart it each time: the ledger is exact")
    func sigkillMidEpoch() async throws {
        let started = ContinuousClock.now
        let conninfo = try databaseURL()
        let env = try FaultEnvironment(name: "kill", partitions: 6, conninfo: conninfo)
        defer { env.finish() }
        var worker = try env.startWorker("kill-1")
        let load = env.produce(LoadPlan(spans: 72_000, shape: .collector, poisonFraction: 0.01, seed: 21, topic: env.topic, spansPerSecond: 3_000))
        for kill in 1...2 {
            // Wait for an epoch to commit after the (re)start, then kill while the next one is open.
            let before = try env.committed()
            try await env.waitUntil("worker \(worker.name) commits an epoch", timeout: .seconds(60), alive: [worker]) {
                try env.committed() > before
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...400)))
            try #require(!load.isFinished, "the load ended before kill \(kill): raise spans or lower the rate")
            worker.signal(SIGKILL)
            try await worker.waitExit(timeout: .seconds(10))
            let committedAtKill = try env.committed()
            env.note("kill \(kill): SIGKILL \(worker.name) with \(committedAtKill) records committed")
            worker = try env.startWorker("kill-\(kill + 1)")
        }
        let (manifest, records) = try await load.result(timeout: .seconds(120))
        try await env.waitCommitted(records, timeout: .seconds(120), alive: [worker])
        try await worker.terminate(expectingSuccessWithin: .seconds(30))
        try env.verifyExact(manifest)
        env.note("done in \(started.secondsSinceNow) s")
    }

    @Test("PostgreSQL stopped for 8 s and started again under load: the worker waits, stays within 64 MiB of RSS growth, and the ledger is exact")
    func databaseOutage() async throws {
        let started = ContinuousClock.now
        let pg = try ThrowawayPostgres.start()
        defer { pg.destroy() }
        let env = try FaultEnvironment(name: "outage", partitions: 6, conninfo: pg.url)
        defer { env.finish() }
        let worker = try env.startWorker("outage")
        let load = env.produce(LoadPlan(spans: 36_000, shape: .collector, poisonFraction: 0.01, seed: 22, topic: env.topic, spansPerSecond: 3_000))
        try await env.waitUntil("the worker commits an epoch", timeout: .seconds(60), alive: [worker]) { try env.committed() > 0 }
        let committedBefore = try env.committed()
        let rssAtStop = try #require(worker.memoryKiB("VmRSS"), "cannot read the worker's VmRSS")
        try pg.stop()
        env.note("database stopped with \(committedBefore) records committed, worker VmRSS \(rssAtStop / 1024) MiB")
        var rssPeak = rssAtStop
        let outageEnd = ContinuousClock.now + .seconds(8)
        while ContinuousClock.now < outageEnd {
            try #require(worker.isRunning, "the worker died during the outage; its log ends: \(worker.logTail())")
            rssPeak = max(rssPeak, worker.memoryKiB("VmRSS") ?? 0)
            try await Task.sleep(for: .milliseconds(200))
        }
        try pg.start()
        env.note("database back; worker VmRSS peak during the outage \(rssPeak / 1024) MiB (+\((rssPeak - rssAtStop) / 1024) MiB)")
        let (manifest, records) = try await load.result(timeout: .seconds(120))
        try await env.waitCommitted(records, timeout: .seconds(120), alive: [worker])
        #expect(rssPeak - rssAtStop < 64 * 1024, "RSS grew by \((rssPeak - rssAtStop) / 1024) MiB during the outage")
        #expect(worker.log().contains("epoch write failed; retrying"), "the worker noticed the outage")
        try await worker.terminate(expectingSuccessWithin: .seconds(30))
        try env.verifyExact(manifest)
        env.note("done in \(started.secondsSinceNow) s")
    }

    @Test("a zombie: A stopped (SIGSTOP) with an epoch in flight, B takes over and commits, A resumed: A's epoch is fenced, the ledger is exact")
    func zombieIsFenced() async throws {
        let started = ContinuousClock.now
        let conninfo = try databaseURL()
        let env = try FaultEnvironment(name: "zombie", partitions: 4, conninfo: conninfo)
        defer { env.finish() }
        let gate = LoadGate(allowedRecords: 500)
        let load = env.produce(
            LoadPlan(spans: 30_000, shape: .collector, poisonFraction: 0.01, seed: 23, topic: env.topic), gate: gate)
        // Notice level: A's stop summary carries its fenced-epoch counter (`fenced_epochs=N`).
        let a = try env.startWorker("zombie-a", extra: ["TRACELEDGER_FLUSH_INTERVAL": "1s", "TRACELEDGER_LOG_LEVEL": "notice"])
        // Phase 1: A consumes and commits everything so far, then idles (nothing new to write).
        let phase1 = try await gate.waitBlocked(timeout: .seconds(60))
        try await env.waitCommitted(phase1, timeout: .seconds(60), alive: [a])
        try await Task.sleep(for: .seconds(1))
        // Freeze A's database sessions while they are idle (no transaction, no lock): A's next epoch
        // write blocks in its first statement, i.e. the epoch stays in flight, before the fencing check.
        let backends = try env.backends(applicationName: a.name)
        try #require(!backends.isEmpty, "no database session of worker A found")
        for b in backends { try #require(b.state == "idle", "A's session \(b.pid) is '\(b.state)', not idle") }
        try env.signalBackends(backends.map(\.pid), SIGSTOP)
        var frozen = backends.map(\.pid)
        defer { try? env.signalBackends(frozen, SIGCONT) }
        // Phase 2: A consumes more, seals an epoch (flush.interval 1 s) and its writer blocks; then A stops.
        gate.allow(1_100)
        let phase2 = try await gate.waitBlocked(timeout: .seconds(60))
        try await Task.sleep(for: .seconds(3))
        a.signal(SIGSTOP)
        var stopped = true
        defer { if stopped { a.signal(SIGCONT) } }
        let committedAtStop = try env.committed()
        env.note("A (pid \(a.pid)) stopped with \(phase2) records produced, \(committedAtStop) committed")
        // B joins; once A's session times out (6 s) B owns every partition, re-reads the offsets from
        // Postgres and commits phase 2 itself.
        let b = try env.startWorker("zombie-b")
        try await env.waitCommitted(phase2, timeout: .seconds(90), alive: [b])
        env.note("B committed phase 2 after \(started.secondsSinceNow) s")
        // A comes back: its in-flight epoch reaches the fencing check and must be refused.
        try env.signalBackends(frozen, SIGCONT)
        frozen = []
        a.signal(SIGCONT)
        stopped = false
        try await env.waitUntil("worker A logs a fenced epoch", timeout: .seconds(30), alive: [a, b]) {
            a.log().contains("fenced: re-reading offsets from Postgres")
        }
        env.note("A resumed and its in-flight epoch was fenced")
        // Phase 3: both keep working (A rejoins the group); everything ends up exact.
        gate.allow(Int.max)
        let (manifest, records) = try await load.result(timeout: .seconds(120))
        try await env.waitCommitted(records, timeout: .seconds(120), alive: [a, b])
        try await a.terminate(expectingSuccessWithin: .seconds(30))
        try await b.terminate(expectingSuccessWithin: .seconds(30))
        #expect(!b.log().contains("fenced: re-reading offsets from Postgres"), "B was never fenced")
        let fenced = WorkerProcess.counter("fenced_epochs", in: a.log())
        #expect((fenced ?? 0) >= 1, "A's stop summary counts its fenced epochs: fenced_epochs=\(fenced.map(String.init) ?? "missing")")
        env.note("A's summary: fenced_epochs=\(fenced.map(String.init) ?? "missing")")
        try env.verifyExact(manifest)
        env.note("done in \(started.secondsSinceNow) s")
    }

    /// Opt-in (`TRACELEDGER_SLOW_FAULTS=1`): it depends on the server reaching "idle in transaction" for a
    /// stopped client within a bound, which a loaded 2-core machine missed once; the required zombie case
    /// (fenced) above runs always.
    @Test(
        "a zombie stopped inside its epoch transaction holds ingest_offsets row locks: the new owner fails its waits with 55P03 and retries until idle_in_transaction_timeout ends the zombie's session, then commits; the ledger is exact",
        .enabled(if: ProcessInfo.processInfo.environment["TRACELEDGER_SLOW_FAULTS"] != nil))
    func zombieHoldingRowLocks() async throws {
        let started = ContinuousClock.now
        let conninfo = try databaseURL()
        let env = try FaultEnvironment(name: "locks", partitions: 4, conninfo: conninfo)
        defer { env.finish() }
        let gate = LoadGate(allowedRecords: 500)
        let load = env.produce(
            LoadPlan(spans: 30_000, shape: .collector, poisonFraction: 0.01, seed: 26, topic: env.topic), gate: gate)
        // A waits for locks as long as it takes; its session dies 20 s after it stops talking mid-transaction.
        let a = try env.startWorker(
            "locks-a",
            extra: [
                "TRACELEDGER_FLUSH_INTERVAL": "1s", "TRACELEDGER_DATABASE_LOCK_TIMEOUT": "60s",
                "TRACELEDGER_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "20s",
            ])
        let phase1 = try await gate.waitBlocked(timeout: .seconds(60))
        try await env.waitCommitted(phase1, timeout: .seconds(60), alive: [a])
        // The test holds every offset row of the group, so A's next fencing UPDATE waits for it.
        let holder = try PGConnection.connect(conninfo: conninfo)
        try holder.execute("BEGIN")
        try holder.execute(
            "SELECT * FROM \"\(env.schema)\".ingest_offsets WHERE consumer_group = $1 FOR UPDATE", [.text(env.group)])
        gate.allow(1_100)
        let phase2 = try await gate.waitBlocked(timeout: .seconds(60))
        try await env.waitUntil("A's fencing UPDATE waits for the row lock", timeout: .seconds(30), alive: [a]) {
            try env.backends(applicationName: a.name).contains { $0.waitEventType == "Lock" }
        }
        // A stops; then the lock is released: A's backend finishes the UPDATE for a client that no longer
        // answers and sits idle in the transaction, holding that row.
        a.signal(SIGSTOP)
        var stopped = true
        defer { if stopped { a.signal(SIGCONT) } }
        try holder.execute("COMMIT")
        try await env.waitUntil("A's session is idle in its transaction", timeout: .seconds(30), alive: []) {
            try env.backends(applicationName: a.name).contains { $0.state == "idle in transaction" }
        }
        let zombieFrom = ContinuousClock.now
        env.note("A (pid \(a.pid)) stopped holding a row lock; phase 2 = \(phase2) records")
        let b = try env.startWorker("locks-b", extra: ["TRACELEDGER_DATABASE_LOCK_TIMEOUT": "1s"])
        try await env.waitCommitted(phase2, timeout: .seconds(90), alive: [b])
        env.note("B committed phase 2 \(zombieFrom.secondsSinceNow) s after A became a zombie")
        #expect(b.log().contains("55P03"), "B's lock waits behind the zombie ended with lock_timeout (55P03)")
        #expect(
            try env.backends(applicationName: a.name).allSatisfy { $0.state != "idle in transaction" },
            "the server ended the zombie's transaction")
        a.signal(SIGCONT)
        stopped = false
        gate.allow(Int.max)
        let (manifest, records) = try await load.result(timeout: .seconds(120))
        try await env.waitCommitted(records, timeout: .seconds(120), alive: [a, b])
        try await a.terminate(expectingSuccessWithin: .seconds(30))
        try await b.terminate(expectingSuccessWithin: .seconds(30))
        try env.verifyExact(manifest)
        env.note("done in \(started.secondsSinceNow) s")
    }

    @Test("SIGTERM while PostgreSQL is frozen (SIGSTOP: sockets open, nothing answers): the worker exits 0 within shutdown.timeout; the next worker finishes exactly")
    func shutdownWithDatabaseFrozen() async throws {
        let started = ContinuousClock.now
        let pg = try ThrowawayPostgres.start()
        defer { pg.destroy() }
        let env = try FaultEnvironment(name: "frozen", partitions: 4, conninfo: pg.url)
        defer { env.finish() }
        let shutdownTimeout = 6.0
        let first = try env.startWorker("frozen-1", extra: ["TRACELEDGER_SHUTDOWN_TIMEOUT": "6s"])
        let load = env.produce(LoadPlan(spans: 24_000, shape: .collector, poisonFraction: 0.01, seed: 25, topic: env.topic, spansPerSecond: 4_000))
        try await env.waitUntil("the worker commits an epoch", timeout: .seconds(60), alive: [first]) { try env.committed() > 0 }
        try pg.freeze()
        defer { pg.thaw() }
        // The worker's next epoch write (flush.interval 500 ms) is now stuck inside a statement.
        try await Task.sleep(for: .seconds(2))
        let signalled = ContinuousClock.now
        first.signal(SIGTERM)
        try await first.waitExit(timeout: .seconds(shutdownTimeout * 3))
        let took = Double((ContinuousClock.now - signalled).components.seconds)
            + Double((ContinuousClock.now - signalled).components.attoseconds) / 1e18
        env.note(String(format: "SIGTERM with the database frozen: exited %d after %.1f s (shutdown.timeout 6 s)", first.exitStatus ?? -1, took))
        #expect(took < shutdownTimeout + 0.5, "shutdown took \(took) s with shutdown.timeout \(shutdownTimeout) s")
        #expect(first.exitStatus == 0, "exit status \(first.exitStatus.map(String.init) ?? "?"); log ends:\n\(first.logTail())")
        pg.thaw()
        let (manifest, records) = try await load.result(timeout: .seconds(60))
        let second = try env.startWorker("frozen-2")
        try await env.waitCommitted(records, timeout: .seconds(120), alive: [second])
        try await second.terminate(expectingSuccessWithin: .seconds(30))
        try env.verifyExact(manifest)
        env.note("done in \(started.secondsSinceNow) s")
    }

    @Test("the worker's database sessions are killed with pg_terminate_backend mid-transaction, repeatedly, under load: the ledger is exact")
    func terminatedConnections() async throws {
        let started = ContinuousClock.now
        let conninfo = try databaseURL()
        let env = try FaultEnvironment(name: "terminate", partitions: 6, conninfo: conninfo)
        defer { env.finish() }
        let worker = try env.startWorker("terminate")
        let load = env.produce(LoadPlan(spans: 60_000, shape: .collector, poisonFraction: 0.01, seed: 24, topic: env.topic, spansPerSecond: 3_000))
        try await env.waitUntil("the worker commits an epoch", timeout: .seconds(60), alive: [worker]) { try env.committed() > 0 }
        // Kill the worker's sessions whenever one is inside a statement or a transaction, at most every 500 ms.
        let killer = try PGConnection.connect(conninfo: conninfo)
        var kills = 0
        var lastKill = ContinuousClock.now - .seconds(1)
        while !load.isFinished {
            try #require(worker.isRunning, "the worker died; its log ends: \(worker.logTail())")
            if ContinuousClock.now - lastKill > .milliseconds(500) {
                let killed = try killer.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                        + "WHERE application_name = $1 AND pid <> pg_backend_pid() "
                        + "AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')",
                    [.text(worker.name)]
                ).int64(0, 0) ?? 0
                if killed > 0 {
                    kills += 1
                    lastKill = ContinuousClock.now
                }
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        env.note("\(kills) times a session was terminated mid-statement or mid-transaction")
        #expect(kills >= 5, "only \(kills) times was a session caught mid-transaction")
        let (manifest, records) = try await load.result(timeout: .seconds(60))
        try await env.waitCommitted(records, timeout: .seconds(120), alive: [worker])
        try await worker.terminate(expectingSuccessWithin: .seconds(30))
        try env.verifyExact(manifest)
        env.note("done in \(started.secondsSinceNow) s")
    }
}

// MARK: - Support

/// One scenario's world for worker processes: a `KafkaLedgerScenario` (the mock cluster in this process,
/// a topic and its dead-letter topic, a migrated schema, a consumer group) and a scratch directory for
/// worker logs; starts `traceledger run` workers (TestSupport's `WorkerProcess`) and load, checks the ledger.
final class FaultEnvironment: Sendable {
    let name: String
    let scenario: KafkaLedgerScenario
    let directory: URL
    private let workers = Mutex<[WorkerProcess]>([])
    private let started = ContinuousClock.now

    var conninfo: String { scenario.conninfo }
    var schema: String { scenario.schema }
    var topic: String { scenario.topic }
    var group: String { scenario.group }

    init(name: String, partitions: Int, conninfo: String) throws {
        self.name = name
        scenario = try KafkaLedgerScenario("it_fault_\(name)", topicPrefix: "fault", partitions: partitions, conninfo: conninfo)
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("traceledger-fault-\(scenario.schema)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A progress line on stdout (shown by `swift test`).
    func note(_ text: String) {
        print("[fault \(name) +\(started.secondsSinceNow) s] \(text)")
    }

    /// Starts `traceledger run` with the test's cluster, topic, group, schema and fast settings; `name`
    /// is also its `application_name` in PostgreSQL.
    func startWorker(_ name: String, extra: [String: String] = [:]) throws -> WorkerProcess {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TRACELEDGER_") || $0.key == "TRACELEDGER_BIN" }
        environment["DATABASE_URL"] = Self.withApplicationName(conninfo, name)
        environment["TRACELEDGER_KAFKA_BROKERS"] = scenario.cluster.bootstrapServers
        environment["TRACELEDGER_KAFKA_TOPICS"] = topic
        environment["TRACELEDGER_KAFKA_GROUP"] = group
        environment["TRACELEDGER_DATABASE_SCHEMA"] = schema
        environment["TRACELEDGER_HTTP_PORT"] = "0"  // several workers on one machine: any free port each
        environment["TRACELEDGER_PRICING_FILE"] = shippedPricingFile.path
        environment["TRACELEDGER_KAFKA_PROPERTIES"] = "session.timeout.ms=6000,heartbeat.interval.ms=500"
        environment["TRACELEDGER_FLUSH_INTERVAL"] = "500ms"
        environment["TRACELEDGER_SHUTDOWN_TIMEOUT"] = "15s"
        environment["TRACELEDGER_PIPELINE_SHARDS"] = "2"
        environment["TRACELEDGER_LOG_LEVEL"] = "warning"
        for (k, v) in extra { environment[k] = v }
        let worker = try WorkerProcess(name: name, environment: environment, log: directory.appendingPathComponent("\(name).log"))
        workers.withLock { $0.append(worker) }
        note("started worker \(name) (pid \(worker.pid))")
        return worker
    }

    /// `conninfo` with `application_name` set (URI or key=value form).
    static func withApplicationName(_ conninfo: String, _ name: String) -> String {
        if conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://") {
            return conninfo + (conninfo.contains("?") ? "&" : "?") + "application_name=\(name)"
        }
        return conninfo + " application_name='\(name)'"
    }

    /// Produces `plan` on its own thread (the load's pacing sleeps there); see ``LoadRun``.
    func produce(_ plan: LoadPlan, gate: LoadGate? = nil) -> LoadRun {
        LoadRun(plan: plan, brokers: scenario.cluster.bootstrapServers, gate: gate, logger: scenario.logger)
    }

    /// Σ next_offset of the group (every partition starts at 0, so this counts committed records).
    func committed() throws -> Int64 { try scenario.committed() }

    /// Polls `condition` every 100 ms (errors count as "not yet": the database may be away) until it
    /// holds; fails when `timeout` passes or a worker in `alive` exits.
    func waitUntil(
        _ what: String, timeout: Duration, alive: [WorkerProcess], _ condition: () throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while true {
            do {
                if try condition() { return }
            } catch {
                lastError = error
            }
            for w in alive where !w.isRunning {
                throw TestFailure("waiting for '\(what)': worker \(w.name) exited (status \(w.exitStatus.map(String.init) ?? "?")); its log ends:\n\(w.logTail())")
            }
            if ContinuousClock.now >= deadline {
                let logs = alive.map { "--- \($0.name):\n\($0.logTail())" }.joined(separator: "\n")
                throw TestFailure(
                    "timed out after \(timeout) waiting for '\(what)'"
                        + (lastError.map { " (last error: \($0))" } ?? "") + "\n\(logs)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits until the group has committed exactly `records` records (more is a failure).
    func waitCommitted(_ records: Int, timeout: Duration, alive: [WorkerProcess]) async throws {
        var last: Int64 = -1
        try await waitUntil("\(records) records committed", timeout: timeout, alive: alive) {
            last = try committed()
            if last > Int64(records) {
                throw TestFailure("committed offsets \(last) > records produced \(records)")
            }
            return last == Int64(records)
        }
    }

    /// The database sessions whose application_name is `applicationName`.
    func backends(applicationName: String) throws -> [(pid: Int32, state: String, waitEventType: String)] {
        let c = try scenario.connect()
        let r = try c.execute(
            "SELECT pid, coalesce(state, ''), coalesce(wait_event_type, '') FROM pg_stat_activity "
                + "WHERE application_name = $1 AND pid <> pg_backend_pid()",
            [.text(applicationName)])
        return r.rows.indices.compactMap { i in
            r.int64(i, 0).flatMap { Int32(exactly: $0) }.map { ($0, r.string(i, 1) ?? "", r.string(i, 2) ?? "") }
        }
    }

    /// Signals server processes (the test runs on the database's machine, as root or its owner).
    func signalBackends(_ pids: [Int32], _ signal: Int32) throws {
        for pid in pids where kill(pid, signal) != 0 {
            throw TestFailure("kill(\(pid), \(signal)) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Ledger vs the load's manifest (LoadGen's reference pricer): every trace, domain, session, model and
    /// rejected-record count; and the ledger invariant.
    func verifyExact(_ manifest: Manifest) throws {
        let (differences, invariants) = try scenario.compare(with: manifest)
        #expect(differences.isEmpty, "\(differences.count) differences, first: \(differences.prefix(10).map(\.description))")
        #expect(invariants.isEmpty, "\(invariants)")
        #expect(manifest.totals.rejectedRecords > 0, "the load had poison records")
        note("verify: \(manifest.traces.count) traces, \(manifest.totals.spans) spans: \(differences.isEmpty ? "exact" : "\(differences.count) differences")")
    }

    /// Kills every worker still running, drops the schema, removes the logs (failures quote their tails).
    func finish() {
        let all = workers.withLock { $0 }
        for w in all where w.isRunning {
            w.signal(SIGCONT)
            w.signal(SIGKILL)
        }
        scenario.dropSchema()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension WorkerProcess {
    /// SIGTERM, then expects exit status 0 within `timeout` (graceful shutdown).
    func terminate(expectingSuccessWithin timeout: Duration) async throws {
        signal(SIGTERM)
        try await waitExit(timeout: timeout)
        #expect(exitedCleanly, "worker \(name) exited with \(exitStatus.map(String.init) ?? "?") after SIGTERM; log ends:\n\(logTail())")
    }
}
