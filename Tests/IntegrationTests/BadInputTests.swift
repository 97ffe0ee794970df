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

/// An OTLP request with one span per (trace, span, parent) given, starting at `startNanos` (an
/// `otlpRecord` of "POST /bad-input" spans lasting 1 ms).
func otlpRequest(spans: [(trace: [UInt8], span: [UInt8], parent: [UInt8])], startNanos: UInt64, service: String = "svc")
    throws -> [UInt8]
{
    try otlpRecord(
        spans.map {
            SpanSpec(trace: $0.trace, span: $0.span, parent: $0.parent, name: "POST /bad-input", start: startNanos, end: startNanos + 1_000_000)
        },
        resource: [attr("service.name", service)])
}

func bytes(_ n: Int, _ v: UInt8) -> [UInt8] { [UInt8](repeating: v, count: n) }

@Suite("bad input through the whole pipeline", .serialized)
struct BadInputTests {
    /// One run per reason code: a good record plus that code's bad records (too_large: a 50 MB value).
    @Test(
        "a bad record ends in rejected_records with its reason code and in the dead-letter topic with its original bytes; the good record beside it is counted",
        arguments: ["undecodable", "empty", "timestamp_out_of_range", "bad_ids", "too_large"])
    func reasonCode(_ reason: String) async throws {
        let scenario = try KafkaLedgerScenario("it_bad", topicPrefix: "bad", partitions: 1)
        let (schema, topic) = (scenario.schema, scenario.topic)
        let producer = try scenario.producer()

        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let now = UInt64(nowMillis) * 1_000_000
        let trace = bytes(15, 1) + [2]
        let span = bytes(7, 3) + [4]
        let good = try otlpRequest(spans: [(trace, span, [])], startNanos: now - 1_000_000_000)
        let allCases: [(reason: String?, value: [UInt8])] = [
            (nil, good),
            ("undecodable", [0xFF, 0xFF, 0xFF, 0x0A]),
            ("empty", []),
            ("empty", try otlpRequest(spans: [], startNanos: now)),
            ("timestamp_out_of_range", try otlpRequest(spans: [(trace, span, [])], startNanos: now - 40 * 86_400 * 1_000_000_000)),
            ("timestamp_out_of_range", try otlpRequest(spans: [(trace, span, [])], startNanos: now + 3 * 3_600 * 1_000_000_000)),
            ("bad_ids", try otlpRequest(spans: [(bytes(15, 1), span, [])], startNanos: now)),
            ("bad_ids", try otlpRequest(spans: [(bytes(16, 0), span, [])], startNanos: now)),
            ("too_large", bytes(50_000_000, 0x2A)),
        ]
        let cases = allCases.filter { $0.reason == nil || $0.reason == reason }
        for (i, c) in cases.enumerated() {
            try producer.produce(
                topic: topic, partition: 0, key: Array("k\(i)".utf8), value: c.value,
                headers: [("x-case", Array("\(i)".utf8)), ("traceparent", Array("not-a-traceparent".utf8))],
                timestampMilliseconds: nowMillis)
        }
        try producer.flush(timeout: .seconds(60))

        var config = scenario.workerConfiguration()
        // The dead-letter producer takes records up to records.max_bytes + 1 MiB by default; the 50 MB
        // copy needs the limit raised (as an operator would for a broker that takes it). Over the limit
        // it is refused permanently: DeadLetterRefusalTests.
        config.kafkaProperties["message.max.bytes"] = "104857600"
        let worker = scenario.startWorker(config)
        let committed = try await scenario.waitCommitted(Int64(cases.count))
        try await worker.stop()
        #expect(committed, "every record's offset committed")

        // rejected_records: one row per bad record, with its reason, at its offset.
        let c = try scenario.connect()
        let rows = try c.execute(
            "SELECT \"offset\", reason, size_bytes FROM \"\(schema)\".rejected_records WHERE topic = $1 ORDER BY \"offset\"",
            [.text(topic)])
        let expected = cases.enumerated().compactMap { i, c in c.reason.map { (Int64(i), $0) } }
        #expect(rows.rows.indices.map { (rows.int64($0, 0) ?? -1, rows.string($0, 1) ?? "") }.map { "\($0.0):\($0.1)" }
            == expected.map { "\($0.0):\($0.1)" })
        #expect(!expected.isEmpty)
        if reason == "too_large" { #expect(rows.int64(rows.rows.count - 1, 2) == 50_000_000) }
        // The good record is counted.
        #expect(try scenario.spansCounted() == 1)

        // Dead-letter topic: the original key, value and headers, plus the reason and the source.
        let dlq = try scenario.deadLetterConsumer(properties: [
            "max.partition.fetch.bytes": "104857600", "fetch.max.bytes": "104857600", "receive.message.max.bytes": "209715200",
        ])
        var seen: [(source: String, error: String, key: String, case: String, value: [UInt8])] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.count < expected.count, ContinuousClock.now < deadline {
            let r = try dlq.poll(maxMessages: 100, timeout: .milliseconds(200))
            guard let batch = r.messages else { continue }
            for m in batch {
                func h(_ n: String) -> String { m.header(n).map { String(decoding: $0, as: UTF8.self) } ?? "" }
                seen.append(
                    (h("traceledger-source"), h("traceledger-error"), m.key.map { String(decoding: $0, as: UTF8.self) } ?? "",
                     h("x-case"), Array(m.value)))
            }
        }
        _ = try? dlq.close()
        #expect(seen.count == expected.count)
        for (offset, reason) in expected {
            guard let copy = seen.first(where: { $0.source == "\(topic)/0/\(offset)" }) else {
                Issue.record("no dead-letter copy of offset \(offset)")
                continue
            }
            #expect(copy.error == reason)
            #expect(copy.key == "k\(offset)")
            #expect(copy.case == "\(offset)")
            #expect(copy.value == cases[Int(offset)].value, "offset \(offset): value byte-identical")
        }
    }
}

