import DevHarness
import Foundation
import Kafka
import Ledger
import Logging
import OTLPProto
import Pipeline
import SwiftProtobuf
import Testing
import TestSupport

/// A valid one-span record padded with an incompressible attribute to about `padding` bytes.
func paddedRecord(index: Int, startNanos: UInt64, padding: Int) throws -> [UInt8] {
    var request = OTLPExportTraceServiceRequest()
    var rs = OTLPResourceSpans()
    var ss = OTLPScopeSpans()
    var span = OTLPSpan()
    var trace = [UInt8](repeating: 0, count: 16)
    trace[0] = 1
    trace[8] = UInt8(truncatingIfNeeded: index >> 8)
    trace[15] = UInt8(truncatingIfNeeded: index)
    span.traceID = Data(trace)
    span.spanID = Data([0, 0, 0, 0, 0, 0, 0, 1])
    span.name = "GET /padded"
    span.kind = .server
    span.startTimeUnixNano = startNanos
    span.endTimeUnixNano = startNanos + 1_000
    var kv = OTLPKeyValue()
    kv.key = "payload"
    var rng = SystemRandomNumberGenerator()
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    kv.value.stringValue = String(decoding: (0..<padding).map { _ in alphabet[Int(rng.next() % 36)] }, as: UTF8.self)
    span.attributes = [kv]
    ss.spans = [span]
    rs.scopeSpans = [ss]
    request.resourceSpans = [rs]
    return Array(try request.serializedData())
}

extension KafkaLedgerScenario {
    /// Produces `paddedRecord`s `range` (spans a second before `nowMillis`, stamped `nowMillis`) to
    /// `partition` of the scenario's topic; flushes after each record or once at the end.
    func producePadded(
        _ range: Range<Int>, partition: Int32 = 0, with producer: KafkaProducer, at nowMillis: Int64, padding: Int = 10,
        flushEveryRecord: Bool = false
    ) throws {
        let start = UInt64(nowMillis - 1000) * 1_000_000
        for i in range {
            try producer.produce(
                topic: topic, partition: partition, key: nil, value: try paddedRecord(index: i, startNanos: start, padding: padding),
                timestampMilliseconds: nowMillis)
            if flushEveryRecord { try producer.flush(timeout: .seconds(30)) }
        }
        try producer.flush(timeout: .seconds(30))
    }
}

@Suite("retention gaps", .serialized)
struct RetentionGapTests {
    @Test("records Kafka deleted while the worker was held back are recorded in retention_gaps exactly, and everything after is counted")
    func gapIsRecorded() async throws {
        let scenario = try KafkaLedgerScenario("it_gap", topicPrefix: "gap", partitions: 1, deadLetterTopic: false)
        let (schema, topic) = (scenario.schema, scenario.topic)
        // One record per batch, uncompressed: the mock deletes whole batches once a partition holds ~5 MiB.
        let producer = try scenario.producer(
            properties: ["linger.ms": "0", "batch.num.messages": "1", "compression.codec": "none", "message.max.bytes": "10000000"])
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        func produce(_ range: Range<Int>) throws {
            try scenario.producePadded(range, with: producer, at: nowMillis, padding: 100_000, flushEveryRecord: true)
        }

        // 1. The worker reads the first 10 records, then stops.
        try produce(0..<10)
        let first = scenario.startWorker()
        #expect(try await scenario.waitCommitted(10))
        try await first.stop()

        // 2. While it is away, 12 MB more: the mock deletes the oldest batches (it keeps ~5 MiB).
        try produce(10..<130)
        let watcher = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: scenario.cluster.bootstrapServers, groupID: "w-\(schema)", topics: [topic]),
            logger: scenario.logger)
        let marks = try watcher.queryWatermarks(TopicPartition(topic: topic, partition: 0), timeout: .seconds(5))
        _ = try? watcher.close()
        #expect(marks.high == 130)
        #expect(marks.low > 10, "the mock deleted records the worker had not read (log start \(marks.low))")

        // 3. Back again: the gap is recorded, everything after it counted.
        let second = scenario.startWorker()
        #expect(try await scenario.waitCommitted(marks.high))
        try await second.stop()

        let c = try scenario.connect()
        let gaps = try c.execute(
            "SELECT partition, from_offset, to_offset FROM \"\(schema)\".retention_gaps WHERE topic = $1", [.text(topic)])
        #expect(gaps.rows.count == 1)
        #expect(gaps.int64(0, 0) == 0 && gaps.int64(0, 1) == 10 && gaps.int64(0, 2) == marks.low)
        #expect(try scenario.spansCounted() == 10 + (marks.high - marks.low), "records before the gap and after it, none twice")
        let next = try c.execute(
            "SELECT next_offset FROM \"\(schema)\".ingest_offsets WHERE topic = $1 AND partition = 0", [.text(topic)]).int64(0, 0)
        #expect(next == marks.high)
    }
}

@Suite("kafka.start latest", .serialized)
struct StartLatestTests {
    @Test("kafka.start latest skips the backlog of a partition with no stored offset and records it in retention_gaps")
    func latestRecordsSkippedBacklog() async throws {
        let scenario = try KafkaLedgerScenario("it_latest", topicPrefix: "latest", partitions: 1, deadLetterTopic: false)
        let (schema, topic) = (scenario.schema, scenario.topic)
        let producer = try scenario.producer(properties: [:])
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        func produce(_ range: Range<Int>) throws { try scenario.producePadded(range, with: producer, at: nowMillis) }
        try produce(0..<5)
        var config = scenario.workerConfiguration()
        config.kafkaStart = .latest
        let worker = scenario.startWorker(config)
        // The skipped backlog is committed as a gap once the partition is assigned.
        #expect(try await scenario.waitCommitted(5))
        try produce(5..<8)
        #expect(try await scenario.waitCommitted(8))
        try await worker.stop()

        let c = try scenario.connect()
        let gaps = try c.execute("SELECT from_offset, to_offset FROM \"\(schema)\".retention_gaps WHERE topic = $1", [.text(topic)])
        #expect(gaps.rows.count == 1 && gaps.int64(0, 0) == 0 && gaps.int64(0, 1) == 5)
        #expect(try scenario.spansCounted() == 3, "only the records produced after the worker started are counted")
    }
}
