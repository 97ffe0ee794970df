import Foundation
import Kafka
import Testing
import TestSupport

@Suite("Start offsets outside the log")
struct OutOfRangeTests {
    struct Outcome: Sendable {
        var errors: [KafkaError] = []
        var offsets: [Int64] = []
    }

    func consume(reset: String, start: Int64, group: String) async throws -> Outcome {
        let cluster = try MockKafkaCluster.withTopic("range", partitions: 1, logger: testLogger("mock"))
        let bootstrap = cluster.bootstrapServers
        let producer = try cluster.producer(logger: testLogger("producer"))
        try produceRecords(producer, topic: "range", partition: 0, tag: "r", range: 0..<10)
        let tp = TopicPartition(topic: "range", partition: 0)
        let properties = fastGroupProperties.merging(["auto.offset.reset": reset]) { _, new in new }
        return try await onThread(named: "range-consumer") { () throws -> Outcome in
            var out = Outcome()
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: group, topics: ["range"], properties: properties),
                logger: testLogger("consumer"), startOffsets: { _ in [tp: start] })
            let deadline = ContinuousClock.now.advanced(by: .seconds(12))
            while ContinuousClock.now < deadline && out.offsets.count < 10 && out.errors.isEmpty {
                let r = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
                for case .error(let e) in r.events { out.errors.append(e) }
                out.offsets += r.records.map(\.offset)
            }
            try consumer.close()
            return out
        }
    }

    @Test("with auto.offset.reset=error a start offset past the end surfaces a typed per-partition error")
    func outOfRangeIsATypedError() async throws {
        let out = try await consume(reset: "error", start: 100, group: "range-error")
        #expect(out.offsets.isEmpty)
        #expect(out.errors.first?.code == .autoOffsetReset)
        #expect(out.errors.first?.offset == 100)
        #expect(out.errors.first?.topic == "range")
        #expect(out.errors.first?.partition == 0)
    }

    @Test("with auto.offset.reset=earliest a start offset past the end restarts at the log start")
    func outOfRangeResetsToEarliest() async throws {
        let out = try await consume(reset: "earliest", start: 100, group: "range-earliest")
        #expect(out.offsets == Array(0..<10))
        #expect(out.errors.isEmpty)
    }
}
