import Foundation
import Kafka
import Logging
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Mock cluster fault control (MockClusterCommand, mock-kafka stdin)")
struct MockControlTests {
    @Test("control lines parse into the commands they name, API keys and error codes by name or number")
    func parsesCommands() throws {
        #expect(try MockClusterCommand.parse("broker down 2") == .brokerDown(2))
        #expect(try MockClusterCommand.parse("  BROKER Up -1 ") == .brokerUp(-1))
        #expect(try MockClusterCommand.parse("leader otlp_spans 11 3") == .leader(topic: "otlp_spans", partition: 11, broker: 3))
        #expect(
            try MockClusterCommand.parse("errors Fetch 3 NOT_LEADER_FOR_PARTITION")
                == .errors(.fetch, count: 3, code: .notLeaderForPartition))
        #expect(try MockClusterCommand.parse("errors offsetcommit 2 7") == .errors(.offsetCommit, count: 2, code: .requestTimedOut))
        #expect(try MockClusterCommand.parse("errors 12 1 _transport") == .errors(.heartbeat, count: 1, code: .transport))
        #expect(
            try MockClusterCommand.parse("errors JoinGroup 1 RD_KAFKA_RESP_ERR_NOT_COORDINATOR")
                == .errors(.joinGroup, count: 1, code: .notCoordinator))
        #expect(try MockClusterCommand.parse("clear Produce") == .clearErrors(.produce))
        #expect(try MockClusterCommand.parse("rtt 1 300") == .rtt(broker: 1, milliseconds: 300))
        #expect(try MockClusterCommand.parse("coordinator group traceledger 2") == .coordinator(kind: "group", key: "traceledger", broker: 2))
        #expect(try MockClusterCommand.parse("ping") == .ping)
    }

    @Test(
        "malformed control lines are refused with a reason naming the bad part",
        arguments: [
            ("", "empty"), ("explode 1", "unknown command"), ("broker sideways 1", "expected down or up"),
            ("broker down", "usage"), ("broker down two", "broker 'two'"), ("leader t -3 1", "partition '-3'"),
            ("errors Fetch 0 REQUEST_TIMED_OUT", "count '0'"), ("errors Fetch 10001 REQUEST_TIMED_OUT", "count '10001'"),
            ("errors Fetchy 1 REQUEST_TIMED_OUT", "api key 'Fetchy'"), ("errors Fetch 1 NO_SUCH_ERROR", "error code 'NO_SUCH_ERROR'"),
            ("errors Fetch 1 123456", "error code '123456'"), ("rtt 1 60001", "ms '60001'"),
            ("coordinator consumer g 1", "expected group or transaction"), ("ping now", "usage"),
        ])
    func refusesMalformedLines(line: String, reason: String) {
        #expect(throws: MockClusterCommand.ParseError.self) { try MockClusterCommand.parse(line) }
        do {
            _ = try MockClusterCommand.parse(line)
        } catch {
            #expect(error.description.contains(reason), "'\(line)' → \(error.description)")
        }
    }

    @Test("pushed Produce errors fail exactly that many produce requests with that code (no retries), then produce works again")
    func pushedProduceErrorsFailThatManyRequests() async throws {
        let cluster = try MockKafkaCluster.withTopic("pushed", partitions: 1, logger: testLogger("mock"))
        let producer = try cluster.producer(
            properties: ["linger.ms": "0", "message.send.max.retries": "0"], keepsFailedRecords: true, logger: testLogger("producer"))
        // A warm-up record, so that the errors below hit Produce requests, not metadata.
        try producer.produce(topic: "pushed", partition: 0, key: nil, value: Array("warm".utf8))
        try producer.flush(timeout: .seconds(20))
        try cluster.apply(try MockClusterCommand.parse("errors Produce 1 NOT_ENOUGH_REPLICAS"))
        try producer.produce(topic: "pushed", partition: 0, key: nil, value: Array("refused".utf8))
        _ = try? producer.flush(timeout: .seconds(20))
        let failed = producer.takeFailedRecords()
        #expect(failed.count == 1)
        #expect(failed.first?.error.code == .notEnoughReplicas)
        try producer.produce(topic: "pushed", partition: 0, key: nil, value: Array("accepted".utf8))
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == 2)
    }

    @Test("a partition led by a downed broker takes nothing until that broker is up; one led by another broker is unaffected")
    func leaderMoveAndBrokerDown() async throws {
        let cluster = try MockKafkaCluster.withTopic("lead", partitions: 2, brokers: 2, logger: testLogger("mock"))
        try cluster.apply(try MockClusterCommand.parse("leader lead 0 2"))
        try cluster.apply(try MockClusterCommand.parse("leader lead 1 1"))
        let producer = try cluster.producer(properties: ["linger.ms": "0"], logger: testLogger("producer"))
        try producer.produce(topic: "lead", partition: 0, key: nil, value: Array("a".utf8))
        try producer.produce(topic: "lead", partition: 1, key: nil, value: Array("b".utf8))
        try producer.flush(timeout: .seconds(20))

        try cluster.apply(try MockClusterCommand.parse("broker down 2"))
        try producer.produce(topic: "lead", partition: 1, key: nil, value: Array("c".utf8))
        try producer.flush(timeout: .seconds(20))  // broker 1 leads partition 1: unaffected
        #expect(producer.deliveredCount == 3)
        try producer.produce(topic: "lead", partition: 0, key: nil, value: Array("d".utf8))
        #expect(throws: KafkaError.self) { try producer.flush(timeout: .milliseconds(1500)) }
        #expect(producer.pendingCount == 1)
        try cluster.apply(try MockClusterCommand.parse("broker up 2"))
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == 4)
    }

    /// (A leader for an unknown topic is not refused: the mock auto-creates the topic.)
    @Test("the mock refuses commands for brokers and partitions it does not have")
    func refusesUnknownTargets() throws {
        let cluster = try MockKafkaCluster.withTopic("known", partitions: 1, brokers: 2, logger: testLogger("mock"))
        #expect(throws: KafkaError.self) { try cluster.apply(.leader(topic: "known", partition: 5, broker: 1)) }
        #expect(throws: KafkaError.self) { try cluster.apply(.brokerDown(9)) }
        #expect(throws: KafkaError.self) { try cluster.apply(.rtt(broker: 9, milliseconds: 10)) }
        try cluster.apply(.rtt(broker: -1, milliseconds: 0))
    }

    @Test("traceledger mock-kafka answers every stdin command with one line, in order: ok, or error with the reason")
    func processAnswersEachCommand() async throws {
        let process = Process()
        process.executableURL = traceledgerBinary
        process.arguments = ["mock-kafka", "--brokers", "3", "--topic", "ctl:2"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        let lines = LineReader(stdout.fileHandleForReading)
        let bootstrap = try #require(lines.next(), "mock-kafka printed no bootstrap address")
        #expect(bootstrap.split(separator: ",").count == 3)

        let script: [(String, String)] = [
            ("ping", "ok ping"),
            ("# a comment, no answer", ""),
            ("broker down 2", "ok broker down 2"),
            ("broker up 2", "ok broker up 2"),
            ("leader ctl 1 3", "ok leader ctl 1 3"),
            ("leader ctl 9 1", "error leader ctl 9 1: "),
            ("errors Fetch 2 NOT_LEADER_FOR_PARTITION", "ok errors Fetch 2 NOT_LEADER_FOR_PARTITION"),
            ("clear Fetch", "ok clear Fetch"),
            ("rtt 1 50", "ok rtt 1 50"),
            ("coordinator group g 3", "ok coordinator group g 3"),
            ("bogus", "error unknown command 'bogus'"),
            ("broker down 7", "error broker down 7: "),
        ]
        for (line, _) in script {
            stdin.fileHandleForWriting.write(Data((line + "\n").utf8))
        }
        for (line, expected) in script where !expected.isEmpty {
            let answer = try #require(lines.next(), "no answer to '\(line)'")
            #expect(answer.hasPrefix(expected), "'\(line)' → '\(answer)', expected '\(expected)…'")
        }
        // End of stdin ends the control, not the cluster; SIGTERM exits 0.
        try stdin.fileHandleForWriting.close()
        try await Task.sleep(for: .milliseconds(200))
        #expect(process.isRunning)
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}

/// Reads lines from a pipe, blocking (a few lines in a test).
final class LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    init(_ handle: FileHandle) { self.handle = handle }

    /// The next line without its newline; nil at end of file.
    func next() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer += chunk
        }
    }
}