@Suite("dead-letter delivery failures", .serialized)
struct DeadLetterFailureTests {
    @Test("a dead-letter copy whose delivery fails is produced again before its epoch commits: the DLQ still holds every bad record")
    func failedDeadLetterIsRedelivered() async throws {
        let scenario = try KafkaLedgerScenario("it_dlqfail", topicPrefix: "dlqfail", partitions: 1, logLevel: .critical)
        let (schema, topic) = (scenario.schema, scenario.topic)
        let producer = try scenario.producer(properties: [:])
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let now = UInt64(nowMillis) * 1_000_000
        let good = try otlpRequest(spans: [(bytes(15, 1) + [2], bytes(7, 3) + [4], [])], startNanos: now - 1_000_000_000)
        let values: [[UInt8]] = [good, [0xFF, 0xFF, 0xFF, 0x0A], [0x0A, 0x05, 0x01], good]
        for (i, v) in values.enumerated() {
            try producer.produce(topic: topic, partition: 0, key: Array("k\(i)".utf8), value: v, timestampMilliseconds: nowMillis)
        }
        try producer.flush(timeout: .seconds(30))
        // The worker's next produce requests (its dead letters) fail, twice, with an error librdkafka
        // does not retry but which is not a permanent refusal (a permanent one: DeadLetterRefusalTests).
        scenario.cluster.pushRequestErrors(.produce, [.unknown, .unknown])

        let worker = scenario.startWorker()
        let committed = try await scenario.waitCommitted(Int64(values.count))
        try await worker.stop()
        #expect(committed)

        let c = try scenario.connect()
        let rows = try c.execute("SELECT \"offset\" FROM \"\(schema)\".rejected_records ORDER BY \"offset\"")
        #expect(rows.rows.indices.map { rows.int64($0, 0) } == [1, 2])
        #expect(try scenario.spansCounted() == 2)

        let dlq = try scenario.deadLetterConsumer()
        var sources: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(60)
        while sources.count < 2, ContinuousClock.now < deadline {
            let r = try dlq.poll(maxMessages: 100, timeout: .milliseconds(200))
            guard let batch = r.messages else { continue }
            for m in batch {
                let source = m.header("traceledger-source").map { String(decoding: $0, as: UTF8.self) } ?? ""
                sources.insert(source)
                #expect(m.header("traceledger-error").map { String(decoding: $0, as: UTF8.self) } == "undecodable")
            }
        }
        _ = try? dlq.close()
        #expect(sources == ["\(topic)/0/1", "\(topic)/0/2"], "every bad record has a dead-letter copy (duplicates allowed)")
    }
}
