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
        let scenario = try KafkaLedgerScenario(
            "it_latest_outage", topicPrefix: "latest_outage", partitions: 1, deadLetterTopic: false, logLevel: .critical)
        let (conninfo, schema, topic) = (scenario.conninfo, scenario.schema, scenario.topic)
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

        let producer = try scenario.producer(properties: [:])
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        func produce(_ range: Range<Int>) throws { try scenario.producePadded(range, with: producer, at: nowMillis) }
        try produce(0..<5)
        var config = scenario.workerConfiguration()
        config.kafkaStart = .latest
        let worker = scenario.startWorker(config, conninfo: workerConninfo)
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
        #expect(try await scenario.waitCommitted(8))
        try await worker.stop()

        let gaps = try admin.execute("SELECT from_offset, to_offset FROM \"\(schema)\".retention_gaps WHERE topic = $1", [.text(topic)])
        #expect(gaps.rows.count == 1 && gaps.int64(0, 0) == 0 && gaps.int64(0, 1) == 5, "only the backlog before the assignment is skipped")
        #expect(try scenario.spansCounted() == 3, "the records produced during the outage are counted")
    }

    @Test("a flood of 1 MB records is counted exactly while the shards never hold much more than pipeline.max_buffered_bytes")
    func floodOfLargeRecordsStaysBounded() async throws {
        // 200 MB over 64 partitions: about 3 MiB each, under the mock's ~5 MiB a partition.
        let partitions: Int32 = 64
        let scenario = try KafkaLedgerScenario("it_flood", topicPrefix: "flood", partitions: Int(partitions), deadLetterTopic: false)
        let topic = scenario.topic
        let producer = try scenario.producer(properties: ["linger.ms": "5", "compression.codec": "none", "message.max.bytes": "10000000"])
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
        var config = scenario.workerConfiguration()
        config.pipelineMaxBufferedBytes = budget
        let worker = scenario.startWorker(config)
        #expect(try await scenario.waitCommitted(Int64(records)))
        let peak = worker.pipeline.bufferedBytesPeak
        try await worker.stop()

        // Before each poll the shards hold less than the budget, and a poll takes about what is left of
        // it (librdkafka had prefetched ~100 MB here: without the poll limit one poll took all of it).
        #expect(peak > 0)
        #expect(peak <= budget + 4 * 1024 * 1024, "peak \(peak) bytes held by the shards")
        #expect(try scenario.spansCounted() == Int64(records))
    }

    @Test("a stored offset past the partition's end (topic recreated) stops that partition: nothing of the new log is skipped or counted, the others go on")
    func storedOffsetBeyondLogEndStopsThePartition() async throws {
        let scenario = try KafkaLedgerScenario("it_beyond", topicPrefix: "beyond", partitions: 2, deadLetterTopic: false, logLevel: .critical)
        let (schema, topic, group) = (scenario.schema, scenario.topic, scenario.group)
        let c = try scenario.connect()
        // Partition 0 was read up to 1000 before its topic was deleted and recreated.
        _ = try c.execute(
            "INSERT INTO \"\(schema)\".ingest_offsets (consumer_group, topic, partition, next_offset, writer) VALUES ($1, $2, 0, 1000, 'old')",
            [.text(group), .text(topic)])
        let producer = try scenario.producer(properties: [:])
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        func produce(partition: Int32, _ range: Range<Int>) throws {
            try scenario.producePadded(range, partition: partition, with: producer, at: nowMillis)
        }
        try produce(partition: 0, 0..<5)
        try produce(partition: 1, 0..<5)
        let worker = scenario.startWorker()
        // Partition 1 is read (1000 + 5).
        #expect(try await scenario.waitCommitted(1_005))
        // The new log grows past the stored offset: reading on would drop 5..<1000 as "already counted"
        // and count 1000..<1005.
        try produce(partition: 0, 5..<1_005)
        try await Task.sleep(for: .seconds(3))
        try await worker.stop()

        let next = try c.execute(
            "SELECT next_offset FROM \"\(schema)\".ingest_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = 0",
            [.text(group), .text(topic)]).int64(0, 0)
        #expect(next == 1_000, "partition 0 stays where it was until an operator decides")
        #expect(try scenario.spansCounted() == 5, "partition 1's records only")
    }
}
