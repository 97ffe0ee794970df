import DevHarness
import Foundation
import Kafka
import Ledger
import Logging
import Pipeline
import Testing
import TestSupport

@Suite("start offsets (latest across an outage, stored past the end) and byte-bounded buffering", .serialized)
struct StartAndBufferTests {
    @Test("kafka.start latest: records produced while the database is down at start-up are read, not skipped")
    func latestStartSurvivesDatabaseOutage() async throws {
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_latest_outage")
        let topic = "latest_outage_\(schema)"
        let group = "g_\(schema)"
        var logger = Logger(label: "it.latest.outage")
        logger.logLevel = ProcessInfo.processInfo.environment["IT_DEBUG"] != nil ? .debug : .critical
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        // The worker logs in as its own role; "database down" = that role may not log in.
        let admin = try PGConnection.connect(conninfo: conninfo)
        let role = "r_\(schema)"
        _ = try admin.execute("CREATE ROLE \(role) LOGIN SUPERUSER")
        defer { _ = try? admin.execute("DROP ROLE IF EXISTS \(role)") }
        guard conninfo.contains("://postgres@") else {
            Issue.record("expected DATABASE_URL as scripts/with-postgres.sh sets it (postgresql://postgres@host:port/db)")
            return
        }
        let workerConninfo = conninfo.replacingOccurrences(of: "://postgres@", with: "://\(role)@")
        _ = try admin.execute("ALTER ROLE \(role) NOLOGIN")

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
        let worker = InProcessWorker(configuration: config, conninfo: workerConninfo, logger: logger)
        // Assigned while the database is down: the partition waits, unsynced (the worker says why).
        let deadline = ContinuousClock.now + .seconds(60)
        while worker.pipeline.status.notReadyReason == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(worker.pipeline.status.notReadyReason != nil, "the worker noticed the outage after its assignment")
        // Produced during the outage, after the worker took the partition: these must be counted.
        try produce(5..<8)
        try await Task.sleep(for: .seconds(1))
        _ = try admin.execute("ALTER ROLE \(role) LOGIN")
        #expect(try await InProcessWorker.waitCommitted(records: 8, group: group, schema: schema, conninfo: conninfo))
        try await worker.stop()

        let gaps = try admin.execute("SELECT from_offset, to_offset FROM \"\(schema)\".retention_gaps WHERE topic = $1", [.text(topic)])
        #expect(gaps.rows.count == 1 && gaps.int64(0, 0) == 0 && gaps.int64(0, 1) == 5, "only the backlog before the assignment is skipped")
        let spans = try admin.execute("SELECT coalesce(sum(span_count), 0) FROM \"\(schema)\".transactions").int64(0, 0)
        #expect(spans == 3, "the records produced during the outage are counted")
        withExtendedLifetime(cluster) {}
    }

    @Test("a flood of 1 MB records is counted exactly while the shards never hold much more than pipeline.max_buffered_bytes")
    func floodOfLargeRecordsStaysBounded() async throws {
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_flood")
        let topic = "flood_\(schema)"
        let group = "g_\(schema)"
        var logger = Logger(label: "it.flood")
        logger.logLevel = .error
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        // 200 MB over 64 partitions: about 3 MiB each, under the mock's ~5 MiB a partition.
        let partitions: Int32 = 64
        try cluster.createTopic(topic, partitions: Int(partitions))
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                properties: ["linger.ms": "5", "compression.codec": "none", "message.max.bytes": "10000000"]),
            logger: logger)
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let record = try paddedRecord(index: 1, startNanos: UInt64(nowMillis - 1000) * 1_000_000, padding: 1_000_000)
        let records = 200
        for i in 0..<records {
            try producer.produce(
                topic: topic, partition: Int32(i) % partitions, key: nil, value: record, timestampMilliseconds: nowMillis)
            if i % 20 == 19 { try producer.flush(timeout: .seconds(30)) }
        }
        try producer.flush(timeout: .seconds(30))

        let budget = 8 * 1024 * 1024
        var config = testWorkerConfiguration(brokers: cluster.bootstrapServers, topic: topic, group: group, schema: schema)
        config.pipelineMaxBufferedBytes = budget
        let worker = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger)
        #expect(try await InProcessWorker.waitCommitted(records: Int64(records), group: group, schema: schema, conninfo: conninfo))
        let peak = worker.pipeline.bufferedBytesPeak
        try await worker.stop()

        // Before each poll the shards hold less than the budget, and a poll takes about what is left of
        // it (librdkafka had prefetched ~100 MB here: without the poll limit one poll took all of it).
        #expect(peak > 0)
        #expect(peak <= budget + 4 * 1024 * 1024, "peak \(peak) bytes held by the shards")
        let c = try PGConnection.connect(conninfo: conninfo)
        let spans = try c.execute("SELECT coalesce(sum(span_count), 0) FROM \"\(schema)\".transactions").int64(0, 0)
        #expect(spans == Int64(records))
        withExtendedLifetime(cluster) {}
    }

    @Test("a stored offset past the partition's end (topic recreated) stops that partition: nothing of the new log is skipped or counted, the others go on")
    func storedOffsetBeyondLogEndStopsThePartition() async throws {
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_beyond")
        let topic = "beyond_\(schema)"
        let group = "g_\(schema)"
        var logger = Logger(label: "it.beyond")
        logger.logLevel = .critical
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        let c = try PGConnection.connect(conninfo: conninfo)
        // Partition 0 was read up to 1000 before its topic was deleted and recreated.
        _ = try c.execute(
            "INSERT INTO \"\(schema)\".ingest_offsets (consumer_group, topic, partition, next_offset, writer) VALUES ($1, $2, 0, 1000, 'old')",
            [.text(group), .text(topic)])
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let start = UInt64(nowMillis - 1000) * 1_000_000
        func produce(partition: Int32, _ range: Range<Int>) throws {
            for i in range {
                try producer.produce(
                    topic: topic, partition: partition, key: nil,
                    value: try paddedRecord(index: i, startNanos: start, padding: 10), timestampMilliseconds: nowMillis)
            }
            try producer.flush(timeout: .seconds(30))
        }
        try produce(partition: 0, 0..<5)
        try produce(partition: 1, 0..<5)
        let config = testWorkerConfiguration(brokers: cluster.bootstrapServers, topic: topic, group: group, schema: schema)
        let worker = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger)
        // Partition 1 is read (1000 + 5).
        #expect(try await InProcessWorker.waitCommitted(records: 1_005, group: group, schema: schema, conninfo: conninfo))
        // The new log grows past the stored offset: reading on would drop 5..<1000 as "already counted"
        // and count 1000..<1005.
        try produce(partition: 0, 5..<1_005)
        try await Task.sleep(for: .seconds(3))
        try await worker.stop()

        let next = try c.execute(
            "SELECT next_offset FROM \"\(schema)\".ingest_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = 0",
            [.text(group), .text(topic)]).int64(0, 0)
        #expect(next == 1_000, "partition 0 stays where it was until an operator decides")
        let spans = try c.execute("SELECT coalesce(sum(span_count), 0) FROM \"\(schema)\".transactions").int64(0, 0)
        #expect(spans == 5, "partition 1's records only")
        withExtendedLifetime(cluster) {}
    }
}
