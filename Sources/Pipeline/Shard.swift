import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Logging
import Pricing
import Synchronization

/// One shard: decodes, prices and folds the records routed to it, and hands its delta over at each
/// seal. Its state lives in one task (`run`), touched by nothing else; it reads its messages from one
/// FIFO stream. It never blocks: a dead-letter produce only enqueues (librdkafka copies). It yields its
/// cooperative thread after each batch, so other tasks (HTTP handlers, timers) run under full load.
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
                    let headers = RecordHeaders(m)
                    if let ct = headers.contentType, hasPrefix(ct, contentType) { isJSON = true }
                    let view = RecordView(
                        topic: topic, partition: m.partition, offset: m.offset,
                        timestampUnixMillis: m.timestamp?.milliseconds ?? 0, value: m.value, isJSON: isJSON,
                        traceparent: headers.traceparent, baggage: headers.baggage, tracestate: headers.tracestate)
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
                // Let other tasks have this thread between batches: `for await` does not suspend while
                // the stream holds messages, so under load the shards held every cooperative thread and
                // HTTP handlers (/healthz, /metrics) waited for seconds (session 15).
                await Task.yield()
            case .seal(let epochID, let generation):
                let next = EpochDelta(sizedLike: delta, maxRowsPerMap: env.maxSpansPerEpoch)
                env.assembler.shardDelivered(
                    epochID: epochID, generation: generation, shard: index, delta: delta, deadLetterRetries: deadLetterRetries)
                delta = next
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
