/// The librdkafka settings a traceledger worker adds to what the operator passed (`kafka.properties`),
/// for its consumer and for its dead-letter producer. A property the operator set always wins; these
/// only fill gaps. They live here, beside the wrappers, so that the pipeline holds no librdkafka
/// knowledge of its own.
public enum WorkerKafkaDefaults {
    /// Consumer-side properties that a producer must not be given (librdkafka warns about, or refuses,
    /// consumer properties on a producer), filtered out of the shared `kafka.properties`.
    public static let consumerOnlyProperties: Set<String> = [
        "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "auto.offset.reset",
        "partition.assignment.strategy", "group.instance.id", "enable.auto.commit", "enable.auto.offset.store",
        "fetch.max.bytes", "max.partition.fetch.bytes", "fetch.wait.max.ms", "fetch.min.bytes",
        "queued.min.messages", "queued.max.messages.kbytes",
    ]

    /// The worker's consumer: ``KafkaConsumerConfiguration/defaultProperties`` plus
    /// - `queued.max.messages.kbytes` 16 MiB (librdkafka's default 64 MiB), `fetch.max.bytes` 16 MiB
    ///   (default 50 MiB; a record batch larger than that is still fetched whole): the prefetch is bounded
    ///   by 16 MiB plus one fetch response. librdkafka 2.0.2 stops fetching when the queue crosses its
    ///   threshold and looks again only when its broker thread next wakes up (up to 1 s later; nothing
    ///   wakes it when the application drains the queue; 2.1+ has `fetch.queue.backoff.ms` for this).
    ///   With 16 MiB that once idled the worker ~0.6-0.8 s at a time (session 8: debug=fetch "not
    ///   fetchable: queued.max.messages.kbytes exceeded"), so the bound was raised to 64 MiB; since
    ///   session 18 the ingest loop wakes a stalled fetcher itself (`KafkaConsumer.nudgeFetcher`, after
    ///   200 ms without records). Session 22, on the same records, default 64 vs 16 MiB (3 rounds each):
    ///   spans/s collector 197k vs 218k, 1 shard 324k vs 318k, OTLP/JSON 141k vs 151k, SDK 143k vs 149k,
    ///   spans/trace 100 786k vs 801k (no loss); peak RSS of the 10M-span backlog 141 and 146 vs 99 and
    ///   95 MiB, of the 60 s outage 131 and 133 vs 92 and 109 MiB: the 48 MiB the larger queue may hold
    ///   was most of the long runs' peak. `fetch.max.bytes` follows a larger `message.max.bytes`
    ///   (librdkafka refuses `fetch.max.bytes` < `message.max.bytes`, which `kafka.properties` may raise
    ///   for the dead-letter producer);
    /// - `queued.min.messages` 20000 (default 100000): the prefetch is also bounded in records. For small
    ///   records the bytes bound is not what holds memory: librdkafka keeps ~1 KiB of its own per
    ///   prefetched record. On one span a record (~400 bytes), 100000 records held ~110 MiB more than
    ///   20000 (peak RSS 299 → 188 MiB on the same records); on the SDK shape (1-3 spans a record,
    ///   1M spans) 20000 changed neither the rate nor the RSS. On larger records the 16 MiB binds first.
    ///   Like the bytes bound, it applies to the consumer's one queue, not per partition (librdkafka's
    ///   check follows the partition queue's forwarding);
    /// - `receive.message.max.bytes` ≥ `fetch.max.bytes` + 512 (librdkafka refuses less);
    /// - `reconnect.backoff.max.ms` 1 s: a broker that comes back is reconnected to within 1 s
    ///   (librdkafka's backoff grows to 10 s: chaos runs saw ~10 s without progress after a broker's
    ///   5 s outage);
    /// - `fetch.wait.max.ms` 100 ms (default 500): how long a broker holds a fetch when it has nothing new.
    ///   A broker answers a connection's requests in order, so every other request to it (the watermark
    ///   queries of a takeover, a newly assigned partition's first fetch) waits behind that hold; at 500 ms
    ///   a takeover of idle partitions was seconds late in chaos runs. A fetch with data returns at once
    ///   whatever this is (`fetch.min.bytes` 1), so it costs only a few more empty fetches per second.
    public static func consumer(_ properties: [String: String]) -> [String: String] {
        var p = properties
        p["fetch.wait.max.ms"] = p["fetch.wait.max.ms"] ?? "100"
        p["queued.max.messages.kbytes"] = p["queued.max.messages.kbytes"] ?? "16384"
        p["queued.min.messages"] = p["queued.min.messages"] ?? "20000"
        p["reconnect.backoff.max.ms"] = p["reconnect.backoff.max.ms"] ?? "1000"
        let messageMax = p["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000
        let fetchMax = p["fetch.max.bytes"].flatMap { Int($0) } ?? max(16_777_216, messageMax)
        p["fetch.max.bytes"] = "\(fetchMax)"
        p["receive.message.max.bytes"] = p["receive.message.max.bytes"] ?? "\(max(100_000_000, fetchMax + 512))"
        return p
    }

    /// The dead-letter producer: the shared properties without ``consumerOnlyProperties``, plus
    /// - `message.timeout.ms` 30 s;
    /// - `message.max.bytes` = `maxRecordBytes` + 1 MiB (at least librdkafka's 1 MB, at most 1 GB): a
    ///   dead-letter copy is the original record, which may be larger than librdkafka's default, plus its
    ///   key and headers. Whether the broker takes it is the broker's business (a refusal is
    ///   permanent); a record beyond that is refused by the producer at once, permanently;
    /// - `compression.codec` lz4, `reconnect.backoff.max.ms` 1 s;
    /// - a bounded queue (``KafkaProducerConfiguration/boundedQueue(_:minimumQueueKBytes:)``: at least
    ///   32 MiB and two of the largest record, 10000 records; a full queue makes produce wait).
    public static func deadLetterProducer(_ properties: [String: String], maxRecordBytes: Int) -> [String: String] {
        var p = properties.filter { !consumerOnlyProperties.contains($0.key) }
        p["message.timeout.ms"] = p["message.timeout.ms"] ?? "30000"
        let (room, overflow) = maxRecordBytes.addingReportingOverflow(1 << 20)
        p["message.max.bytes"] = p["message.max.bytes"] ?? "\(min(1_000_000_000, max(1_000_000, overflow ? Int.max : room)))"
        p["compression.codec"] = p["compression.codec"] ?? "lz4"
        p["reconnect.backoff.max.ms"] = p["reconnect.backoff.max.ms"] ?? "1000"
        return KafkaProducerConfiguration.boundedQueue(p)
    }
}
