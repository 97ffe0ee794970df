import Foundation
import Kafka
import Testing

@Suite("Producer throughput (opt-in: KAFKA_PERF=1)")
struct ThroughputTests {
    @Test(
        "the producer sustains a high record rate with one header per record, lz4, through the mock cluster",
        .enabled(if: ProcessInfo.processInfo.environment["KAFKA_PERF"] == "1"))
    func producerThroughput() throws {
        let cluster = try MockKafkaCluster.withTopic("perf", partitions: 8, logger: testLogger("mock"))
        let producer = try cluster.producer(
            properties: ["compression.codec": "lz4", "linger.ms": "20", "batch.num.messages": "10000"], logger: testLogger("producer"))
        let records = 1_000_000
        var value = [UInt8](repeating: 0x5A, count: 200)
        let traceparent = Array("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".utf8)
        let start = ContinuousClock.now
        try traceparent.withUnsafeBytes { tp in
            for i in 0..<records {
                value[0] = UInt8(truncatingIfNeeded: i)
                try value.withUnsafeBytes { v in
                    try producer.produce(
                        topic: "perf", key: nil, value: v,
                        headers: CollectionOfOne(KafkaHeader(name: "traceparent", value: tp)))
                }
            }
        }
        let enqueued = ContinuousClock.now - start
        try producer.flush(timeout: .seconds(120))
        let total = ContinuousClock.now - start
        let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        print("producer: \(records) records enqueued in \(enqueued), delivered in \(total): \(Int(Double(records) / seconds)) records/s")
        #expect(producer.deliveredCount == records)
    }
}
