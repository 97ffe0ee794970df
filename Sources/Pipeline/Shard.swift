import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Logging
import Pricing
import Synchronization

/// A message from the ingest thread to one shard. Each shard receives them in order (FIFO), so a
/// `.seal` is a barrier: every record dispatched before it belongs to the sealed epoch.
enum ShardMessage: Sendable {
    /// Records of one polled batch routed to this shard (indices into the batch). The batch keeps the
    /// librdkafka messages alive until every shard has dropped it; so does the batch's byte count in
    /// the dispatch budget (`DispatchedBytes`, shared by the batch's messages to all shards).
    case records(KafkaMessageBatch, [Int32], DispatchedBytes)
    /// Hand over the open epoch's delta to the assembler and start a new one.
    case seal(epochID: UInt64, generation: UInt64)
    /// Drop the open epoch (after a fencing failure or a lost assignment).
    case discard
    /// Reject one record of the batch with this reason instead of folding it (a record the database
    /// refused, found by the ingest thread's `Quarantine`).
    case reject(KafkaMessageBatch, Int32, RejectReason, String, DispatchedBytes)
}

/// Counters shared by the ingest thread and the shards (atomics; relaxed: they steer heuristics).
final class PipelineGauges: Sendable {
    /// The exported series (docs/metrics.md); a no-op factory unless the service was given one.
    let metrics: PipelineMetrics

    init(metrics: PipelineMetrics = PipelineMetrics(factory: NOOPMetricsHandler.instance)) {
        self.metrics = metrics
    }

    /// Records dispatched to shards and not yet processed.
    let queuedRecords = Atomic<Int>(0)
    /// Bytes of polled batches that shards still hold (`DispatchBudget`): the ingest thread waits before
    /// its next poll above `pipeline.max_buffered_bytes`.
    let bufferedBytes = Atomic<Int>(0)
    /// The highest `bufferedBytes` seen right after a dispatch.
    let bufferedBytesPeak = Atomic<Int>(0)
    /// Times the ingest thread waited before a poll (shards over the byte budget, or the writer full
    /// with the open epoch full).
    let bufferWaits = Atomic<Int>(0)
    /// Gaps found while reading (offset jumps, stored offsets below the log start), and the records in them.
    let gapsDetected = Atomic<Int>(0)
    let gapRecordsSkipped = Atomic<Int>(0)
    /// Assignments whose stored offset was past the partition's high watermark (the partition stopped).
    let offsetsBeyondLogEnd = Atomic<Int>(0)
    /// Spans folded since the last seal (for `flush.max_spans`).
    let openSpans = Atomic<Int>(0)
    /// Rows (``EpochDelta/openRowCount``) the shards' open deltas hold: an epoch is also full at
    /// `flush.max_spans / 2` rows, so that one span per trace (a row per span in three maps) does not
    /// make epochs, and memory, several times larger.
    let openRows = Atomic<Int>(0)

    /// How full the open epoch is, in spans: its spans, or twice its rows when that is more.
    var openLoad: Int {
        max(openSpans.load(ordering: .relaxed), openRows.load(ordering: .relaxed).multipliedReportingOverflow(by: 2).partialValue)
    }
    let spansTotal = Atomic<Int>(0)
    let recordsTotal = Atomic<Int>(0)
    let rejectedTotal = Atomic<Int>(0)
    /// Dead letters Kafka refused permanently (not retried; the refusal is in their rejected row).
    let deadLettersRefused = Atomic<Int>(0)
    let committedEpochs = Atomic<Int>(0)
    let fencedEpochs = Atomic<Int>(0)
    /// Epochs the database refused for their data (each starts an isolation of the culprit records).
    let unwritableEpochs = Atomic<Int>(0)
    let inflightEpochs = Atomic<Int>(0)
    /// The last `writeTimesMax` epoch write durations (ms), a ring: bounded whatever the uptime.
    private let writeTimes = Mutex<(values: [Double], next: Int)>(([], 0))
    static let writeTimesMax = 4096

    /// Raises `bufferedBytesPeak` to the current `bufferedBytes` (ingest thread).
    func notePeakBufferedBytes() {
        let now = bufferedBytes.load(ordering: .relaxed)
        if now > bufferedBytesPeak.load(ordering: .relaxed) { bufferedBytesPeak.store(now, ordering: .relaxed) }
    }

