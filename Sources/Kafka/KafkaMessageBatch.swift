internal import CRdKafka
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Kafka timestamp of a record.
public struct KafkaTimestamp: Hashable, Sendable {
    public enum Kind: Sendable, Hashable {
        /// Set by the producer (`CreateTime`).
        case createTime
        /// Set by the broker when it appended the record (`LogAppendTime`).
        case logAppendTime
    }

    /// Milliseconds since the Unix epoch, UTC.
    public var milliseconds: Int64
    public var kind: Kind

    public init(milliseconds: Int64, kind: Kind) {
        self.milliseconds = milliseconds
        self.kind = kind
    }
}

/// Records returned by one ``KafkaConsumer/poll(maxMessages:timeout:)``, owned by this object.
///
/// Guarantees:
/// - Ownership: the batch owns its librdkafka messages and destroys them in `deinit` (librdkafka's
///   `rd_kafka_message_destroy` is thread-safe, so the last reference may be dropped on any thread).
/// - Every byte view a ``KafkaMessage`` lends (value, key, header names and values) points into
///   librdkafka's memory and is valid **until this batch is released**, not longer. A `KafkaMessage`
///   keeps its batch alive, so a view is valid while you hold the message it came from.
/// - Immutable after creation, hence `Sendable`: shards may read disjoint or the same messages
///   concurrently.
/// - Holds no error messages: per-message errors are returned as events, `_PARTITION_EOF` is dropped.
/// - Topic names are made once per batch (one `String` per distinct topic), not once per record: a
///   name longer than 15 bytes would otherwise cost an allocation for every record that asks for it.
/// - Bounds: `count` ≤ the `maxMessages` passed to `poll`.
public final class KafkaMessageBatch: @unchecked Sendable, RandomAccessCollection {
    // Safe: immutable after init; librdkafka never touches a delivered message again until destroy.
    private let messages: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    public let count: Int
    /// The topic name of each message, by index; equal names share one `String` storage.
    private let topicNames: [String]

    /// Takes ownership of `messages[0..<count]` (all non-nil, all without error) and of the array.
    init(taking messages: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>, count: Int) {
        self.messages = messages
        self.count = count
        // A consumer has few topics: remember the topic handles seen in this batch (a short list) and
        // make each name once.
        var seen: [(handle: OpaquePointer, name: String)] = []
        var names: [String] = []
        names.reserveCapacity(count)
        for i in 0..<count {
            guard let handle = messages[i].unsafelyUnwrapped.pointee.rkt else {
                names.append("")
                continue
            }
            if let known = seen.first(where: { $0.handle == handle }) {
                names.append(known.name)
            } else {
                let name = String(cString: rd_kafka_topic_name(handle))
                seen.append((handle, name))
                names.append(name)
            }
        }
        self.topicNames = names
    }

    deinit {
        for i in 0..<count { rd_kafka_message_destroy(messages[i]) }
        messages.deallocate()
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> KafkaMessage {
        precondition(position >= 0 && position < count, "KafkaMessageBatch index \(position) out of 0..<\(count)")
        return KafkaMessage(batch: self, index: position)
    }

    fileprivate func message(_ i: Int) -> UnsafeMutablePointer<rd_kafka_message_t> {
        // Safe: the init contract says every slot below count is non-nil.
        messages[i].unsafelyUnwrapped
    }

    fileprivate func topicName(_ i: Int) -> String { topicNames[i] }
}

/// One record of a ``KafkaMessageBatch``: a view that keeps its batch alive.
///
/// Guarantees: reading fields does not allocate (``topic`` is the batch's `String` for the name).
/// Byte views (`UnsafeRawBufferPointer`) are valid while this message or its batch is alive; copy the
/// bytes to keep them longer.
public struct KafkaMessage: Sendable {
    public let batch: KafkaMessageBatch
    public let index: Int

    private var m: UnsafeMutablePointer<rd_kafka_message_t> { batch.message(index) }

    /// The topic name, made once per batch (see ``KafkaMessageBatch``).
    public var topic: String { batch.topicName(index) }
    public var partition: Int32 { m.pointee.partition }
    public var offset: Int64 { m.pointee.offset }
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// The value bytes (empty for a null value). Valid while the batch lives.
    public var value: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: m.pointee.payload, count: m.pointee.payload == nil ? 0 : m.pointee.len)
    }

    /// Whether the record's value is null (a tombstone), as opposed to empty.
    public var valueIsNull: Bool { m.pointee.payload == nil }

    /// The key bytes, nil for a null key. Valid while the batch lives.
    public var key: UnsafeRawBufferPointer? {
        guard let k = m.pointee.key else { return nil }
        return UnsafeRawBufferPointer(start: k, count: m.pointee.key_len)
    }

    /// Lends the value for the duration of `body`.
    public func withValue<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(batch) { () throws(E) -> R in try body(value) }
    }

    /// The record timestamp, nil when the record has none.
    public var timestamp: KafkaTimestamp? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ms = rd_kafka_message_timestamp(m, &type)
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: return KafkaTimestamp(milliseconds: ms, kind: .createTime)
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: return KafkaTimestamp(milliseconds: ms, kind: .logAppendTime)
        default: return nil
        }
    }

    private var headers: OpaquePointer? {
        var h: OpaquePointer? = nil
        // Parses the headers once per message (librdkafka caches them on the message).
        guard rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return h
    }

    /// The value of the LAST header named `name`, nil if there is none; an empty buffer for a header
    /// with a null or empty value. Does not allocate for native Swift strings (literals included).
    public func header(_ name: String) -> UnsafeRawBufferPointer? {
        guard let h = headers else { return nil }
        var value: UnsafeRawPointer? = nil
        var size = 0
        let err = name.withCString { rd_kafka_header_get_last(h, $0, &value, &size) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : size)
    }

    /// Calls `body` once per header, in record order, with its name bytes (no NUL) and its value (an
    /// empty buffer with a nil base for a null value, as ``header(_:)`` gives). One pass over the
    /// headers, however many names the caller looks for; does not allocate.
    public func forEachHeader(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        guard let h = headers else { return }
        var i = 0
        while true {
            var name: UnsafePointer<CChar>? = nil
            var value: UnsafeRawPointer? = nil
            var size = 0
            guard rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
            if let name {
                body(
                    UnsafeRawBufferPointer(start: name, count: strlen(name)),
                    UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : size))
            }
            i += 1
        }
    }

    /// Number of headers (duplicates counted).
    public var headerCount: Int {
        guard let h = headers else { return 0 }
        return rd_kafka_header_cnt(h)
    }

    /// The header at `i` in record order: its name bytes (no NUL) and value (nil for a null value).
    public func header(at i: Int) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)? {
        guard let h = headers else { return nil }
        var name: UnsafePointer<CChar>? = nil
        var value: UnsafeRawPointer? = nil
        var size = 0
        guard rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let name else {
            return nil
        }
        let nameBytes = UnsafeRawBufferPointer(start: name, count: strlen(name))
        return (nameBytes, value.map { UnsafeRawBufferPointer(start: $0, count: size) })
    }
}
