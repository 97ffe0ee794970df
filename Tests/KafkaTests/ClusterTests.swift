import Foundation
import Kafka
import Logging
import Synchronization
import Testing
import TestSupport

@Suite("Mock cluster control and log routing")
struct ClusterTests {
    @Test("librdkafka log lines reach the Logger passed in, with their facility")
    func logLinesReachTheLogger() async throws {
        let logs = CapturedLogs()
        let logger = logs.logger("capture")
        // Nothing listens on port 1: librdkafka logs the refused connection.
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1"), logger: logger)
        let seen = await eventually(timeout: .seconds(10)) {
            producer.poll()
            return logs.lines.contains { $0.message.contains("Connect to") && $0.metadata["rdkafka.facility"] != nil }
        }
        #expect(seen)
        // Broker-unreachable lines repeat every few seconds while a broker is down: kept, at debug only
        // (the pipeline says it once, clearly, naming kafka.brokers).
        #expect(logs.lines.contains { $0.message.contains("Connect to") && $0.level == .debug })
        #expect(!logs.lines.contains { $0.message.contains("Connect to") && $0.level > .debug })
        // The consumer reports "all brokers are down" to its owner.
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:1", groupID: "down", topics: ["t"]),
            logger: logger)
        var report: String?
        // One synchronous loop (no suspension point): every poll on the same thread.
        let deadline = ContinuousClock.now + .seconds(15)
        while report == nil, ContinuousClock.now < deadline {
            _ = try? consumer.poll(maxMessages: 1, timeout: .milliseconds(100))
            report = consumer.takeAllBrokersDownReport()
        }
        #expect(report != nil, "no all-brokers-down report")
        #expect(consumer.takeAllBrokersDownReport() == nil, "a report is taken once")
    }

    @Test("with every broker down a flush times out with the pending count; once they are up it succeeds")
    func brokersDownThenUp() async throws {
        let cluster = try MockKafkaCluster.withTopic("down", partitions: 2, brokers: 2, logger: testLogger("mock"))
        let producer = try cluster.producer(logger: testLogger("producer"))
        try producer.produce(topic: "down", partition: 0, key: nil, value: Array("first".utf8))
        try producer.flush(timeout: .seconds(20))

        try cluster.setBrokerDown(-1)
        try producer.produce(topic: "down", partition: 1, key: Array("k".utf8), value: Array("second".utf8))
        let error = #expect(throws: KafkaError.self) { try producer.flush(timeout: .milliseconds(1500)) }
        #expect(error?.code == .timedOut)
        #expect(error?.isRetriable == true)
        #expect(producer.pendingCount == 1)

        try cluster.setBrokerUp(-1)
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == 2)
        #expect(producer.failedCount == 0)
    }

    @Test("mock-kafka rejects a malformed --topic")
    func mockKafkaRejectsBadTopic() throws {
        let process = Process()
        process.executableURL = traceledgerBinary
        process.arguments = ["mock-kafka", "--topic", "nopartitions"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
    }
}