    func recordWrite(_ d: Duration) {
        let ms = d.inMilliseconds
        writeTimes.withLock { w in
            if w.values.count < Self.writeTimesMax {
                w.values.append(ms)
            } else {
                w.values[w.next] = ms
                w.next = (w.next + 1) % Self.writeTimesMax
            }
        }
    }

    /// p50, p99 and max of the recent epoch write times (ms); nil before the first write.
    func writeTimePercentiles() -> (p50: Double, p99: Double, max: Double)? {
        let sorted = writeTimes.withLock { $0.values }.sorted()
        guard let last = sorted.last else { return nil }
        func q(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        return (q(0.5), q(0.99), last)
    }
}

/// Where a shard sends what it could not count: the dead-letter topic (docs/ledger.md).
///
/// A dead letter Kafka refuses permanently (``KafkaError/isPermanent``: too large for the producer or
/// the broker, not authorized, a topic missing past the producer's bound, …) is not retried: the
/// refusal is appended to its `rejected_records.detail` (``withRefusal(_:_:)``), counted in
/// `PipelineGauges.deadLettersRefused` and logged once at error level, and its epoch commits.
final class DeadLetterSink: Sendable {
    let producer: KafkaProducer
    let suffix: String
    let logger: Logger
    let gauges: PipelineGauges
    /// `rejected_records.detail` stays within this many UTF-8 bytes once a refusal is appended.
    static let detailMaxBytes = 2048
    /// How many of the record's first value bytes a refusal quotes.
    static let quotedBytes = FailedRecord.prefixLength

    init(producer: KafkaProducer, suffix: String, logger: Logger, gauges: PipelineGauges) {
        self.producer = producer
        self.suffix = suffix
        self.logger = logger
        self.gauges = gauges
    }

