internal import CRdKafka
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// librdkafka's in-memory mock Kafka cluster (`rdkafka_mock.h`, experimental API): brokers listening
/// on 127.0.0.1 random ports, reachable from this and other processes while this object lives.
///
/// Guarantees:
/// - Ownership: owns a private `rd_kafka_t` (that the mock requires to outlive it) and the cluster;
///   `deinit` destroys the cluster first, then the handle. All state dies with the object.
/// - Thread: every method may be called from any thread (the mock API hands each call to the
///   cluster's own thread and waits for it).
/// - Limits (librdkafka 2.0.2): no topic deletion; about 5 MiB / 100000 batches kept per partition;
///   `offsetsForTimes` is not served; a later join/leave rebalances after `session.timeout.ms − 1000`
///   every time (a real broker ends the join phase once every member has rejoined), so a rebalance costs
///   ~5 s with a 6 s session and a crashed member ~11 s (its session, then that window); a member whose
///   session runs out after the leader was elected is still given partitions, which wait one more round;
///   while a JoinGroup is pending, the member's other requests on that connection (OffsetCommit) wait and
///   are then answered for the new generation; a second JoinGroup/SyncGroup of a member while the first
///   is held aborts the process (Assertion `!member->resp`).
public final class MockKafkaCluster: @unchecked Sendable {
    // Safe (@unchecked): the mock API is thread-safe; the pointers are immutable.
    private let rk: OpaquePointer
    private let cluster: OpaquePointer
    private let sink: MockLogSink

    /// Kafka protocol API keys, for ``pushRequestErrors(_:_:)``.
    public struct APIKey: Hashable, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let produce = APIKey(rawValue: 0)
        public static let fetch = APIKey(rawValue: 1)
        public static let listOffsets = APIKey(rawValue: 2)
        public static let metadata = APIKey(rawValue: 3)
        public static let offsetCommit = APIKey(rawValue: 8)
        public static let offsetFetch = APIKey(rawValue: 9)
        public static let findCoordinator = APIKey(rawValue: 10)
        public static let joinGroup = APIKey(rawValue: 11)
        public static let heartbeat = APIKey(rawValue: 12)
        public static let leaveGroup = APIKey(rawValue: 13)
        public static let syncGroup = APIKey(rawValue: 14)
    }

    /// Starts `brokers` brokers (ids 1...brokers). The environment variable `TRACELEDGER_MOCK_DEBUG`
    /// (librdkafka `debug` contexts, e.g. `mock`) makes the mock log its group coordinator's decisions
    /// (member timeouts, state changes, leader elections) at debug level, for post-mortems of chaos runs.
    public init(brokers: Int, logger: Logger) throws(KafkaError) {
        guard brokers >= 1 && brokers <= 64 else {
            throw KafkaError(code: .invalidArgument, message: "mock cluster brokers \(brokers) out of 1...64")
        }
        let sink = MockLogSink(logger: logger)
        var properties: [String: String] = [:]
        if let debug = getenv("TRACELEDGER_MOCK_DEBUG"), debug.pointee != 0 { properties["debug"] = String(cString: debug) }
        let rk = try makeHandle(
            type: RD_KAFKA_PRODUCER, properties: properties, opaque: Unmanaged.passUnretained(sink).toOpaque()
        ) { _ in }
        guard let cluster = rd_kafka_mock_cluster_new(rk, Int32(brokers)) else {
            rd_kafka_destroy(rk)
            throw KafkaError(code: .fail, message: "rd_kafka_mock_cluster_new failed")
        }
        self.rk = rk
        self.cluster = cluster
        self.sink = sink
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(rk)
    }

    /// `bootstrap.servers` for clients: `127.0.0.1:port,…`.
    public var bootstrapServers: String { String(cString: rd_kafka_mock_cluster_bootstraps(cluster)) }

    /// Creates a topic (an existing one is an error).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        guard partitions >= 1 && partitions <= 10_000 else {
            throw KafkaError(code: .invalidArgument, message: "partitions \(partitions) out of 1...10000", topic: name)
        }
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "mock topic create", topic: name) }
    }

    /// Takes broker `id` down (-1 = all). Does not move partition leaders.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_down(cluster, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "mock broker down \(id)") }
    }

    /// Brings broker `id` back up (-1 = all).
    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_up(cluster, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "mock broker up \(id)") }
    }

    /// Sets the leader of a partition (-1 = no leader).
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, context: "mock partition leader", topic: topic, partition: partition)
        }
    }

    /// Makes the next `errors.count` requests of `apiKey` (any broker) fail with these codes, in order.
    /// `.transport` disconnects instead of answering.
    public func pushRequestErrors(_ apiKey: APIKey, _ errors: [KafkaError.Code]) {
        let codes = errors.map { $0.c }
        codes.withUnsafeBufferPointer { buf in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey.rawValue, buf.count, buf.baseAddress)
        }
    }

    /// Adds `milliseconds` of round-trip time to every response of broker `id` (-1 = all; 0 removes it).
    public func setBrokerRTT(_ id: Int32, milliseconds: Int) throws(KafkaError) {
        guard (0...60_000).contains(milliseconds) else {
            throw KafkaError(code: .invalidArgument, message: "mock broker rtt \(milliseconds) ms out of 0...60000")
        }
        let err = rd_kafka_mock_broker_set_rtt(cluster, id, Int32(milliseconds))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "mock broker rtt \(id)") }
    }

    /// Makes broker `id` the coordinator of `kind` (`group` or `transaction`) `key`.
    public func setCoordinator(kind: String, key: String, broker id: Int32) throws(KafkaError) {
        guard kind == "group" || kind == "transaction" else {
            throw KafkaError(code: .invalidArgument, message: "mock coordinator kind \(kind): expected group or transaction")
        }
        let err = rd_kafka_mock_coordinator_set(cluster, kind, key, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "mock coordinator \(kind) \(key) → \(id)") }
    }

    /// Forgets errors pushed for `apiKey`.
    public func clearRequestErrors(_ apiKey: APIKey) {
        rd_kafka_mock_clear_request_errors(cluster, apiKey.rawValue)
    }
}

final class MockLogSink: RDKafkaLogSink {
    let logger: Logger
    let brokerNoise = BrokerNoise()
    init(logger: Logger) { self.logger = logger }
}
