internal import CRdKafka

/// An error from librdkafka or from this wrapper, with the context it happened in.
///
/// Guarantees: a plain `Sendable` value (no C pointer inside); `code` is librdkafka's
/// `rd_kafka_resp_err_t` value, so every librdkafka error maps to a `Code` without loss.
/// `isRetriable`/`isFatal` are librdkafka's own verdicts when it gave one (`rd_kafka_error_t`),
/// else a fixed table of codes librdkafka documents as transient. `isPermanent` says a produce that
/// failed this way can never succeed however often it is retried (see ``Code/isPermanentRefusal``).
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka's error code (`rd_kafka_resp_err_t`). Negative codes are librdkafka-internal
    /// (`_TIMED_OUT`, `_PARTITION_EOF`, …), positive ones are Kafka protocol errors.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let noError = Code(rawValue: 0)
        public static let badMessage = Code(rawValue: -199)
        public static let destroy = Code(rawValue: -197)
        public static let fail = Code(rawValue: -196)
        public static let transport = Code(rawValue: -195)
        public static let msgTimedOut = Code(rawValue: -192)
        public static let partitionEOF = Code(rawValue: -191)
        public static let unknownPartition = Code(rawValue: -190)
        public static let unknownTopic = Code(rawValue: -188)
        public static let allBrokersDown = Code(rawValue: -187)
        public static let invalidArgument = Code(rawValue: -186)
        public static let timedOut = Code(rawValue: -185)
        public static let queueFull = Code(rawValue: -184)
        public static let state = Code(rawValue: -172)
        public static let inProgress = Code(rawValue: -178)
        public static let revokePartitions = Code(rawValue: -174)
        public static let assignPartitions = Code(rawValue: -175)
        public static let noOffset = Code(rawValue: -168)
        public static let fatal = Code(rawValue: -150)
        public static let maxPollExceeded = Code(rawValue: -147)
        /// `auto.offset.reset=error` and the fetch offset is out of range (the message says why).
        public static let autoOffsetReset = Code(rawValue: -140)
        public static let unknown = Code(rawValue: -1)
        public static let offsetOutOfRange = Code(rawValue: 1)
        /// `INVALID_MSG` (`CORRUPT_MESSAGE`): CRC mismatch, null key on a compacted topic, …
        public static let invalidMessage = Code(rawValue: 2)
        public static let unknownTopicOrPartition = Code(rawValue: 3)
        public static let messageSizeTooLarge = Code(rawValue: 10)
        public static let invalidTopic = Code(rawValue: 17)
        public static let recordListTooLarge = Code(rawValue: 18)
        public static let notEnoughReplicas = Code(rawValue: 19)
        public static let clusterAuthorizationFailed = Code(rawValue: 31)
        public static let invalidTimestamp = Code(rawValue: 32)
        public static let unsupportedForMessageFormat = Code(rawValue: 43)
        public static let policyViolation = Code(rawValue: 44)
        public static let leaderNotAvailable = Code(rawValue: 5)
        public static let notLeaderForPartition = Code(rawValue: 6)
        public static let requestTimedOut = Code(rawValue: 7)
        public static let notCoordinator = Code(rawValue: 16)
        public static let illegalGeneration = Code(rawValue: 22)
        public static let unknownMemberID = Code(rawValue: 25)
        public static let rebalanceInProgress = Code(rawValue: 27)
        public static let topicAuthorizationFailed = Code(rawValue: 29)
        public static let invalidRecord = Code(rawValue: 87)

        /// librdkafka's symbolic name without the `RD_KAFKA_RESP_ERR_` prefix (e.g. `_PARTITION_EOF`).
        public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue))) }
        /// librdkafka's human-readable description.
        public var summary: String { String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: rawValue))) }
        public var description: String { "\(name)(\(rawValue))" }

        /// Codes librdkafka retries internally or documents as transient.
        var isRetriableByTable: Bool {
            switch self {
            case .transport, .allBrokersDown, .timedOut, .queueFull, .msgTimedOut, .leaderNotAvailable,
                .notLeaderForPartition, .requestTimedOut, .notCoordinator, .rebalanceInProgress:
                return true
            default:
                return false
            }
        }

        /// A produce refused this way fails the same way every time, whatever the retries: the record
        /// (size, contents, timestamp) or the topic (authorization, name, policy) is refused, not the
        /// moment. Unknown topics are not in this table: a topic can be created, so the producer makes
        /// them permanent only after a bound (``KafkaProducerConfiguration/unknownTopicGrace``).
        public var isPermanentRefusal: Bool {
            switch self {
            case .messageSizeTooLarge, .recordListTooLarge, .invalidMessage, .invalidRecord, .invalidTimestamp,
                .topicAuthorizationFailed, .clusterAuthorizationFailed, .invalidTopic, .policyViolation,
                .unsupportedForMessageFormat:
                return true
            default:
                return false
            }
        }

        /// The topic (or an explicitly chosen partition) does not exist, per the broker or librdkafka.
        public var isUnknownTopic: Bool {
            self == .unknownTopicOrPartition || self == .unknownTopic || self == .unknownPartition
        }

        init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }
        var c: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }
    }

    public var code: Code
    /// What failed, in words (librdkafka's error string when there is one).
    public var message: String
    public var topic: String?
    public var partition: Int32?
    public var offset: Int64?
    /// librdkafka says retrying the same operation may succeed.
    public var isRetriable: Bool
    /// librdkafka says the client instance is unusable (only with idempotence/transactions, or `_FATAL`).
    public var isFatal: Bool
    /// Retrying the same produce can never succeed: don't (``Code/isPermanentRefusal``, or an unknown
    /// topic past the producer's bound). Not part of equality.
    public var isPermanent: Bool
    public var file: String
    public var line: Int

    public init(
        code: Code, message: String, topic: String? = nil, partition: Int32? = nil, offset: Int64? = nil,
        isRetriable: Bool? = nil, isFatal: Bool? = nil, isPermanent: Bool? = nil, file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.isRetriable = isRetriable ?? code.isRetriableByTable
        self.isFatal = isFatal ?? (code == .fatal)
        self.isPermanent = isPermanent ?? code.isPermanentRefusal
        self.file = file
        self.line = line
    }

    public var description: String {
        var s = "KafkaError.\(code): \(message)"
        if isPermanent { s += " (permanent)" }
        if let topic { s += " topic=\(topic)" }
        if let partition { s += " partition=\(partition)" }
        if let offset { s += " offset=\(offset)" }
        return s
    }

    /// Equality ignores `file`/`line` so that tests can compare errors by what happened.
    public static func == (a: KafkaError, b: KafkaError) -> Bool {
        a.code == b.code && a.message == b.message && a.topic == b.topic && a.partition == b.partition
            && a.offset == b.offset
    }
    public func hash(into h: inout Hasher) {
        h.combine(code)
        h.combine(topic)
        h.combine(partition)
        h.combine(offset)
    }

    /// From a bare response code, with librdkafka's description as the message.
    init(
        _ err: rd_kafka_resp_err_t, context: String, topic: String? = nil, partition: Int32? = nil,
        offset: Int64? = nil, file: String = #fileID, line: Int = #line
    ) {
        let code = Code(err)
        self.init(
            code: code, message: "\(context): \(code.summary)", topic: topic, partition: partition,
            offset: offset, file: file, line: line)
    }

    /// From an `rd_kafka_error_t`, which this initializer destroys (ownership moves in).
    init(consuming error: OpaquePointer, context: String, file: String = #fileID, line: Int = #line) {
        let code = Code(rd_kafka_error_code(error))
        let text = rd_kafka_error_string(error).map { String(cString: $0) } ?? code.summary
        let retriable = rd_kafka_error_is_retriable(error) != 0
        let fatal = rd_kafka_error_is_fatal(error) != 0
        rd_kafka_error_destroy(error)
        self.init(
            code: code, message: "\(context): \(text)", isRetriable: retriable || code.isRetriableByTable,
            isFatal: fatal, file: file, line: line)
    }
}
