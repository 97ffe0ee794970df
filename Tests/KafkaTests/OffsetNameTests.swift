import Kafka
import Testing

@Suite("logical offsets in logs")
struct OffsetNameTests {
    @Test("librdkafka's logical offsets print by name (earliest, latest, stored, invalid), real offsets as numbers")
    func names() {
        let tp = TopicPartition(topic: "t", partition: 3)
        #expect(PartitionOffset(tp, offset: KafkaOffset.beginning).description.hasSuffix("@earliest"))
        #expect(PartitionOffset(tp, offset: KafkaOffset.end).description.hasSuffix("@latest"))
        #expect(KafkaOffset.name(-1000) == "stored")
        #expect(KafkaOffset.name(-1001) == "invalid")
        #expect(PartitionOffset(tp, offset: 42).description.hasSuffix("@42"))
        #expect(!PartitionOffset(tp, offset: KafkaOffset.beginning).description.contains("-2"))
    }
}
