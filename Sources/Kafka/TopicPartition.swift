internal import CRdKafka

/// A partition of a topic. A plain `Sendable` value.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}

/// Special offsets librdkafka understands where an offset is expected (rdkafka.h:3544).
public enum KafkaOffset {
    /// The log start of the partition (`RD_KAFKA_OFFSET_BEGINNING`).
    public static let beginning: Int64 = -2
    /// The high watermark: only records produced from now on (`RD_KAFKA_OFFSET_END`).
    public static let end: Int64 = -1

    /// An offset for people: the number itself, or the name of librdkafka's logical offsets
    /// (`earliest` −2, `latest` −1, `stored` −1000, `invalid` −1001), never a bare `-2` in a log line.
    public static func name(_ offset: Int64) -> String {
        switch offset {
        case beginning: return "earliest"
        case end: return "latest"
        case -1000: return "stored"
        case -1001: return "invalid"
        default: return String(offset)
        }
    }
}

/// Owns one `rd_kafka_topic_partition_list_t` (freed in `deinit`). Internal to the C fence.
final class PartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        // Ownership: ours until deinit.
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: max(capacity, 1)))
    }

    convenience init(_ partitions: some Collection<TopicPartition>) {
        self.init(capacity: partitions.count)
        for tp in partitions { add(tp) }
    }

    convenience init(offsets: some Collection<(TopicPartition, Int64)>) {
        self.init(capacity: offsets.count)
        for (tp, offset) in offsets { add(tp).pointee.offset = offset }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    @discardableResult
    func add(_ tp: TopicPartition) -> UnsafeMutablePointer<rd_kafka_topic_partition_t> {
        rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)
    }

    /// Elements of a list librdkafka owns or we own; valid while the list lives.
    static func elements(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?)
        -> UnsafeMutableBufferPointer<rd_kafka_topic_partition_t>
    {
        guard let list, let elems = list.pointee.elems, list.pointee.cnt > 0 else {
            return UnsafeMutableBufferPointer(start: nil, count: 0)
        }
        return UnsafeMutableBufferPointer(start: elems, count: Int(list.pointee.cnt))
    }

    static func topicPartitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?)
        -> [TopicPartition]
    {
        elements(list).map { TopicPartition(topic: String(cString: $0.topic), partition: $0.partition) }
    }

    /// The first per-partition error in the list, if any.
    func firstError(context: String, ignoring ignored: KafkaError.Code = .noError) -> KafkaError? {
        for e in Self.elements(pointer) where e.err != RD_KAFKA_RESP_ERR_NO_ERROR && e.err.rawValue != ignored.rawValue {
            return KafkaError(
                e.err, context: context, topic: String(cString: e.topic), partition: e.partition,
                offset: e.offset)
        }
        return nil
    }
}
