import Foundation
import Aggregation
import Ledger

#if canImport(Glibc)
import Glibc
#endif

// The database tests talk to: the one scripts/with-postgres.sh starts (DATABASE_URL), a scratch schema
// of a test's own in it, or a server of the test's own (`ThrowawayPostgres`).

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

/// A PostgreSQL server of the test's own (initdb in a temp dir, 127.0.0.1, a free port): the same
/// recipe as scripts/with-postgres.sh (as the `postgres` user when root, since initdb refuses root).
/// Guarantees: `start()` returns a server that accepts connections at `url`; the test may stop, start,
/// freeze (SIGSTOP) and thaw it; `destroy()` kills it and removes its directory, frozen or not.
public final class ThrowawayPostgres: Sendable {
    public let directory: URL
    public let port: Int
    public let bin: String
    public let asRoot: Bool

    public var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }
    private var data: String { directory.appendingPathComponent("data").path }

    private init(directory: URL, port: Int, bin: String, asRoot: Bool) {
        self.directory = directory
        self.port = port
        self.bin = bin
        self.asRoot = asRoot
    }

    public static func start() throws -> ThrowawayPostgres {
        let fm = FileManager.default
        let bin: String
        if let given = ProcessInfo.processInfo.environment["TRACELEDGER_PG_BINDIR"], !given.isEmpty {
            bin = given
        } else {
            let versions = (try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
            guard let version = versions.compactMap({ Int($0) }).max() else {
                throw TestFailure("no PostgreSQL server under /usr/lib/postgresql: run scripts/install-deps.sh")
            }
            bin = "/usr/lib/postgresql/\(version)/bin"
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("traceledger-owned-pg-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot {
            try spawnAndWait("/bin/chmod", ["755", directory.path])
            try spawnAndWait("/bin/chown", ["postgres:postgres", directory.path])
        }
        let pg = ThrowawayPostgres(directory: directory, port: try freePort(), bin: bin, asRoot: asRoot)
        try pg.asPostgres("\(bin)/initdb", ["-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"])
        let conf = """

            listen_addresses = '127.0.0.1'
            port = \(pg.port)
            unix_socket_directories = '\(directory.path)'
            max_connections = 50
            shared_buffers = 64MB
            fsync = off
            synchronous_commit = off
            full_page_writes = off

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(pg.data)/postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(conf.utf8))
        try handle.close()
        try pg.start()
        return pg
    }

    public func start() throws {
        try asPostgres("\(bin)/pg_ctl", ["-D", data, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
    }

    public func stop() throws {
        try asPostgres("\(bin)/pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// SIGSTOPs the server: the postmaster first (no new backends), then every process it forked.
    /// Connections stay open and connects are accepted by the kernel, but nothing answers.
    public func freeze() throws {
        let postmaster = try postmasterPID()
        try signalProcesses([postmaster], SIGSTOP)
        try signalProcesses(childProcesses(of: postmaster), SIGSTOP)
    }

    /// Undoes ``freeze()`` (harmless when not frozen).
    public func thaw() {
        guard let postmaster = try? postmasterPID() else { return }
        try? signalProcesses(childProcesses(of: postmaster), SIGCONT)
        try? signalProcesses([postmaster], SIGCONT)
    }

    private func postmasterPID() throws -> Int32 {
        let text = try String(contentsOfFile: "\(data)/postmaster.pid", encoding: .utf8)
        guard let first = text.split(separator: "\n").first, let pid = Int32(first) else {
            throw TestFailure("cannot read the postmaster's pid")
        }
        return pid
    }

    public func destroy() {
        thaw()
        try? asPostgres("\(bin)/pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    private func asPostgres(_ tool: String, _ args: [String]) throws {
        if asRoot {
            try spawnAndWait("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + args)
        } else {
            try spawnAndWait(tool, args)
        }
    }
}
