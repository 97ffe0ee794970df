import Foundation
import Synchronization

/// A PostgreSQL server of its own for `traceledger dev` and the tests: `initdb` in a temp dir, started
/// on 127.0.0.1 at a free port (as the `postgres` user when run as root, since initdb refuses root) —
/// the same recipe as `scripts/with-postgres.sh`.
///
/// Guarantees: ``start()`` returns a server that accepts connections at ``url``; the owner may stop and
/// start it again, freeze it (SIGSTOP) and thaw it; ``destroy()`` (also run on deinit) stops it, frozen
/// or not, and removes its directory, once. The server binaries are the newest under
/// `/usr/lib/postgresql`, or `TRACELEDGER_PG_BINDIR`.
public final class ThrowawayPostgres: Sendable {
    /// What went wrong starting, stopping or signalling the server, with the tool's output.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let directory: URL
    public let port: Int
    private let bin: String
    private let asRoot: Bool
    private let destroyed = Atomic<Bool>(false)

    public var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }
    private var data: String { directory.appendingPathComponent("data").path }

    private init(directory: URL, port: Int, bin: String, asRoot: Bool) {
        self.directory = directory
        self.port = port
        self.bin = bin
        self.asRoot = asRoot
    }

    /// initdb + start. `fsync`, `synchronous_commit` and `full_page_writes` are off: a throwaway server.
    public static func start() throws -> ThrowawayPostgres {
        let fm = FileManager.default
        let bin: String
        if let given = ProcessInfo.processInfo.environment["TRACELEDGER_PG_BINDIR"], !given.isEmpty {
            bin = given
        } else {
            let versions = (try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
            guard let version = versions.compactMap({ Int($0) }).max() else {
                throw Failure(description: "no PostgreSQL server under /usr/lib/postgresql: run scripts/install-deps.sh")
            }
            bin = "/usr/lib/postgresql/\(version)/bin"
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("traceledger-pg-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot {
            try run("/bin/chmod", ["755", directory.path])
            try run("/bin/chown", ["postgres:postgres", directory.path])
        }
        let pg = ThrowawayPostgres(directory: directory, port: try LoopbackSocket.freePort(), bin: bin, asRoot: asRoot)
        do {
            try pg.asPostgres("\(bin)/initdb", ["-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"])
            let conf = """

                listen_addresses = '127.0.0.1'
                port = \(pg.port)
                unix_socket_directories = '\(directory.path)'
                max_connections = 100
                shared_buffers = 128MB
                fsync = off
                synchronous_commit = off
                full_page_writes = off

                """
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(pg.data)/postgresql.conf"))
            handle.seekToEndOfFile()
            handle.write(Data(conf.utf8))
            try handle.close()
            try pg.start()
        } catch {
            pg.destroy()
            throw error
        }
        return pg
    }

    /// Starts the server again after ``stop()`` (waits until it accepts connections, at most 60 s).
    public func start() throws {
        try asPostgres("\(bin)/pg_ctl", ["-D", data, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
    }

    /// A fast shutdown (`pg_ctl -m fast`): connections are closed, the directory stays.
    public func stop() throws {
        try asPostgres("\(bin)/pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// SIGSTOPs the server: the postmaster first (no new backends), then every process it forked.
    /// Connections stay open and connects are accepted by the kernel, but nothing answers.
    public func freeze() throws {
        let postmaster = try postmasterPID()
        try Self.signal([postmaster], SIGSTOP)
        try Self.signal(Self.children(of: postmaster), SIGSTOP)
    }

    /// Undoes ``freeze()`` (harmless when not frozen).
    public func thaw() {
        guard let postmaster = try? postmasterPID() else { return }
        try? Self.signal(Self.children(of: postmaster), SIGCONT)
        try? Self.signal([postmaster], SIGCONT)
    }

    /// Stops the server (thawed first; `pg_ctl -m fast`, then `immediate` if that fails) and removes
    /// its directory. Idempotent.
    public func destroy() {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        thaw()
        if (try? stop()) == nil {
            try? asPostgres("\(bin)/pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { destroy() }

    private func postmasterPID() throws -> Int32 {
        let text = try String(contentsOfFile: "\(data)/postmaster.pid", encoding: .utf8)
        guard let first = text.split(separator: "\n").first, let pid = Int32(first) else {
            throw Failure(description: "cannot read the postmaster's pid in \(data)/postmaster.pid")
        }
        return pid
    }

    private func asPostgres(_ tool: String, _ args: [String]) throws {
        if asRoot {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + args)
        } else {
            try Self.run(tool, args)
        }
    }

    /// Runs a tool to completion with posix_spawn + waitpid, output to a temp file, a minimal
    /// environment; throws with that output unless it exits 0. (Not Foundation's `Process`: `pg_ctl
    /// start` leaves a daemon behind that inherits its descriptors, and `Process` then never sees the
    /// tool exit.)
    private static func run(_ tool: String, _ args: [String]) throws {
        let logPath = NSTemporaryDirectory() + "traceledger-pg-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([tool] + args).map { (a: String) in strdup(a) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"].map { (e: String) in strdup(e) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, tool, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw Failure(description: "cannot start \(tool): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw Failure(description: "\(tool) \(args.joined(separator: " ")) failed (status \(status)): \(text)")
        }
    }

    /// Sends `signal` to each of `pids`; throws naming the first that fails.
    private static func signal(_ pids: [Int32], _ signal: Int32) throws {
        for pid in pids where kill(pid, signal) != 0 {
            throw Failure(description: "kill(\(pid), \(signal)) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Processes whose parent is `parent` (/proc/PID/stat field 4).
    private static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
        }
    }
}
