import Foundation
import Kafka
import Testing
import TestSupport

/// Progress is reported to Kafka by storing offsets (``KafkaConsumer/storeOffsets(_:)``) for
/// librdkafka's commit timer, which skips while the group rebalances, instead of committing directly:
/// a direct commit during a rebalance can cost librdkafka 2.0.2 the member's whole assignment
/// (librdkafka #4059; issue #11's rebalance tails; the pipeline-level regression is
/// `IntegrationTests/RebalanceLossTests`).
@Suite("lag offsets and group defaults")
struct LagOffsetsTests {
    @Test("defaults: a 6 s session with 1 s heartbeats, nothing stored automatically, stored offsets committed by the timer; properties win")
    func defaults() {
        let c = KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "g", topics: ["t"])
        let p = c.resolvedProperties
        #expect(p["session.timeout.ms"] == "6000")
        #expect(p["heartbeat.interval.ms"] == "1000")
        #expect(p["enable.auto.commit"] == "true")
        #expect(p["enable.auto.offset.store"] == "false")
        #expect(p["partition.assignment.strategy"] == "cooperative-sticky")
        let custom = KafkaConsumerConfiguration(
            bootstrapServers: "b:9092", groupID: "g", topics: ["t"], properties: ["session.timeout.ms": "30000"])
        #expect(custom.resolvedProperties["session.timeout.ms"] == "30000")
    }

    @Test("stored offsets reach Kafka by the commit timer, only for the partitions stored; a revoked partition's store is ignored")
    func storedOffsetsAreCommitted() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: testLogger("mock"))
        try cluster.createTopic("lag", partitions: 2)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger("producer"))
        for p in 0..<2 {
            for i in 0..<5 { try producer.produce(topic: "lag", partition: Int32(p), key: nil, value: Array("v\(i)".utf8)) }
        }
        try producer.flush(timeout: .seconds(20))
        let p0 = TopicPartition(topic: "lag", partition: 0)
        let p1 = TopicPartition(topic: "lag", partition: 1)
        let gone = TopicPartition(topic: "lag", partition: 7)
        let committed = try await onThread(named: "lag-consumer") { () throws -> [TopicPartition: Int64] in
            var props = fastGroupProperties
            props["auto.commit.interval.ms"] = "200"
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: cluster.bootstrapServers, groupID: "lag", topics: ["lag"], properties: props),
                logger: testLogger("consumer"))
            var seen = 0
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while seen < 10 && ContinuousClock.now < deadline {
                seen += try consumer.poll(maxMessages: 100, timeout: .milliseconds(100)).messageCount
            }
            guard seen == 10 else { throw TestFailure("read \(seen) of 10 records") }
            // p0 processed up to offset 3 (next: 3); p1 not reported; a partition not assigned: ignored.
            try consumer.storeOffsets([PartitionOffset(p0, offset: 3), PartitionOffset(gone, offset: 1)])
            var result: [TopicPartition: Int64] = [:]
            let until = ContinuousClock.now.advanced(by: .seconds(10))
            while result[p0] != 3 && ContinuousClock.now < until {
                _ = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
                result = try consumer.committed([p0, p1], timeout: .seconds(5))
            }
            try consumer.close()
            return result
        }
        #expect(committed == [p0: 3], "only the stored offset is committed")
    }
}
