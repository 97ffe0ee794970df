import Kafka
import Testing

@Suite("the worker's librdkafka defaults")
struct WorkerKafkaDefaultsTests {
    @Test("the consumer's prefetch is bounded to 16 MiB and 20000 records, and a fetch to 16 MiB, unless the operator says otherwise")
    func consumerBounds() {
        let p = WorkerKafkaDefaults.consumer([:])
        #expect(p["queued.max.messages.kbytes"] == "16384")
        #expect(p["queued.min.messages"] == "20000")
        #expect(p["fetch.max.bytes"] == "16777216")
        #expect(p["receive.message.max.bytes"] == "100000000")
        #expect(p["reconnect.backoff.max.ms"] == "1000")
        #expect(p["fetch.wait.max.ms"] == "100")
    }

    @Test("operator properties win, and fetch.max.bytes follows a larger message.max.bytes")
    func operatorWins() {
        let p = WorkerKafkaDefaults.consumer([
            "queued.max.messages.kbytes": "1024", "queued.min.messages": "5", "message.max.bytes": "200000000",
        ])
        #expect(p["queued.max.messages.kbytes"] == "1024")
        #expect(p["queued.min.messages"] == "5")
        #expect(p["fetch.max.bytes"] == "200000000")
        #expect(p["receive.message.max.bytes"] == "200000512")
    }

    @Test("the dead-letter producer drops consumer-only properties and sizes messages for the largest record")
    func deadLetterProducer() {
        let shared = ["session.timeout.ms": "3000", "fetch.max.bytes": "1000", "security.protocol": "ssl"]
        let p = WorkerKafkaDefaults.deadLetterProducer(shared, maxRecordBytes: 8 << 20)
        #expect(p["session.timeout.ms"] == nil)
        #expect(p["fetch.max.bytes"] == nil)
        #expect(p["security.protocol"] == "ssl")
        #expect(p["message.max.bytes"] == "\((8 << 20) + (1 << 20))")
        #expect(p["compression.codec"] == "lz4")
        #expect(p["queue.buffering.max.messages"] == "10000")
        // The queue holds two of the largest record.
        #expect(Int(p["queue.buffering.max.kbytes"] ?? "") ?? 0 >= 2 * ((8 << 20) + (1 << 20)) / 1024)
    }

    @Test("a record limit near Int.max cannot overflow the message size; it is capped at librdkafka's 1 GB")
    func hugeRecordLimit() {
        let p = WorkerKafkaDefaults.deadLetterProducer([:], maxRecordBytes: Int.max)
        #expect(p["message.max.bytes"] == "1000000000")
    }
}
