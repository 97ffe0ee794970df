import DevHarness
import Foundation
import Kafka
import Ledger
import Logging
import Pipeline
import Testing
import TestSupport

/// Dead letters Kafka refuses for good: the worker records the refusal and goes on (issue #8 item 5).
@Suite("dead letters refused permanently", .serialized)
struct DeadLetterRefusalTests {
    struct Setup {
        let scenario: KafkaLedgerScenario
        let producer: KafkaProducer
        let nowMillis: Int64

        init(_ prefix: String) throws {
            scenario = try KafkaLedgerScenario(prefix, topicPrefix: prefix, partitions: 1, logLevel: .critical)
            producer = try scenario.producer()
            nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        }

        /// An OTLP record with one root span of its own trace.
        func good(_ n: UInt8) throws -> [UInt8] {
            try otlpRequest(
                spans: [(bytes(15, n) + [2], bytes(7, n) + [4], [])], startNanos: UInt64(nowMillis - 1000) * 1_000_000)
        }

        func produce(_ values: [[UInt8]], from first: Int) throws {
            for (i, v) in values.enumerated() {
                try producer.produce(
                    topic: scenario.topic, partition: 0, key: Array("k\(first + i)".utf8), value: v, timestampMilliseconds: nowMillis)
            }
            try producer.flush(timeout: .seconds(60))
        }

        /// (offset, reason, detail) of every rejected row, by offset; and the spans counted.
        func ledger() throws -> (rejected: [(offset: Int64, reason: String, detail: String)], spans: Int64) {
            let rows = try scenario.connect().execute(
                "SELECT \"offset\", reason, detail FROM \"\(scenario.schema)\".rejected_records ORDER BY \"offset\"")
            let rejected = rows.rows.indices.map { (rows.int64($0, 0) ?? -1, rows.string($0, 1) ?? "", rows.string($0, 2) ?? "") }
            return (rejected, try scenario.spansCounted() ?? -1)
        }
    }

    @Test("a 20 MB too_large record, over the dead-letter producer's message.max.bytes: refused at once, the refusal in rejected_records.detail, and the good record after it on the same partition commits")
    func tooLargeDeadLetterIsRefused() async throws {
        let s = try Setup("dlqbig")
        let worker = s.scenario.startWorker()
        // The mock cluster keeps ~5 MiB per partition: the good record after the big one is produced once
        // the big one is committed (the worker would otherwise find it deleted, a retention gap).
        let big = bytes(20_000_000, 0x41)
        try s.produce([try s.good(1), big], from: 0)
        let first = try await s.scenario.waitCommitted(2, timeout: .seconds(60))
        try s.produce([try s.good(2)], from: 2)
        let all = try await s.scenario.waitCommitted(3, timeout: .seconds(60))
        let refused = worker.pipeline.deadLettersRefused
        try await worker.stop()
        #expect(refused == 1)
        #expect(first, "the epoch holding the refused dead letter commits (no stall)")
        #expect(all, "the good record after it commits")

        let (rejected, spans) = try s.ledger()
        #expect(spans == 2)
        #expect(rejected.map(\.offset) == [1] && rejected.map(\.reason) == ["too_large"])
        let detail = rejected.first?.detail ?? ""
        #expect(detail.contains("exceeds records.max_bytes"), "the original detail stays: \(detail)")
        #expect(detail.contains("refused permanently") && detail.contains("MSG_SIZE_TOO_LARGE"), "\(detail)")
        #expect(detail.contains("value 20000000 bytes, first: \"AAAA"), "\(detail)")
        #expect(detail.utf8.count <= 2048)
    }

    @Test("the .dlq topic refuses every produce (TOPIC_AUTHORIZATION_FAILED pushed for several requests): the refusal is in rejected_records.detail and every record commits")
    func unauthorizedDeadLetterTopic() async throws {
        let s = try Setup("dlqauth")
        let values = [try s.good(1), [0xFF, 0xFF, 0xFF, 0x0A], [], try s.good(2)]
        try s.produce(values, from: 0)
        // Only the worker's dead letters produce from now on.
        s.scenario.cluster.pushRequestErrors(.produce, Array(repeating: .topicAuthorizationFailed, count: 4))
        let worker = s.scenario.startWorker()
        let committed = try await s.scenario.waitCommitted(Int64(values.count), timeout: .seconds(60))
        let refused = worker.pipeline.deadLettersRefused
        try await worker.stop()
        #expect(committed, "no stall")
        #expect(refused == 2)

        let (rejected, spans) = try s.ledger()
        #expect(spans == 2)
        #expect(rejected.map(\.offset) == [1, 2] && rejected.map(\.reason) == ["undecodable", "empty"])
        for r in rejected {
            #expect(r.detail.contains("refused permanently") && r.detail.contains("TOPIC_AUTHORIZATION_FAILED"), "\(r.detail)")
        }
        #expect(rejected.first?.detail.contains("first: \"\\xff\\xff\\xff\\x0a\"") == true, "\(rejected.first?.detail ?? "")")
    }
}
