import Foundation
import Kafka
import Testing
import TestSupport

/// librdkafka 2.0.2 (fixed in 2.1.0 by #4208): `rd_kafka_consume_batch_queue` sets a partition's
/// application offset for each message it takes from the queue, *before* a version barrier further
/// down the queue (left there by a pause, resume or seek) discards those messages from the batch. The
/// application never sees them, but the application offset has moved past them; the next pause saves
/// that offset as the fetch position and the next resume fetches from there: the discarded records are
/// skipped. Chaos seeds 102 and 103 (issue #11) lost 11–23 records a partition this way while the writer
/// was behind (pause all) and the database was away; the pipeline saw the jump as a retention gap.
/// ``KafkaConsumer/resume(_:)`` now seeks each resumed partition to the offset after the last record it
/// returned (or the assignment's start), so a resume never depends on librdkafka's application offset.
@Suite("pause and resume under batch consumption")
struct PauseSkipTests {
    @Test("pause and resume of 200 partitions between batch polls while records keep arriving, 60 times: every record is delivered once, in order")
    func pauseResumeSkipsNothing() async throws {
        // Many partitions: librdkafka's thread applies a pause or resume partition by partition, so the
        // next batch poll runs while it is still at it (the window of the bug).
        let partitionCount = 200
        let cluster = try MockKafkaCluster(brokers: 1, logger: testLogger("mock"))
        try cluster.createTopic("pskip", partitions: partitionCount)
        let bootstrap = cluster.bootstrapServers
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: bootstrap, properties: ["linger.ms": "1"]),
            logger: testLogger("producer"))
        let total = 300  // per partition
        let producing = Task.detached {
            for i in 0..<total {
                for p in 0..<partitionCount { try producer.produce(topic: "pskip", partition: Int32(p), key: nil, value: Array("r\(i)".utf8)) }
                if i % 5 == 4 { try producer.flush(timeout: .seconds(20)); try await Task.sleep(for: .milliseconds(5)) }
            }
            try producer.flush(timeout: .seconds(20))
        }
        let tps = (0..<partitionCount).map { TopicPartition(topic: "pskip", partition: Int32($0)) }
        let delivered = try await onThread(named: "pskip-consumer") { () throws -> [TopicPartition: [Int64]] in
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "pskip", topics: ["pskip"], properties: fastGroupProperties),
                logger: testLogger("consumer"))
            var offsets: [TopicPartition: [Int64]] = [:]
            func poll(_ timeout: Duration) throws {
                for m in try consumer.poll(maxMessages: 1000, timeout: timeout).records {
                    offsets[m.topicPartition, default: []].append(m.offset)
                }
            }
            var deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while offsets.isEmpty && ContinuousClock.now < deadline { try poll(.milliseconds(100)) }
            // The pipeline's pattern: a pause (writer behind) between polls, polls while paused, a resume.
            for round in 0..<60 {
                try poll(.milliseconds(5))
                try consumer.pause(tps)
                try poll(.milliseconds(round % 3 == 0 ? 1 : 15))
                try poll(.milliseconds(5))
                try consumer.resume(tps)
            }
            deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while offsets.values.map(\.count).reduce(0, +) < partitionCount * total && ContinuousClock.now < deadline {
                try poll(.milliseconds(100))
            }
            try poll(.milliseconds(300))
            try consumer.close()
            return offsets
        }
        try await producing.value
        let wrong = tps.filter { (delivered[$0] ?? []) != Array(0..<Int64(total)) }
        let detail = wrong.prefix(5).map { tp -> String in
            let got = delivered[tp] ?? []
            let missing = Set(0..<Int64(total)).subtracting(got)
            return "\(tp): \(got.count) delivered, \(missing.count) missing (first \(missing.min() ?? -1))"
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(partitionCount) partitions not delivered exactly: \(detail)")
    }
}

