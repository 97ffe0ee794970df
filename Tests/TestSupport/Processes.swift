import DevHarness
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
/// The caller owns `descriptor` and closes it. (DevHarness' ``LoopbackSocket``.)
public func loopbackSocket(listening backlog: Int32? = 16) throws -> (descriptor: Int32, port: Int) {
    try LoopbackSocket.open(listening: backlog)
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
public func freePort() throws -> Int {
    try LoopbackSocket.freePort()
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
