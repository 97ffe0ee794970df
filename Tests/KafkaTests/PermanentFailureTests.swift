import Foundation
import Kafka
import Testing
import TestSupport

/// Reads every record of one partition-0 topic (from the beginning) for `window`, on its own thread.
func consumeValues(bootstrap: String, topic: String, window: Duration) async throws -> [[UInt8]] {
    try await onThread(named: "consume-\(topic)") {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: bootstrap, groupID: "read-\(topic)", topics: [topic],
                properties: fastGroupProperties),
            logger: testLogger("consumer"))
        var values: [[UInt8]] = []
        let end = ContinuousClock.now.advanced(by: window)
        while ContinuousClock.now < end {
            values += try consumer.poll(maxMessages: 100, timeout: .milliseconds(100)).records.map { Array($0.value) }
        }
        try consumer.close()
        return values
    }
}

@Suite("Producer failures: permanent or transient")
struct PermanentFailureTests {
    @Test("a record over the producer's message.max.bytes is refused at produce, permanently")
    func tooLargeForProducerIsPermanent() async throws {
        let cluster = try MockKafkaCluster.withTopic("big", partitions: 1, logger: testLogger("mock"))
        let producer = try cluster.producer(
            properties: ["message.max.bytes": "100000"], keepsFailedRecords: true, logger: testLogger("producer"))
        let error = #expect(throws: KafkaError.self) {
            try producer.produce(topic: "big", key: nil, value: [UInt8](repeating: 7, count: 200_000))
        }
        #expect(error?.code == .messageSizeTooLarge)
        #expect(error?.isPermanent == true)
        #expect(error?.topic == "big")
        // A record within the limit goes through.
        try producer.produce(topic: "big", key: nil, value: [UInt8](repeating: 7, count: 50_000))
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == 1)
    }

    @Test(
        "a delivery refused with a permanent error is classified permanent and keeps no copy of the value, only its headers and first bytes",
        arguments: [KafkaError.Code.topicAuthorizationFailed, .messageSizeTooLarge, .invalidRecord])
    func permanentDeliveryFailure(_ code: KafkaError.Code) async throws {
        let cluster = try MockKafkaCluster.withTopic("refuse", partitions: 1, logger: testLogger("mock"))
        let producer = try cluster.producer(
            properties: ["linger.ms": "0"], keepsFailedRecords: true, logger: testLogger("producer"))
        try produceRecords(producer, topic: "refuse", partition: 0, tag: "ok", range: 0..<1)  // Connects.
        cluster.pushRequestErrors(.produce, [code])
        let value = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        try producer.produce(
            topic: "refuse", partition: 0, key: [1], value: value, headers: [("traceledger-source", Array("t/0/9".utf8))])
        let error = #expect(throws: KafkaError.self) { try producer.flush(timeout: .seconds(20)) }
        #expect(error?.code == code)
        #expect(error?.isPermanent == true)
        let failed = producer.takeFailedRecords()
        #expect(failed.count == 1)
        let f = try #require(failed.first)
        #expect(f.record == nil, "a permanently refused value is not copied")
        #expect(f.error.isPermanent && f.error.code == code)
        #expect(f.topic == "refuse" && f.key == [1])
        #expect(f.header("traceledger-source") == Array("t/0/9".utf8))
        #expect(f.valuePrefix == Array(value.prefix(FailedRecord.prefixLength)))
        #expect(f.valueLength == 1000)
    }

    @Test("a transient delivery failure keeps the whole record; produced again it is delivered exactly once")
    func transientFailureIsRetriedOnce() async throws {
        let cluster = try MockKafkaCluster.withTopic("flaky", partitions: 1, logger: testLogger("mock"))
        let producer = try cluster.producer(
            properties: ["linger.ms": "0"], keepsFailedRecords: true, logger: testLogger("producer"))
        try produceRecords(producer, topic: "flaky", partition: 0, tag: "ok", range: 0..<1)  // Connects.
        // UNKNOWN_SERVER_ERROR: librdkafka fails the delivery; it is not a permanent refusal.
        cluster.pushRequestErrors(.produce, [.unknown])
        try producer.produce(topic: "flaky", partition: 0, key: nil, value: Array("again".utf8))
        let error = #expect(throws: KafkaError.self) { try producer.flush(timeout: .seconds(20)) }
        #expect(error?.isPermanent == false)
        let failed = producer.takeFailedRecords()
        let f = try #require(failed.first)
        #expect(failed.count == 1 && !f.error.isPermanent)
        let record = try #require(f.record)
        #expect(record.value == Array("again".utf8))
        try producer.produce(record)
        try producer.flush(timeout: .seconds(20))
        #expect(producer.takeFailedRecords().isEmpty)
        let values = try await consumeValues(bootstrap: cluster.bootstrapServers, topic: "flaky", window: .seconds(5))
        #expect(values.filter { $0 == Array("again".utf8) }.count == 1)
        #expect(values.count == 2)
    }

    @Test("an unknown partition or topic becomes permanent only past the bound (time and failures); a delivery to the topic resets it")
    func unknownTopicIsPermanentPastTheBound() async throws {
        let cluster = try MockKafkaCluster.withTopic("few", partitions: 1, logger: testLogger("mock"))
        var configuration = KafkaProducerConfiguration(
            bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "0"], keepsFailedRecords: true)
        configuration.unknownTopicGrace = .milliseconds(300)
        configuration.unknownTopicMinFailures = 3
        let producer = try KafkaProducer(configuration: configuration, logger: testLogger("producer"))
        try produceRecords(producer, topic: "few", partition: 0, tag: "ok", range: 0..<1)  // Metadata known.
        func missing() -> KafkaError? {
            do {
                try producer.produce(topic: "few", partition: 5, key: nil, value: [1])
                return nil
            } catch { return error }
        }
        let first = missing()
        #expect(first?.code.isUnknownTopic == true)
        #expect(first?.isPermanent == false)
        #expect(missing()?.isPermanent == false)
        #expect(missing()?.isPermanent == false, "3 failures, but not yet for the grace period")
        try await Task.sleep(for: .milliseconds(400))
        #expect(missing()?.isPermanent == true)
        // Delivered to: the topic exists after all, the count starts over.
        try produceRecords(producer, topic: "few", partition: 0, tag: "ok", range: 1..<2)
        #expect(missing()?.isPermanent == false)
    }

    @Test("a full queue makes produce wait (backpressure) and drops nothing; past queueFullTimeout it throws QUEUE_FULL, which is transient")
    func fullQueueWaits() async throws {
        let cluster = try MockKafkaCluster.withTopic("bp", partitions: 1, logger: testLogger("mock"))
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                properties: ["queue.buffering.max.messages": "2", "linger.ms": "300"], queueFullTimeout: .seconds(20)),
            logger: testLogger("producer"))
        let start = ContinuousClock.now
        for i in 0..<6 { try producer.produce(topic: "bp", partition: 0, key: nil, value: [UInt8(i)]) }
        #expect(ContinuousClock.now - start >= .milliseconds(250), "produce waited for room in the queue")
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == 6 && producer.failedCount == 0)

        try cluster.setBrokerDown(-1)
        let stuck = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers, properties: ["queue.buffering.max.messages": "1"],
                queueFullTimeout: .milliseconds(300)),
            logger: testLogger("producer"))
        try stuck.produce(topic: "bp", partition: 0, key: nil, value: [1])
        let error = #expect(throws: KafkaError.self) { try stuck.produce(topic: "bp", partition: 0, key: nil, value: [2]) }
        #expect(error?.code == .queueFull && error?.isPermanent == false)
        try cluster.setBrokerUp(-1)
        try stuck.flush(timeout: .seconds(30))
        #expect(stuck.deliveredCount == 1)
    }

    @Test("the bounded-queue defaults: at least 32 MiB and two of the largest record, 10000 records; given values win")
    func boundedQueueDefaults() {
        let small = KafkaProducerConfiguration.boundedQueue([:])
        #expect(small["queue.buffering.max.kbytes"] == "32768" && small["queue.buffering.max.messages"] == "10000")
        let big = KafkaProducerConfiguration.boundedQueue(["message.max.bytes": "\(17 << 20)"])
        #expect(big["queue.buffering.max.kbytes"] == "\(2 * (17 << 10) + 1)")
        let given = KafkaProducerConfiguration.boundedQueue(["queue.buffering.max.kbytes": "1000", "queue.buffering.max.messages": "5"])
        #expect(given["queue.buffering.max.kbytes"] == "1000" && given["queue.buffering.max.messages"] == "5")
    }
}
