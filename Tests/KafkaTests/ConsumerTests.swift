import Foundation
import Kafka
import Synchronization
import Testing
import TestSupport

/// Produces `count` records "tag-i" to one partition and waits for their delivery.
func produceRecords(
    _ producer: KafkaProducer, topic: String, partition: Int32, tag: String, range: Range<Int>
) throws {
    for i in range {
        try producer.produce(topic: topic, partition: partition, key: nil, value: Array("\(tag)-\(i)".utf8))
    }
    try producer.flush(timeout: .seconds(20))
}

@Suite("KafkaConsumer against librdkafka's mock cluster")
struct ConsumerTests {
    @Test("a paused partition delivers nothing for longer than max.poll.interval.ms, the consumer stays in the group, and resume continues exactly where it was")
    func pauseKeepsMembershipAndResumeHasNoGapOrDuplicate() async throws {
        let cluster = try MockKafkaCluster.withTopic("paused", partitions: 1, logger: testLogger("mock"))
        let bootstrap = cluster.bootstrapServers
        let producer = try cluster.producer(logger: testLogger("producer"))
        try produceRecords(producer, topic: "paused", partition: 0, tag: "before", range: 0..<10)
        let tp = TopicPartition(topic: "paused", partition: 0)

        struct Outcome: Sendable {
            var beforePause: [Int64] = []
            var whilePaused: [Int64] = []
            var pausedFor: Duration = .zero
            var eventsWhilePaused: [KafkaConsumerEvent] = []
            var afterResume: [Int64] = []
            var assignmentAfterPause: Set<TopicPartition> = []
        }
        let outcome = try await onThread(named: "pause-consumer") { () throws -> Outcome in
            var out = Outcome()
            var properties = fastGroupProperties
            properties["max.poll.interval.ms"] = "6000"  // librdkafka's minimum with session.timeout.ms=6000.
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "paused", topics: ["paused"], properties: properties),
                logger: testLogger("consumer"))
            // Take exactly 5 of the 10 records (librdkafka has fetched more internally).
            var deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while out.beforePause.count < 5 && ContinuousClock.now < deadline {
                let r = try consumer.poll(maxMessages: 5 - out.beforePause.count, timeout: .milliseconds(100))
                out.beforePause += r.records.map(\.offset)
            }
            try consumer.pause([tp])
            try produceRecords(producer, topic: "paused", partition: 0, tag: "during", range: 10..<20)
            let pausedAt = ContinuousClock.now
            while ContinuousClock.now - pausedAt < .seconds(8) {
                let r = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
                out.whilePaused += r.records.map(\.offset)
                out.eventsWhilePaused += r.events
            }
            out.pausedFor = ContinuousClock.now - pausedAt
            out.assignmentAfterPause = consumer.assignment
            try consumer.resume([tp])
            deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while out.afterResume.count < 15 && ContinuousClock.now < deadline {
                let r = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
                out.afterResume += r.records.map(\.offset)
            }
            // Anything more would be a duplicate.
            out.afterResume += try consumer.poll(maxMessages: 100, timeout: .milliseconds(500)).records.map(\.offset)
            try consumer.close()
            return out
        }
        #expect(outcome.beforePause == [0, 1, 2, 3, 4])
        #expect(outcome.whilePaused.isEmpty)
        #expect(outcome.pausedFor > .milliseconds(6000))
        #expect(outcome.eventsWhilePaused.isEmpty, "no revoke, no MAX_POLL_EXCEEDED while paused and polling")
        #expect(outcome.assignmentAfterPause == [tp])
        #expect(outcome.afterResume == Array(5..<20))
    }

    @Test("wakeUp from another thread ends a waiting poll long before its timeout, and a wake while no poll waits ends the next poll at once")
    func wakeUpEndsAWaitingPoll() async throws {
        let cluster = try MockKafkaCluster.withTopic("quiet", partitions: 1, logger: testLogger("mock"))
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: cluster.bootstrapServers, groupID: "quiet", topics: ["quiet"], properties: fastGroupProperties),
            logger: testLogger("consumer"))
        let polling = Atomic<Bool>(false)
        async let waited = onThread(named: "wake-consumer") { () throws -> (Duration, Int, Duration, Bool) in
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while consumer.assignment.isEmpty, ContinuousClock.now < deadline {
                _ = try consumer.poll(maxMessages: 10, timeout: .milliseconds(100))
            }
            let assigned = !consumer.assignment.isEmpty
            polling.store(true, ordering: .releasing)
            let start = ContinuousClock.now
            let r = try consumer.poll(maxMessages: 10, timeout: .seconds(20))  // Empty topic: only a wake ends it early.
            let first = ContinuousClock.now - start
            consumer.wakeUp()  // No poll waits now: the next one must not wait.
            let start2 = ContinuousClock.now
            _ = try consumer.poll(maxMessages: 10, timeout: .seconds(20))
            let second = ContinuousClock.now - start2
            try consumer.close()  // On the thread that polls it.
            return (first, r.records.count, second, assigned)
        }
        while !polling.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(300))
        consumer.wakeUp()
        let (first, records, second, assigned) = try await waited
        #expect(assigned)
        #expect(records == 0)
        #expect(first < .seconds(10), "the woken poll waited \(first)")
        #expect(second < .seconds(10), "the poll after a wake waited \(second)")
    }

    @Test("nudgeFetcher after an empty poll restarts fetching that librdkafka 2.0.2 stopped at queued.min.messages (otherwise up to 1 s a message set), and nothing comes twice")
    func nudgeResumesAStoppedFetcher() async throws {
        let cluster = try MockKafkaCluster.withTopic("nudged", partitions: 1, logger: testLogger("mock"))
        let producer = try cluster.producer(logger: testLogger("producer"))
        for round in 0..<20 {  // 20 message sets of 10 records: one fetch takes one of them.
            try produceRecords(producer, topic: "nudged", partition: 0, tag: "r\(round)", range: (round * 10)..<(round * 10 + 10))
        }
        let bootstrap = cluster.bootstrapServers
        let nudge = ProcessInfo.processInfo.environment["TRACELEDGER_TEST_NO_NUDGE"] == nil
        let (offsets, elapsed, nudges) = try await onThread(named: "nudge-consumer") { () throws -> ([Int64], Duration, Int) in
            var properties = fastGroupProperties
            properties["queued.min.messages"] = "10"  // Each fetched message set fills the queue.
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "nudged", topics: ["nudged"], properties: properties),
                logger: testLogger("consumer"))
            var offsets: [Int64] = []
            var nudges = 0
            var start: ContinuousClock.Instant?
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while offsets.count < 200, ContinuousClock.now < deadline {
                let r = try consumer.poll(maxMessages: 1000, timeout: .milliseconds(100))
                if !r.records.isEmpty, start == nil { start = ContinuousClock.now }
                offsets += r.records.map(\.offset)
                if r.records.isEmpty, start != nil, nudge {
                    consumer.nudgeFetcher(Array(consumer.assignment))
                    nudges += 1
                }
            }
            try consumer.close()
            return (offsets, start.map { ContinuousClock.now - $0 } ?? .zero, nudges)
        }
        #expect(offsets == (0..<200).map(Int64.init))
        // Without nudges (TRACELEDGER_TEST_NO_NUDGE=1) this took 17 s: the fetcher slept 1 s a message set.
        #expect(elapsed < .seconds(8), "200 records took \(elapsed) with \(nudges) nudges")
    }

    @Test("a consumer closed and released after its JoinGroup but before any assignment does not abort the process (librdkafka 2.0.2 #4312)")
    func releaseBeforeFirstAssignmentDoesNotAbort() async throws {
        let cluster = try MockKafkaCluster.withTopic("unsynced", partitions: 2, logger: testLogger("mock"))
        // Every SyncGroup fails: the member keeps joining (the assignor is chosen) and never gets an assignment.
        cluster.pushRequestErrors(.syncGroup, [KafkaError.Code](repeating: .rebalanceInProgress, count: 200))
        let bootstrap = cluster.bootstrapServers
        let assignedAny = try await onThread(named: "unsynced-consumer") { () throws -> Bool in
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "unsynced", topics: ["unsynced"], properties: fastGroupProperties),
                logger: testLogger("consumer"))
            let until = ContinuousClock.now.advanced(by: .seconds(6))  // Past the mock's ~3 s join delay.
            while ContinuousClock.now < until { _ = try consumer.poll(maxMessages: 10, timeout: .milliseconds(100)) }
            let assigned = !consumer.assignment.isEmpty
            try consumer.close()
            return assigned  // The consumer is released here, on this thread.
        }
        #expect(!assignedAny)
        cluster.clearRequestErrors(.syncGroup)
    }

    @Test("every record of a batch names its own topic, for short and long (heap) topic names mixed in one poll")
    func batchTopicNamesBelongToEachRecord() async throws {
        let topics = ["spans", "otel-spans-production-eu-west-1", "otel-spans-production-us-east-2"]
        let cluster = try MockKafkaCluster(brokers: 1, logger: testLogger("mock"))
        for t in topics { try cluster.createTopic(t, partitions: 2) }
        let producer = try cluster.producer(logger: testLogger("producer"))
        // Interleaved, so that one poll holds runs of every topic.
        for i in 0..<60 {
            let t = topics[i % 3]
            try producer.produce(topic: t, partition: Int32(i % 2), key: nil, value: Array("\(t)|\(i)".utf8))
        }
        try producer.flush(timeout: .seconds(20))
        let bootstrap = cluster.bootstrapServers
        let seen = try await onThread(named: "topics-consumer") { () throws -> [(topic: String, value: String, batch: Int)] in
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "topics", topics: topics, properties: fastGroupProperties),
                logger: testLogger("consumer"))
            var out: [(topic: String, value: String, batch: Int)] = []
            var polls = 0
            var waitedForPrefetch = false
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while out.count < 60 && ContinuousClock.now < deadline {
                let r = try consumer.poll(maxMessages: 1000, timeout: .milliseconds(100))
                polls += 1
                for m in r.records { out.append((m.topic, m.withValue { String(decoding: $0, as: UTF8.self) }, polls)) }
                if !r.records.isEmpty && !waitedForPrefetch {
                    // The first records can come from one partition's fetch alone. Let librdkafka prefetch
                    // the other five partitions, so the next poll holds runs of every topic not seen yet
                    // (at least two topics, whatever the first poll held).
                    waitedForPrefetch = true
                    Thread.sleep(forTimeInterval: 2)
                }
            }
            try consumer.close()
            return out
        }
        #expect(seen.count == 60)
        for r in seen {
            #expect(r.value.hasPrefix(r.topic + "|"), "record \(r.value) named topic \(r.topic)")
        }
        let topicsPerPoll = Dictionary(grouping: seen, by: \.batch).values.map { Set($0.map(\.topic)).count }
        #expect(topicsPerPoll.contains { $0 > 1 }, "no poll held records of two topics: the test checked nothing of a batch's names")
    }

    @Test("start offsets chosen by the caller at assignment are honoured; nil means the beginning; seek moves back; nothing is auto-committed")
    func callerChosenStartOffsetsAreHonoured() async throws {
        let cluster = try MockKafkaCluster.withTopic("starts", partitions: 2, logger: testLogger("mock"))
        let bootstrap = cluster.bootstrapServers
        let producer = try cluster.producer(logger: testLogger("producer"))
        for p: Int32 in 0...1 { try produceRecords(producer, topic: "starts", partition: p, tag: "p\(p)", range: 0..<10) }
        let p0 = TopicPartition(topic: "starts", partition: 0)
        let p1 = TopicPartition(topic: "starts", partition: 1)
        let asked = Mutex<[[TopicPartition]]>([])

        struct Outcome: Sendable {
            var events: [KafkaConsumerEvent] = []
            var delivered: [TopicPartition: [Int64]] = [:]
            var values: [String] = []
            var afterSeek: [Int64] = []
            var watermarks: [Int64] = []
            var batchWatermarks: [TopicPartition: Watermarks] = [:]
            var committed: [TopicPartition: Int64] = [:]
        }
        let outcome = try await onThread(named: "starts-consumer") { () throws -> Outcome in
            var out = Outcome()
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "starts", topics: ["starts"], properties: fastGroupProperties),
                logger: testLogger("consumer"),
                startOffsets: { tps in
                    asked.withLock { $0.append(tps.sorted()) }
                    return [p0: 7]  // p1 absent → beginning
                })
            var deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while (out.delivered[p0, default: []].count < 3 || out.delivered[p1, default: []].count < 10)
                && ContinuousClock.now < deadline
            {
                let r = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
                out.events += r.events
                for m in r.records {
                    out.delivered[m.topicPartition, default: []].append(m.offset)
                    out.values.append(m.withValue { String(decoding: $0, as: UTF8.self) })
                }
            }
            try consumer.seek([PartitionOffset(p0, offset: 2)])
            deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while out.afterSeek.last != 9 && ContinuousClock.now < deadline {
                let r = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
                out.afterSeek += r.records.filter { $0.partition == 0 }.map(\.offset)
            }
            let w = try consumer.queryWatermarks(p0, timeout: .seconds(10))
            out.watermarks = [w.low, w.high]
            for (tp, result) in consumer.queryWatermarks([p0, p1, p0], timeout: .seconds(10)) {
                if case .success(let w) = result { out.batchWatermarks[tp] = w }
            }
            out.committed = try consumer.committed([p0, p1], timeout: .seconds(10))
            try consumer.close()
            return out
        }
        #expect(asked.withLock { $0 } == [[p0, p1]])
        #expect(outcome.events.first == KafkaConsumerEvent.assigned([PartitionOffset(p0, offset: 7), PartitionOffset(p1, offset: KafkaOffset.beginning)]))
        #expect(outcome.delivered[p0] == [7, 8, 9])
        #expect(outcome.delivered[p1] == Array(0..<10))
        #expect(outcome.values.contains("p0-7") && !outcome.values.contains("p0-6"))
        #expect(outcome.afterSeek == Array(2..<10))
        #expect(outcome.watermarks == [0, 10])
        #expect(outcome.batchWatermarks == [p0: Watermarks(low: 0, high: 10), p1: Watermarks(low: 0, high: 10)],
                "the batched query answers once per distinct partition, like the single one")
        #expect(outcome.committed.isEmpty, "enable.auto.offset.store=false: nothing stored, so nothing committed unless told")
    }

    @Test("a start offset of END is pinned to the high watermark at assignment: the event says where consumption starts, and a record produced right after is delivered")
    func endIsResolvedAtAssignment() async throws {
        let cluster = try MockKafkaCluster.withTopic("ends", partitions: 1, logger: testLogger("mock"))
        let bootstrap = cluster.bootstrapServers
        let producer = try cluster.producer(logger: testLogger("producer"))
        try produceRecords(producer, topic: "ends", partition: 0, tag: "old", range: 0..<4)
        let p0 = TopicPartition(topic: "ends", partition: 0)

        struct Outcome: Sendable {
            var events: [KafkaConsumerEvent] = []
            var delivered: [Int64] = []
        }
        let outcome = try await onThread(named: "ends-consumer") { () throws -> Outcome in
            var out = Outcome()
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "ends", topics: ["ends"], properties: fastGroupProperties),
                logger: testLogger("consumer"),
                startOffsets: { tps in Dictionary(uniqueKeysWithValues: tps.map { ($0, KafkaOffset.end) }) })
            var deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while out.events.isEmpty && ContinuousClock.now < deadline {
                let r = try consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
                out.events += r.events
                out.delivered += r.records.map(\.offset)
            }
            // Produced right after the assignment, before librdkafka could have resolved a logical END.
            try produceRecords(producer, topic: "ends", partition: 0, tag: "new", range: 4..<6)
            deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while out.delivered.count < 2 && ContinuousClock.now < deadline {
                out.delivered += try consumer.poll(maxMessages: 100, timeout: .milliseconds(100)).records.map(\.offset)
            }
            try consumer.close()
            return out
        }
        #expect(outcome.events.first == KafkaConsumerEvent.assigned([PartitionOffset(p0, offset: 4)]))
        #expect(outcome.delivered == [4, 5])
    }

    @Test("flush throws when a delivery failed since the last flush, and succeeds again afterwards")
    func flushReportsFailedDeliveries() async throws {
        let cluster = try MockKafkaCluster.withTopic("dlq", partitions: 1, logger: testLogger("mock"))
        let producer = try cluster.producer(properties: ["linger.ms": "0"], logger: testLogger("producer"))
        try produceRecords(producer, topic: "dlq", partition: 0, tag: "ok", range: 0..<1)  // Connects.
        cluster.pushRequestErrors(.produce, [.invalidRecord])
        try producer.produce(topic: "dlq", partition: 0, key: nil, value: Array("doomed".utf8))
        let error = #expect(throws: KafkaError.self) { try producer.flush(timeout: .seconds(20)) }
        #expect(error?.code == .invalidRecord)
        #expect(error?.topic == "dlq")
        #expect(producer.failedCount == 1)
        try produceRecords(producer, topic: "dlq", partition: 0, tag: "ok", range: 1..<2)
        #expect(producer.deliveredCount == 2)
        #expect(producer.takeFailedRecords().isEmpty, "a plain producer keeps no copies")
    }

    @Test("a producer that keeps failed records hands back each failed record's key, value, headers and timestamp, once")
    func failedRecordsAreHandedBack() async throws {
        let cluster = try MockKafkaCluster.withTopic("keep", partitions: 1, logger: testLogger("mock"))
        let producer = try cluster.producer(
            properties: ["linger.ms": "0"], keepsFailedRecords: true, logger: testLogger("producer"))
        try produceRecords(producer, topic: "keep", partition: 0, tag: "ok", range: 0..<1)  // Connects.
        // A transient failure (a permanent one keeps no value: PermanentFailureTests).
        cluster.pushRequestErrors(.produce, [.unknown])
        let headers: [(name: String, value: [UInt8])] = [("a", [1, 2, 3]), ("traceledger-source", Array("t/0/7".utf8))]
        try producer.produce(
            topic: "keep", partition: 0, key: [9, 9], value: Array("doomed".utf8), headers: headers,
            timestampMilliseconds: 1_790_000_000_123)
        #expect(throws: KafkaError.self) { try producer.flush(timeout: .seconds(20)) }
        let failed = producer.takeFailedRecords()
        #expect(failed.count == 1)
        let f = try #require(failed.first)
        let r = try #require(f.record)
        #expect(r.topic == "keep" && r.key == [9, 9] && r.value == Array("doomed".utf8))
        #expect(r.headers.map(\.name) == ["a", "traceledger-source"] && r.headers.map(\.value) == headers.map(\.value))
        #expect(r.timestampMilliseconds == 1_790_000_000_123)
        #expect(f.error.code == .unknown && !f.error.isPermanent)
        #expect(producer.takeFailedRecords().isEmpty)
        // Produced again, it is delivered.
        try producer.produce(r)
        try producer.flush(timeout: .seconds(20))
        #expect(producer.deliveredCount == 2)
    }

    @Test("a bad librdkafka property is a typed error, not a crash")
    func badPropertyThrows() throws {
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(
                configuration: KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1", properties: ["no.such.property": "1"]),
                logger: testLogger("producer"))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("no.such.property") == true)
    }

    @Test("configuration defaults: cooperative-sticky, no auto store (only stored offsets are auto-committed), earliest; passthrough wins")
    func configurationDefaults() {
        var c = KafkaConsumerConfiguration(bootstrapServers: "b:1", groupID: "g", topics: ["t"])
        #expect(c.resolvedProperties["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(c.resolvedProperties["enable.auto.commit"] == "true")  // commits only what storeOffsets stored
        #expect(c.resolvedProperties["enable.auto.offset.store"] == "false")
        #expect(c.resolvedProperties["auto.offset.reset"] == "earliest")
        #expect(c.resolvedProperties["group.id"] == "g")
        c.properties["auto.offset.reset"] = "latest"
        #expect(c.resolvedProperties["auto.offset.reset"] == "latest")
        #expect(KafkaError.Code.partitionEOF.name == "_PARTITION_EOF")
        #expect(KafkaError(code: .queueFull, message: "x").isRetriable)
        #expect(!KafkaError(code: .topicAuthorizationFailed, message: "x").isRetriable)
    }
}

extension KafkaPollResult {
    /// The messages as an array (tests only: the array keeps the batch alive).
    var records: [KafkaMessage] { messages.map { Array($0) } ?? [] }
}
