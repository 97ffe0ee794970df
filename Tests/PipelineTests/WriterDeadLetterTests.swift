import Aggregation
import Foundation
import Kafka
import Logging
@testable import Pipeline
import Testing

/// Records the epochs the writer writes (writer thread only; read after it has finished).
final class CapturingStore: EpochStore, @unchecked Sendable {
    var written: [SealedEpoch] = []
    func write(_ epoch: SealedEpoch, group: String, writer: String) throws(EpochStoreError) { written.append(epoch) }
    func readOffsets(group: String, partitions: [PartitionKey]) throws(EpochStoreError) -> [PartitionKey: Int64] { [:] }
}

/// The writer's side of permanently refused dead letters: copies it produces itself and failures it
/// learns from delivery reports, against librdkafka's mock cluster, with a store that only records.
@Suite("writer: dead letters refused permanently", .serialized)
struct WriterDeadLetterTests {
    struct Rig {
        let cluster: MockKafkaCluster
        let producer: KafkaProducer
        let gauges = PipelineGauges()
        let store = CapturingStore()
        let queue = WriterQueue()
        let writer: EpochWriterLoop

        init() throws {
            var logger = Logger(label: "writer-test")
            logger.logLevel = .critical
            cluster = try MockKafkaCluster(brokers: 1, logger: logger)
            try cluster.createTopic("t.dlq", partitions: 1)
            producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(
                    bootstrapServers: cluster.bootstrapServers,
                    properties: ["message.max.bytes": "1000000", "linger.ms": "0"], keepsFailedRecords: true),
                logger: logger)
            try producer.produce(topic: "t.dlq", key: nil, value: [0])  // Connects.
            try producer.flush(timeout: .seconds(20))
            let sink = DeadLetterSink(producer: producer, suffix: ".dlq", logger: logger, gauges: gauges)
            writer = EpochWriterLoop(
                store: store, queue: queue, notices: NoticeBox(), deadLetters: sink, group: "g", writerID: "w",
                logger: logger, status: PipelineStatus(), backoffMax: .milliseconds(200))
        }

        static func epoch(_ id: UInt64, rejectedAt offsets: [Int64], retries: [OwnedRecord] = []) -> SealedEpoch {
            var delta = EpochDelta()
            for o in offsets {
                delta.rejected.append(
                    RejectedRecord(
                        topic: "t", partition: 0, offset: o, reason: .undecodable, detail: "bad_wire_type at byte 0",
                        sizeBytes: 1, recordTimeUnixMillis: 0))
            }
            let plan = SealedEpochPlan(epochID: id, generation: 0, advances: [], records: offsets.count, maxRecordTimeUnixMillis: 0)
            return SealedEpoch(plan: plan, deltas: [delta], deadLetterRetries: retries)
        }

        static func copy(offset: Int64, size: Int) -> OwnedRecord {
            OwnedRecord(
                topic: "t.dlq", key: nil, value: [UInt8](repeating: 0x42, count: size),
                headers: [("traceledger-error", Array("undecodable".utf8)), ("traceledger-source", Array("t/0/\(offset)".utf8))],
                timestampMilliseconds: nil)
        }

        /// Writes the epochs on a thread of its own; returns once every one is answered.
        func run(_ epochs: [SealedEpoch]) async {
            for e in epochs { queue.push(e) }
            queue.close()
            let writer = self.writer
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                Thread { writer.run(); c.resume() }.start()
            }
        }
    }

    @Test("a kept copy over message.max.bytes, produced by the writer: refused at once, not retried; the refusal is in its row and the epoch is written once")
    func keptCopyTooLarge() async throws {
        let rig = try Rig()
        await rig.run([Rig.epoch(1, rejectedAt: [5, 6], retries: [Rig.copy(offset: 5, size: 2_000_000), Rig.copy(offset: 6, size: 10)])])
        #expect(rig.store.written.count == 1)
        let rows = rig.store.written.first?.deltas.first?.rejected ?? []
        #expect(rows.count == 2)
        #expect(rows.first?.detail.hasPrefix("bad_wire_type at byte 0; dead letter refused permanently by Kafka (MSG_SIZE_TOO_LARGE(10))") == true)
        #expect(rows.first?.detail.contains("value 2000000 bytes, first: \"BBBB") == true)
        #expect(rows.last?.detail == "bad_wire_type at byte 0", "the copy that fits is delivered, its row untouched")
        #expect(rig.gauges.deadLettersRefused.load(ordering: .relaxed) == 1)
        #expect(rig.producer.deliveredCount == 2)
    }

    @Test("a delivery refused permanently while an earlier epoch flushes is written into the later epoch's row, and the earlier epoch is not held up")
    func refusalForALaterEpoch() async throws {
        let rig = try Rig()
        // The shard of epoch 2 has produced its dead letter; the broker refuses it for good.
        rig.cluster.pushRequestErrors(.produce, [.topicAuthorizationFailed])
        try rig.producer.produce(Rig.copy(offset: 9, size: 300))
        await rig.run([Rig.epoch(1, rejectedAt: []), Rig.epoch(2, rejectedAt: [9])])
        #expect(rig.store.written.map(\.plan.epochID) == [1, 2])
        let row = rig.store.written.last?.deltas.first?.rejected.first
        #expect(row?.detail.contains("refused permanently by Kafka (TOPIC_AUTHORIZATION_FAILED(29))") == true, "\(row?.detail ?? "")")
        #expect(row?.detail.contains("value 300 bytes") == true)
        #expect(rig.gauges.deadLettersRefused.load(ordering: .relaxed) == 1)
    }
}