    /// Enqueues a copy of the original record (key, value, headers) plus `traceledger-error` and
    /// `traceledger-source`. Delivery is confirmed by `flush` before the epoch commits.
    func send(_ message: KafkaMessage, topic: String, reason: RejectReason) throws(KafkaError) {
        let source = "\(topic)/\(message.partition)/\(message.offset)"
        var names: [String] = []
        var values: [UnsafeRawBufferPointer?] = []
        for i in 0..<message.headerCount {
            guard let h = message.header(at: i) else { continue }
            names.append(String(decoding: h.name, as: UTF8.self))
            values.append(h.value)
        }
        // The original value is lent to librdkafka, which copies it once (no copy of ours, even for a
        // too_large record).
        let reasonBytes = Array(reason.rawValue.utf8)
        let sourceBytes = Array(source.utf8)
        let result: Result<Void, KafkaError> = reasonBytes.withUnsafeBytes { r in
            sourceBytes.withUnsafeBytes { s in
                var headers: [KafkaHeader] = []
                headers.reserveCapacity(names.count + 2)
                for (n, v) in zip(names, values) { headers.append(KafkaHeader(name: n, value: v)) }
                headers.append(KafkaHeader(name: "traceledger-error", value: r))
                headers.append(KafkaHeader(name: "traceledger-source", value: s))
                do throws(KafkaError) {
                    try producer.produce(
                        topic: topic + suffix, key: message.key, value: message.valueIsNull ? nil : message.value,
                        headers: headers, timestampMilliseconds: message.timestamp?.milliseconds)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
        }
        try result.get()
    }
}

extension DeadLetterSink {
    /// The text a permanent refusal adds to the detail: the error, then the value's size and its first
    /// bytes, escaped (printable ASCII as is, `\\`, `\xHH` otherwise).
    static func refusal(_ error: KafkaError, valuePrefix: some Collection<UInt8>, valueLength: Int) -> String {
        var quoted = ""
        for b in valuePrefix.prefix(quotedBytes) {
            switch b {
            case UInt8(ascii: "\\"): quoted += "\\\\"
            case 0x20..<0x7F: quoted.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789abcdef".utf8)
                quoted += "\\x" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
            }
        }
        let more = valueLength > quotedBytes ? "…" : ""
        return "dead letter refused permanently by Kafka (\(error.code)): \(error.message); value \(valueLength) bytes, first: \"\(quoted)\"\(more)"
    }

    /// `detail` with `refusal` appended, within ``detailMaxBytes`` (the original detail is shortened
    /// first, then the refusal).
    static func withRefusal(_ detail: String, _ refusal: String) -> String {
        let separator = "; "
        let room = max(0, detailMaxBytes - refusal.utf8.count - separator.utf8.count)
        return prefix(prefix(detail, utf8Bytes: room) + separator + refusal, utf8Bytes: detailMaxBytes)
    }

    /// The longest prefix of `s` within `n` UTF-8 bytes that ends on a Unicode scalar boundary.
    static func prefix(_ s: String, utf8Bytes n: Int) -> String {
        guard s.utf8.count > n else { return s }
        var end = s.utf8.index(s.utf8.startIndex, offsetBy: n)
        // Back off continuation bytes (10xxxxxx) to the start of the scalar cut in two.
        while end > s.utf8.startIndex, s.utf8[end] & 0xC0 == 0x80 { s.utf8.formIndex(before: &end) }
        return String(decoding: s.utf8[..<end], as: UTF8.self)
    }

    /// Counts and logs (once, at error level) a dead letter Kafka refused permanently.
    func noteRefused(source: String, error: KafkaError) {
        gauges.deadLettersRefused.add(1, ordering: .relaxed)
        gauges.metrics.deadLettersRefused.increment()
        logger.error(
            "dead letter refused permanently; not retried, the refusal is recorded in rejected_records.detail",
            metadata: ["source": "\(source)", "dlq_topic": "\(error.topic ?? "")", "error": "\(error)"])
    }

    /// The copy `send` would have produced, owning its bytes: kept with its epoch when a produce call
    /// failed, so that the writer produces it before that epoch commits (rare, so copying is fine).
    func copy(of message: KafkaMessage, topic: String, reason: RejectReason) -> OwnedRecord {
        var headers: [(name: String, value: [UInt8])] = []
        for i in 0..<message.headerCount {
            guard let h = message.header(at: i) else { continue }
            headers.append((String(decoding: h.name, as: UTF8.self), h.value.map { Array($0) } ?? []))
        }
        headers.append(("traceledger-error", Array(reason.rawValue.utf8)))
        headers.append(("traceledger-source", Array("\(topic)/\(message.partition)/\(message.offset)".utf8)))
        return OwnedRecord(
            topic: topic + suffix, key: message.key.map { Array($0) }, value: message.valueIsNull ? nil : Array(message.value),
            headers: headers, timestampMilliseconds: message.timestamp?.milliseconds)
    }
}

/// What every shard shares: configuration and the hand-off points.
struct ShardEnvironment: Sendable {
    var catalogSource: PriceCatalogSource
    var limits: RecordLimits
    var jsonTopics: Set<String>
    var deadLetters: DeadLetterSink
    var assembler: EpochAssembler
    var gauges: PipelineGauges
    var logger: Logger
}

/// One shard: decodes, prices and folds the records routed to it, and hands its delta over at each
/// seal. Its state lives in one task (`run`), touched by nothing else; it reads its messages from one
/// FIFO stream. It never blocks: a dead-letter produce only enqueues (librdkafka copies).
struct Shard: Sendable {
    let index: Int
    let messages: AsyncStream<ShardMessage>
    let environment: ShardEnvironment

    func run() async {
        let env = environment
        var (catalog, version) = (env.catalogSource.current, env.catalogSource.version)
        var processor = RecordProcessor(pricer: SpanPricer(catalog: catalog), limits: env.limits)
        var delta = EpochDelta()
        var deadLetterRetries: [OwnedRecord] = []
        let contentType: StaticString = "application/json"
        for await message in messages {
            switch message {
            case .records(let batch, let indices, let held):
                if let (c, v) = env.catalogSource.currentIfChanged(since: version) {
                    catalog = c
                    version = v
                    processor.pricer.use(catalog)
                }
                processor.limits.recordTimeCeilingUnixMillis = IngestLoop.recordTimeCeiling(
                    skew: .nanoseconds(env.limits.maxFutureSkewNanos))
                var spans = 0
                let rowsBefore = delta.openRowCount
                for i in indices {
                    let m = batch[Int(i)]
                    let topic = m.topic
                    var isJSON = !env.jsonTopics.isEmpty && env.jsonTopics.contains(topic)
                    if let ct = m.header("content-type"), hasPrefix(ct, contentType) { isJSON = true }
                    let view = RecordView(
                        topic: topic, partition: m.partition, offset: m.offset,
                        timestampUnixMillis: m.timestamp?.milliseconds ?? 0, value: m.value, isJSON: isJSON,
                        traceparent: m.header("traceparent"), baggage: m.header("baggage"),
                        tracestate: m.header("tracestate"))
                    switch processor.process(view, into: &delta) {
                    case .counted(let n):
                        spans += n
                    case .rejected(let reason):
                        env.gauges.rejectedTotal.add(1, ordering: .relaxed)
                        deadLetter(m, topic: topic, reason: reason, delta: &delta, retries: &deadLetterRetries)
                    }
                }
                env.gauges.openSpans.add(spans, ordering: .relaxed)
                env.gauges.openRows.add(delta.openRowCount - rowsBefore, ordering: .relaxed)
                env.gauges.spansTotal.add(spans, ordering: .relaxed)
                env.gauges.recordsTotal.add(indices.count, ordering: .relaxed)
                env.gauges.queuedRecords.subtract(indices.count, ordering: .relaxed)
                // The batch's bytes leave the budget when the last shard holding it is done.
                withExtendedLifetime(held) {}
            case .seal(let epochID, let generation):
                env.assembler.shardDelivered(
                    epochID: epochID, generation: generation, shard: index, delta: delta, deadLetterRetries: deadLetterRetries)
                delta = EpochDelta()
                deadLetterRetries = []
            case .discard:
                delta = EpochDelta()
                deadLetterRetries = []
            case .reject(let batch, let i, let reason, let detail, let held):
                let m = batch[Int(i)]
                let topic = m.topic
                delta.rejected.append(
                    RejectedRecord(
                        topic: topic, partition: m.partition, offset: m.offset, reason: reason, detail: detail,
                        sizeBytes: Int64(m.value.count), recordTimeUnixMillis: m.timestamp?.milliseconds ?? 0))
                delta.counters.recordsRejected += 1
                env.gauges.rejectedTotal.add(1, ordering: .relaxed)
                env.gauges.recordsTotal.add(1, ordering: .relaxed)
                env.gauges.queuedRecords.subtract(1, ordering: .relaxed)
                deadLetter(m, topic: topic, reason: reason, delta: &delta, retries: &deadLetterRetries)
                withExtendedLifetime(held) {}
            }
        }
    }
}

extension Shard {
    /// Sends the dead-letter copy of a record just rejected into `delta`. A copy Kafka refuses for good
    /// (e.g. over message.max.bytes) is not kept: the refusal goes into the record's rejected row. Any
    /// other failure keeps an owned copy with the epoch: the writer produces it before the epoch commits.
    func deadLetter(
        _ m: KafkaMessage, topic: String, reason: RejectReason, delta: inout EpochDelta, retries: inout [OwnedRecord]
    ) {
        let env = environment
        do {
            try env.deadLetters.send(m, topic: topic, reason: reason)
        } catch let error where error.isPermanent {
            let refusal = DeadLetterSink.refusal(error, valuePrefix: m.value, valueLength: m.value.count)
            if let r = delta.rejected.lastIndex(where: { $0.offset == m.offset && $0.partition == m.partition && $0.topic == topic }) {
                delta.rejected[r].detail = DeadLetterSink.withRefusal(delta.rejected[r].detail, refusal)
            }
            env.deadLetters.noteRefused(source: "\(topic)/\(m.partition)/\(m.offset)", error: error)
        } catch {
            env.logger.warning(
                "dead-letter produce failed; the writer retries it before commit",
                metadata: ["source": "\(topic)/\(m.partition)/\(m.offset)", "error": "\(error)"])
            retries.append(env.deadLetters.copy(of: m, topic: topic, reason: reason))
        }
    }
}

func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
    guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
    return prefix.withUTF8Buffer { p in
        for i in 0..<p.count where bytes[i] | 0x20 != p[i] | 0x20 { return false }
        return true
    }
}
