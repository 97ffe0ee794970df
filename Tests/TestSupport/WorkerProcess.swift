import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `traceledger run` child process (``traceledgerBinary``) with the given environment, its stderr in
/// a log file, stdin and stdout on /dev/null, run from the repository root.
/// Guarantees: `signal` never reaches a process that has exited; `waitExit` throws naming the worker
/// when it does not exit in time; the log stays readable after the process is gone.
public final class WorkerProcess: @unchecked Sendable {
    // Safe: `process` is thread-safe for the calls used (isRunning, terminationStatus, pid).
    public let name: String
    public let logURL: URL
    private let process: Process

    public init(name: String, environment: [String: String], log: URL) throws {
        self.name = name
        self.logURL = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process = Process()
        process.executableURL = traceledgerBinary
        process.arguments = ["run"]
        process.environment = environment
        process.currentDirectoryURL = repositoryRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = handle
        try process.run()
        try handle.close()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }
    /// Exited by itself (not by a signal) with status 0.
    public var exitedCleanly: Bool { !process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0 }

    public func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// A line from /proc/PID/status in KiB (`VmRSS`, `VmHWM`), nil once the process is gone.
    public func memoryKiB(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }

    public func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// The last `name=N` in a log (swift-log metadata), e.g. `fenced_epochs` of the "worker stopped" line.
    public static func counter(_ name: String, in log: String) -> Int? {
        var found: Int?
        var rest = Substring(log)
        while let range = rest.range(of: name + "=") {
            rest = rest[range.upperBound...]
            found = Int(rest.prefix(while: { $0.isNumber })) ?? found
        }
        return found
    }

    public func logTail(lines: Int = 30) -> String {
        log().split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Waits for the process to exit (after a signal); fails after `timeout`.
    public func waitExit(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                throw TestFailure("worker \(name) (pid \(pid)) did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
