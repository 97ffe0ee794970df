import Foundation
import Kafka
import Testing
import TestSupport

/// What the consumer saw, copied out of the batch (views die with it).
struct ReceivedRecord: Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var value: [UInt8]
    var timestamp: KafkaTimestamp?
    var headers: [Header]
    var traceparent: [UInt8]?
    var contentType: [UInt8]?
    var missingHeader: [UInt8]?

    struct Header: Sendable, Equatable {
        var name: String
        var value: [UInt8]?
    }

    init(_ m: KafkaMessage) {
        topic = m.topic
        partition = m.partition
        offset = m.offset
        key = bytes(m.key)
        value = m.withValue { Array($0) }
        timestamp = m.timestamp
        headers = (0..<m.headerCount).compactMap { i in
            m.header(at: i).map { Header(name: String(decoding: $0.name, as: UTF8.self), value: bytes($0.value)) }
        }
        traceparent = bytes(m.header("traceparent"))
        contentType = bytes(m.header("content-type"))
        missingHeader = bytes(m.header("no-such-header"))
    }
}

@Suite("Kafka round trip through a mock cluster in another process")
struct RoundTripTests {
    @Test("a record with key, value and three headers is consumed back byte-identical with its partition, offset and timestamp")
    func recordRoundTripsThroughMockKafkaProcess() async throws {
        let mock = try MockKafkaProcess(arguments: ["--brokers", "3", "--topic", "roundtrip:3"])
        defer { mock.stop() }
        let bootstrap = mock.bootstrapServers
        #expect(bootstrap.hasPrefix("127.0.0.1:"))

        let value: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }  // has 0x00 bytes
        let key: [UInt8] = Array("4bf92f3577b34da6a3ce929d0e0e4736".utf8) + [0, 0xFF]
        let traceparent = Array("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".utf8)
        let binary: [UInt8] = [0, 1, 0xFE, 0xFF, 0]
        let timestampMs: Int64 = 1_767_225_600_123  // 2026-01-01T00:00:00.123Z

        do {  // The producer goes away before the cluster does (no reconnect noise).
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(
                    bootstrapServers: bootstrap, properties: ["compression.codec": "lz4", "linger.ms": "1"]),
                logger: testLogger("producer"))
            try producer.produce(
                topic: "roundtrip", partition: 2, key: key, value: value,
                headers: [
                    ("traceparent", traceparent), ("content-type", Array("application/x-protobuf".utf8)),
                    ("bin", binary),
                ],
                timestampMilliseconds: timestampMs)
            try producer.flush(timeout: .seconds(20))
            #expect(producer.deliveredCount == 1)
            #expect(producer.failedCount == 0)
            #expect(producer.pendingCount == 0)
        }

        let received = try await onThread(named: "roundtrip-consumer") { () throws -> ReceivedRecord in
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "roundtrip", topics: ["roundtrip"], properties: fastGroupProperties),
                logger: testLogger("consumer"))
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while ContinuousClock.now < deadline {
                let result = try consumer.poll(maxMessages: 10, timeout: .milliseconds(100))
                if let batch = result.messages, let first = batch.first {
                    let record = ReceivedRecord(first)
                    try consumer.close()
                    return record
                }
            }
            throw TestFailure("no record within 30 s")
        }

        #expect(received.topic == "roundtrip")
        #expect(received.partition == 2)
        #expect(received.offset == 0)
        #expect(received.key == key)
        #expect(received.value == value)
        #expect(received.timestamp == KafkaTimestamp(milliseconds: timestampMs, kind: .createTime))
        #expect(
            received.headers == [
                .init(name: "traceparent", value: traceparent),
                .init(name: "content-type", value: Array("application/x-protobuf".utf8)),
                .init(name: "bin", value: binary),
            ])
        #expect(received.traceparent == traceparent)
        #expect(received.contentType == Array("application/x-protobuf".utf8))
        #expect(received.missingHeader == nil)
        #expect(mock.stop() == 0, "mock-kafka exits 0 on SIGTERM")
    }
}
