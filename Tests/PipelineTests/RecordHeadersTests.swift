import Foundation
import Kafka
import Logging
@testable import Pipeline
import Testing
import TestSupport

/// `RecordHeaders` (one pass over a record's headers) against `KafkaMessage.header(_:)` (one librdkafka
/// lookup per name), on records consumed from librdkafka's mock cluster.
@Suite("record headers read in one pass")
struct RecordHeadersTests {
    static let logger: Logger = {
        var l = Logger(label: "record-headers-test")
        l.logLevel = .warning
        return l
    }()

    /// One header set per record; an empty value is produced as a null header (``KafkaHeader``).
    static let headerSets: [[(name: String, value: [UInt8])]] = [
        [],
        [("traceparent", Array("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".utf8))],
        [
            ("traceparent", Array("first".utf8)), ("content-type", Array("application/json".utf8)),
            ("traceparent", Array("last".utf8)), ("baggage", []), ("tracestate", Array("ot=th:8".utf8)),
        ],
        // Near misses: another case, a prefix, a longer name, an empty name.
        [
            ("Traceparent", Array("x".utf8)), ("content-typ", Array("y".utf8)), ("tracestatex", Array("z".utf8)),
            ("", Array("e".utf8)), ("baggage", Array("session.id=s1".utf8)), ("baggage", []),
        ],
    ]

    @Test("each name's value is the last header of exactly that name, a null value is empty, an absent one nil: as header(_:) answers")
    func matchesPerNameLookup() async throws {
        let cluster = try MockKafkaCluster.withTopic("h", partitions: 1, logger: Self.logger)
        let producer = try cluster.producer(logger: Self.logger)
        for set in Self.headerSets {
            try producer.produce(topic: "h", partition: 0, key: nil, value: [1], headers: set)
        }
        try producer.flush(timeout: .seconds(20))

        struct Seen: Sendable, Equatable {
            var traceparent, tracestate, baggage, contentType: [UInt8]?
        }
        let bootstrap = cluster.bootstrapServers
        let (fromPass, fromLookup) = try await onThread(named: "headers-consumer") { () throws -> ([Seen], [Seen]) in
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "h", topics: ["h"], properties: fastGroupProperties),
                logger: Self.logger)
            var pass: [Seen] = [], lookup: [Seen] = []
            let copy: (UnsafeRawBufferPointer?) -> [UInt8]? = { $0.map { Array($0) } }
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while pass.count < Self.headerSets.count, ContinuousClock.now < deadline {
                guard let batch = try consumer.poll(maxMessages: 10, timeout: .milliseconds(100)).messages else { continue }
                for m in batch {
                    let h = RecordHeaders(m)
                    pass.append(Seen(traceparent: copy(h.traceparent), tracestate: copy(h.tracestate), baggage: copy(h.baggage), contentType: copy(h.contentType)))
                    lookup.append(
                        Seen(
                            traceparent: copy(m.header("traceparent")), tracestate: copy(m.header("tracestate")),
                            baggage: copy(m.header("baggage")), contentType: copy(m.header("content-type"))))
                }
            }
            try consumer.close()
            return (pass, lookup)
        }
        #expect(fromPass.count == Self.headerSets.count)
        #expect(fromPass == fromLookup)
        // And the values themselves, so that a shared mistake cannot pass.
        #expect(fromPass.first == Seen())
        #expect(fromPass.dropFirst(2).first == Seen(traceparent: Array("last".utf8), tracestate: Array("ot=th:8".utf8), baggage: [], contentType: Array("application/json".utf8)))
        #expect(fromPass.last == Seen(traceparent: nil, tracestate: nil, baggage: [], contentType: nil))
    }
}
