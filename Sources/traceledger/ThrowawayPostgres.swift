import Foundation

/// A PostgreSQL server for `traceledger dev`: `initdb` in a temp dir, started on 127.0.0.1 at a free
/// port (as the `postgres` user when run as root, since initdb refuses root), stopped and removed by
/// `stop()` — the same recipe as `scripts/with-postgres.sh`.
final class ThrowawayPostgres: @unchecked Sendable {
    // Safe: fields are set in `start` and read-only afterwards; `stop` is idempotent under `lock`.
    let directory: URL
    let port: Int
    let binDirectory: String
    private let lock = NSLock()
    private var stopped = false

    var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func start() throws -> ThrowawayPostgres {
        let fm = FileManager.default
        let versions = (try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap({ Int($0) }).max() else {
            throw Failure(description: "no PostgreSQL server under /usr/lib/postgresql: run scripts/install-deps.sh")
        }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("traceledger-dev-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot {
            try run("/bin/chown", ["postgres:postgres", dir.path])
        }
        let port = try freePort()
        let pg = ThrowawayPostgres(directory: dir, port: port, binDirectory: bin, asRoot: asRoot)
        let data = dir.appendingPathComponent("data").path
        try pg.runAsPostgres("\(bin)/initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"])
        let conf = """

            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(dir.path)'
            max_connections = 100
            shared_buffers = 128MB
            fsync = off
            synchronous_commit = off
            full_page_writes = off

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(data)/postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(conf.utf8))
        try handle.close()
        try pg.runAsPostgres("\(bin)/pg_ctl", ["-D", data, "-l", dir.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
        return pg
    }

    private let asRoot: Bool

    private init(directory: URL, port: Int, binDirectory: String, asRoot: Bool) {
        self.directory = directory
        self.port = port
        self.binDirectory = binDirectory
        self.asRoot = asRoot
    }

    func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        try? runAsPostgres("\(binDirectory)/pg_ctl", ["-D", directory.appendingPathComponent("data").path, "-m", "fast", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    private func runAsPostgres(_ tool: String, _ args: [String]) throws {
        if asRoot {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + args)
        } else {
            try Self.run(tool, args)
        }
    }

    /// Runs a tool to completion with posix_spawn + waitpid, output to a temp file. (Not Foundation's
    /// `Process`: `pg_ctl start` leaves a daemon behind that inherits its descriptors, and `Process` then
    /// never sees the tool exit.)
    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let logPath = NSTemporaryDirectory() + "traceledger-dev-\(UUID().uuidString).log"
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
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw Failure(description: "\(tool) \(args.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        guard bound == 0 else { throw Failure(description: "bind() failed") }
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw Failure(description: "getsockname() failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
