import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A test's own failure (a wait that timed out, a helper that could not set something up).
/// Guarantees: its description is the whole message, a sentence saying what did not happen.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The repository root (this file is Tests/TestSupport/Processes.swift).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The shipped price catalog, config/pricing.yaml.
public let shippedPricingFile = repositoryRoot.appendingPathComponent("config/pricing.yaml")

/// The `traceledger` executable: `TRACELEDGER_BIN` (scripts/test.sh sets it), else the debug build in
/// this checkout (.build/debug/traceledger).
public var traceledgerBinary: URL {
    if let path = ProcessInfo.processInfo.environment["TRACELEDGER_BIN"], !path.isEmpty {
        return URL(fileURLWithPath: path)
    }
    return repositoryRoot.appendingPathComponent(".build/debug/traceledger")
}

/// What a finished `traceledger` command said and how it ended.
/// Guarantees: `stdout` and `stderr` are the whole output (read to the end before the exit was taken).
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `traceledger ARGUMENTS` to its end with exactly `environment` and returns its status and
/// output. It blocks: call it off the cooperative pool (``onThread(named:_:)``).
public func runTraceledger(_ arguments: [String], environment: [String: String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = traceledgerBinary
    process.arguments = arguments
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}

/// This process's environment without any `TRACELEDGER_*` variable, plus `extra`: a child's settings
/// come from the test alone.
public func environmentWithoutTraceledgerSettings(adding extra: [String: String] = [:]) -> [String: String] {
    ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TRACELEDGER_") }.merging(extra) { _, new in new }
}

/// A TCP socket bound to 127.0.0.1 at a port the kernel chose, listening (`backlog`) unless nil.
/// The caller owns `descriptor` and closes it.
public func loopbackSocket(listening backlog: Int32? = 16) throws -> (descriptor: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else {
        close(fd)
        throw TestFailure("bind() failed")
    }
    if let backlog, listen(fd, backlog) != 0 {
        close(fd)
        throw TestFailure("listen() failed")
    }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else {
        close(fd)
        throw TestFailure("getsockname() failed")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
public func freePort() throws -> Int {
    let (fd, port) = try loopbackSocket(listening: nil)
    close(fd)
    return port
}

/// Runs a tool to its end with posix_spawn + waitpid, output to a temp file, a minimal environment;
/// throws with that output unless it exits 0. (Not `Process`: `pg_ctl start` leaves a daemon holding
/// inherited descriptors, and `Process` would wait for them.)
public func spawnAndWait(_ tool: String, _ args: [String]) throws {
    let logPath = NSTemporaryDirectory() + "traceledger-owned-pg-\(UUID().uuidString).log"
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
        throw TestFailure("cannot start \(tool): \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw TestFailure("\(tool) \(args.joined(separator: " ")) failed (status \(status)): \(text)")
    }
}

/// Sends `signal` to each of `pids`; throws naming the first that fails.
public func signalProcesses(_ pids: [Int32], _ signal: Int32) throws {
    for pid in pids where kill(pid, signal) != 0 {
        throw TestFailure("kill(\(pid), \(signal)) failed: \(String(cString: strerror(errno)))")
    }
}

/// Processes whose parent is `parent` (/proc/PID/stat field 4).
public func childProcesses(of parent: Int32) -> [Int32] {
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

/// Polls `condition` every `interval` until it holds; after `timeout` returns what it says then. A
/// bound for a hung test, not a performance assertion.
public func eventually(
    timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Polls `condition` every 50 ms until it holds; throws a `TestFailure` naming `what` when `timeout`
/// passes first.
public func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) async throws {
    if try await eventually(timeout: timeout, condition) { return }
    throw TestFailure("timed out after \(timeout): \(what)")
}

extension ContinuousClock.Instant {
    /// Seconds since this instant, one decimal.
    public var secondsSinceNow: String {
        let d = ContinuousClock.now - self
        return String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}
