import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Logging
import Pricing
import Synchronization

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
