import Foundation
import Kafka
import Logging
import Synchronization
import Testing
import TestSupport

func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: "test.\(label)")
    logger.logLevel = .warning
    return logger
}


func bytes(_ buffer: UnsafeRawBufferPointer?) -> [UInt8]? { buffer.map { Array($0) } }

/// A `traceledger mock-kafka` child process (TestSupport's `traceledgerBinary`). `stop()` sends SIGTERM
/// and waits; `deinit`-free: callers stop it in a `defer` so that it dies even when the test fails.
final class MockKafkaProcess: Sendable {
    let bootstrapServers: String
    private let process: Process

    init(arguments: [String]) throws {
        let process = Process()
        process.executableURL = traceledgerBinary
        process.arguments = ["mock-kafka"] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        self.process = process
        // Read the first line (the bootstrap address); EOF first means the child died.
        var line: [UInt8] = []
        let handle = out.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty {
                process.terminate()
                throw TestFailure("mock-kafka exited before printing its bootstrap address")
            }
            line += chunk
        }
        bootstrapServers = String(decoding: line.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    /// SIGTERM, wait, and return the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Offsets "in Postgres": what each member has processed, read by the start-offset provider.
final class OffsetStore: Sendable {
    private let next = Mutex<[TopicPartition: Int64]>([:])

    func advance(_ offsets: [TopicPartition: Int64]) {
        next.withLock { $0.merge(offsets) { max($0, $1) } }
    }

    func startOffsets(_ tps: [TopicPartition]) -> [TopicPartition: Int64] {
        next.withLock { stored in
            var r: [TopicPartition: Int64] = [:]
            for tp in tps { r[tp] = stored[tp] }
            return r
        }
    }
}
