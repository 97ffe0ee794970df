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

@Suite("retention gaps", .serialized)
struct RetentionGapTests {
    @Test("records Kafka deleted while the worker was held back are recorded in retention_gaps exactly, and everything after is counted")
    func gapIsRecorded() async throws {
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_gap")
        let topic = "gap_\(schema)"
        let group = "g_\(schema)"
        var logger = Logger(label: "it.gap")
        logger.logLevel = .error
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: 1)
        // One record per batch, uncompressed: the mock deletes whole batches once a partition holds ~5 MiB.
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                properties: ["linger.ms": "0", "batch.num.messages": "1", "compression.codec": "none", "message.max.bytes": "10000000"]),
            logger: logger)
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let start = UInt64(nowMillis - 1000) * 1_000_000
        func produce(_ range: Range<Int>) throws {
            for i in range {
                try producer.produce(
                    topic: topic, partition: 0, key: nil, value: try paddedRecord(index: i, startNanos: start, padding: 100_000),
                    timestampMilliseconds: nowMillis)
                try producer.flush(timeout: .seconds(30))
            }
        }
        let config = testWorkerConfiguration(brokers: cluster.bootstrapServers, topic: topic, group: group, schema: schema)

        // 1. The worker reads the first 10 records, then stops.
        try produce(0..<10)
        let first = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger)
        #expect(try await InProcessWorker.waitCommitted(records: 10, group: group, schema: schema, conninfo: conninfo))
        try await first.stop()

        // 2. While it is away, 12 MB more: the mock deletes the oldest batches (it keeps ~5 MiB).
        try produce(10..<130)
        let watcher = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "w-\(schema)", topics: [topic]),
            logger: logger)
        let marks = try watcher.queryWatermarks(TopicPartition(topic: topic, partition: 0), timeout: .seconds(5))
        _ = try? watcher.close()
        #expect(marks.high == 130)
        #expect(marks.low > 10, "the mock deleted records the worker had not read (log start \(marks.low))")

        // 3. Back again: the gap is recorded, everything after it counted.
        let second = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger)
        #expect(try await InProcessWorker.waitCommitted(records: marks.high, group: group, schema: schema, conninfo: conninfo))
        try await second.stop()

        let c = try PGConnection.connect(conninfo: conninfo)
        let gaps = try c.execute(
            "SELECT partition, from_offset, to_offset FROM \"\(schema)\".retention_gaps WHERE topic = $1", [.text(topic)])
        #expect(gaps.rows.count == 1)
        #expect(gaps.int64(0, 0) == 0 && gaps.int64(0, 1) == 10 && gaps.int64(0, 2) == marks.low)
        let spans = try c.execute("SELECT coalesce(sum(span_count), 0) FROM \"\(schema)\".transactions").int64(0, 0)
        #expect(spans == 10 + (marks.high - marks.low), "records before the gap and after it, none twice")
        let next = try c.execute(
            "SELECT next_offset FROM \"\(schema)\".ingest_offsets WHERE topic = $1 AND partition = 0", [.text(topic)]).int64(0, 0)
        #expect(next == marks.high)
    }
}

@Suite("kafka.start latest", .serialized)
struct StartLatestTests {
    @Test("kafka.start latest skips the backlog of a partition with no stored offset and records it in retention_gaps")
    func latestRecordsSkippedBacklog() async throws {
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_latest")
        let topic = "latest_\(schema)"
        let group = "g_\(schema)"
        var logger = Logger(label: "it.latest")
        logger.logLevel = ProcessInfo.processInfo.environment["IT_DEBUG"] != nil ? .debug : .error
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let start = UInt64(nowMillis - 1000) * 1_000_000
        func produce(_ range: Range<Int>) throws {
            for i in range {
                try producer.produce(
                    topic: topic, partition: 0, key: nil, value: try paddedRecord(index: i, startNanos: start, padding: 10),
                    timestampMilliseconds: nowMillis)
            }
            try producer.flush(timeout: .seconds(30))
        }
        try produce(0..<5)
        var config = testWorkerConfiguration(brokers: cluster.bootstrapServers, topic: topic, group: group, schema: schema)
        config.kafkaStart = .latest
        let worker = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger)
        // The skipped backlog is committed as a gap once the partition is assigned.
        #expect(try await InProcessWorker.waitCommitted(records: 5, group: group, schema: schema, conninfo: conninfo))
        try produce(5..<8)
        #expect(try await InProcessWorker.waitCommitted(records: 8, group: group, schema: schema, conninfo: conninfo))
        try await worker.stop()

        let c = try PGConnection.connect(conninfo: conninfo)
        let gaps = try c.execute("SELECT from_offset, to_offset FROM \"\(schema)\".retention_gaps WHERE topic = $1", [.text(topic)])
        #expect(gaps.rows.count == 1 && gaps.int64(0, 0) == 0 && gaps.int64(0, 1) == 5)
        let spans = try c.execute("SELECT coalesce(sum(span_count), 0) FROM \"\(schema)\".transactions").int64(0, 0)
        #expect(spans == 3, "only the records produced after the worker started are counted")
        withExtendedLifetime(cluster) {}
    }
}
