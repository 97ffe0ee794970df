internal import CRdKafka
public import Logging
import Synchronization

/// What a ``KafkaProducer`` needs. A plain `Sendable` value.
public struct KafkaProducerConfiguration: Sendable {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String
    /// librdkafka properties, passed through untouched (e.g. `compression.codec=lz4`, `linger.ms`);
    /// they override ``defaultProperties``.
    public var properties: [String: String]
    /// How long `produce` keeps polling and retrying while librdkafka's queue is full before it throws
    /// `QUEUE_FULL`.
    public var queueFullTimeout: Duration
    /// Keep an owned copy of every record whose delivery failed, for ``KafkaProducer/takeFailedRecords()``
    /// (the dead-letter producer re-produces them before the epoch they belong to commits). Off by
    /// default: a plain producer only counts failures.
    public var keepsFailedRecords = false
    /// How long a topic must have been reported unknown (`UNKNOWN_TOPIC_OR_PART`, `_UNKNOWN_TOPIC`,
    /// `_UNKNOWN_PARTITION`), with no delivery to it in between, before such a failure is permanent
    /// (``KafkaError/isPermanent``): a missing topic may be created meanwhile, a topic missing for
    /// this long is not coming. Both this and ``unknownTopicMinFailures`` must be reached.
    public var unknownTopicGrace: Duration = .seconds(120)
    /// How many unknown-topic failures (produce calls and delivery reports) the topic must have had
    /// since it was first reported unknown before one is permanent.
    public var unknownTopicMinFailures = 3

    /// `message.timeout.ms` lowered from librdkafka's 300000 so that a dead cluster fails a flush in a
    /// minute, not five.
    public static let defaultProperties: [String: String] = [
        "message.timeout.ms": "60000",
        "acks": "all",
    ]

    public init(
        bootstrapServers: String, properties: [String: String] = [:], queueFullTimeout: Duration = .seconds(60),
        keepsFailedRecords: Bool = false
    ) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.queueFullTimeout = queueFullTimeout
        self.keepsFailedRecords = keepsFailedRecords
    }

    /// Properties that bound the producer's memory: `queue.buffering.max.kbytes` (librdkafka's default
    /// is 1 GiB) is at least `minimumQueueKBytes` and holds two records of `message.max.bytes` (one
    /// record larger than the queue could never be enqueued: librdkafka would answer `QUEUE_FULL`
    /// forever); `queue.buffering.max.messages` 10000 (default 100000). A full queue is waited on by
    /// `produce` (backpressure), never dropped. Values already in `properties` win.
    public static func boundedQueue(
        _ properties: [String: String], minimumQueueKBytes: Int = 32 << 10
    ) -> [String: String] {
        var p = properties
        let messageMax = p["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000
        p["queue.buffering.max.kbytes"] =
            p["queue.buffering.max.kbytes"] ?? "\(min(2_147_483_647, max(minimumQueueKBytes, 2 * messageMax / 1024 + 1)))"
        p["queue.buffering.max.messages"] = p["queue.buffering.max.messages"] ?? "10000"
        return p
    }

    public var resolvedProperties: [String: String] {
        var p = Self.defaultProperties
        p["bootstrap.servers"] = bootstrapServers
        p.merge(properties) { _, new in new }
        return p
    }
}

/// A record to produce that owns its bytes (kept to be produced later, e.g. again after a failure).
public struct OwnedRecord: Sendable {
    public var topic: String
    public var key: [UInt8]?
    /// Nil for a null value.
    public var value: [UInt8]?
    public var headers: [(name: String, value: [UInt8])]
    /// Nil = the time of producing.
    public var timestampMilliseconds: Int64?

    public init(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [(name: String, value: [UInt8])],
        timestampMilliseconds: Int64?
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }
}

/// A record whose delivery failed, copied out of its delivery report: what to produce again, and why
/// it failed (with topic and partition).
///
/// Guarantees: when the failure is permanent (``KafkaError/isPermanent``) the value is not copied
/// (`record` is nil): only the key, the headers and the first ``prefixLength`` bytes of the value are
/// kept, enough to identify and describe a record that can never be delivered.
public struct FailedRecord: Sendable {
    /// How many value bytes `valuePrefix` keeps at most.
    public static let prefixLength = 256

    /// What to produce again; nil when the failure is permanent.
    public var record: OwnedRecord?
    public var topic: String
    public var key: [UInt8]?
    public var headers: [(name: String, value: [UInt8])]
    /// The value's first bytes (at most ``prefixLength``).
    public var valuePrefix: [UInt8]
    /// The value's size in bytes (0 for a null value).
    public var valueLength: Int
    public var error: KafkaError

    /// The last header of that name.
    public func header(_ name: String) -> [UInt8]? { headers.last(where: { $0.name == name })?.value }
}

/// A header to produce: a name and a borrowed value.
///
/// Guarantees: `value` is only read during the `produce` call it is passed to (librdkafka copies it),
/// so it may point into any buffer that outlives that call. A nil or empty value is produced as a null
/// header value.
public struct KafkaHeader {
    public var name: String
    public var value: UnsafeRawBufferPointer?

    public init(name: String, value: UnsafeRawBufferPointer?) {
        self.name = name
        self.value = value
    }
}

/// A Kafka producer over librdkafka.
///
/// Guarantees:
/// - Thread: every method may be called from any thread, concurrently (librdkafka's producer is
///   thread-safe); delivery reports are counted from whichever thread serves them (`produce`, `poll`,
///   `flush`), with atomics.
/// - Ownership: the librdkafka handle is private and destroyed in `deinit`, which drops (purges)
///   whatever was not flushed: call ``flush(timeout:)`` first.
/// - Copies: key, value and header bytes are copied by librdkafka (`RD_KAFKA_MSG_F_COPY`) before
///   `produce` returns; `produce` itself allocates nothing on the heap for up to a few headers.
/// - Delivery: each record's delivery report is checked; ``flush(timeout:)`` throws if a record is still
///   pending or if any delivery failed since the previous flush.
/// - Backpressure: when librdkafka's queue is full (`queue.buffering.max.messages`), `produce` serves
///   delivery reports and retries, for at most `queueFullTimeout`.
public final class KafkaProducer: Sendable {
    // Safe: rd_kafka_t is thread-safe for produce/poll/flush/outq_len.
    private nonisolated(unsafe) let rk: OpaquePointer
    private let state: ProducerState
    private let queueFullTimeout: Duration
    private let producedSincePoll = Atomic<Int>(0)

    /// - Throws: ``KafkaError`` `.invalidArgument` for a bad property.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        let state = ProducerState(
            logger: logger, keepsFailedRecords: configuration.keepsFailedRecords,
            unknownTopicBound: (configuration.unknownTopicGrace, configuration.unknownTopicMinFailures))
        self.rk = try makeHandle(
            type: RD_KAFKA_PRODUCER, properties: configuration.resolvedProperties,
            opaque: Unmanaged.passUnretained(state).toOpaque()
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { rk, message, opaque in
                guard let message, let opaque else { return }
                Unmanaged<ProducerState>.fromOpaque(opaque).takeUnretainedValue().delivered(message)
            }
        }
        self.state = state
        self.queueFullTimeout = configuration.queueFullTimeout
    }

    deinit {
        _ = rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        rd_kafka_poll(rk, 0)
        rd_kafka_destroy(rk)
    }

    /// Enqueues one record. `partition` nil lets librdkafka's partitioner choose (by key).
    /// `timestampMilliseconds` nil = now. Returns once librdkafka has copied the bytes.
    /// - Throws: ``KafkaError`` with the topic (and partition), e.g. `UNKNOWN_PARTITION`,
    ///   `MSG_SIZE_TOO_LARGE` (over `message.max.bytes`: permanent), or `QUEUE_FULL` after
    ///   `queueFullTimeout`.
    public func produce(
        topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: some Collection<KafkaHeader> = EmptyCollection<KafkaHeader>(), timestampMilliseconds: Int64? = nil
    ) throws(KafkaError) {
        let error: OpaquePointer? = withUnsafeTemporaryAllocation(
            of: rd_kafka_vu_t.self, capacity: 7 + headers.count
        ) { vus in
            topic.withCString { topicC in
                var n = 0
                vus[n] = rd_kafka_vu_t()
                vus[n].vtype = RD_KAFKA_VTYPE_TOPIC
                vus[n].u.cstr = topicC
                n += 1
                vus[n] = rd_kafka_vu_t()
                vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                vus[n].u.i = RD_KAFKA_MSG_F_COPY
                n += 1
                vus[n] = rd_kafka_vu_t()
                vus[n].vtype = RD_KAFKA_VTYPE_VALUE
                vus[n].u.mem.ptr = value.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
                vus[n].u.mem.size = vus[n].u.mem.ptr == nil ? 0 : value?.count ?? 0
                n += 1
                if let key {
                    vus[n] = rd_kafka_vu_t()
                    vus[n].vtype = RD_KAFKA_VTYPE_KEY
                    // An empty non-null key: point at the topic's bytes with size 0 (never read).
                    vus[n].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress ?? UnsafeRawPointer(topicC))
                    vus[n].u.mem.size = key.count
                    n += 1
                }
                if let partition {
                    vus[n] = rd_kafka_vu_t()
                    vus[n].vtype = RD_KAFKA_VTYPE_PARTITION
                    vus[n].u.i32 = partition
                    n += 1
                }
                if let timestampMilliseconds {
                    vus[n] = rd_kafka_vu_t()
                    vus[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP
                    vus[n].u.i64 = timestampMilliseconds
                    n += 1
                    // A failed delivery report has no timestamp; carry it in the message opaque.
                    vus[n] = rd_kafka_vu_t()
                    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE
                    vus[n].u.ptr = TimestampOpaque.encode(timestampMilliseconds)
                    n += 1
                }
                var it = headers.makeIterator()
                return addHeaders(&it, vus, n)
            }
        }
        if let error {
            var e = KafkaError(consuming: error, context: "produce")
            e.topic = topic
            e.partition = partition
            state.classify(&e, topic: topic)
            throw e
        }
        // Serve delivery reports now and then so their queue stays short without a poller thread.
        if producedSincePoll.wrappingAdd(1, ordering: .relaxed).newValue % 1024 == 0 {
            rd_kafka_poll(rk, 0)
        }
    }

    /// Recursion keeps each header name's C string alive (withCString) until produceva has run.
    private func addHeaders<I: IteratorProtocol<KafkaHeader>>(
        _ it: inout I, _ vus: UnsafeMutableBufferPointer<rd_kafka_vu_t>, _ n: Int
    ) -> OpaquePointer? {
        guard let h = it.next() else { return produceRetrying(UnsafeBufferPointer(rebasing: vus[0..<n])) }
        return h.name.withCString { nameC in
            vus[n] = rd_kafka_vu_t()
            vus[n].vtype = RD_KAFKA_VTYPE_HEADER
            vus[n].u.header.name = nameC
            if let v = h.value, let base = v.baseAddress, v.count > 0 {
                vus[n].u.header.val = base
                vus[n].u.header.size = v.count
            } else {
                vus[n].u.header.val = nil
                vus[n].u.header.size = 0
            }
            return addHeaders(&it, vus, n + 1)
        }
    }

    /// Returns an owned `rd_kafka_error_t` or nil.
    private func produceRetrying(_ vus: UnsafeBufferPointer<rd_kafka_vu_t>) -> OpaquePointer? {
        var deadline: ContinuousClock.Instant? = nil
        while true {
            // Counted before librdkafka has the record, so its report can never be served first.
            state.unreported.add(1, ordering: .relaxed)
            guard let error = rd_kafka_produceva(rk, vus.baseAddress, vus.count) else { return nil }
            state.unreported.subtract(1, ordering: .relaxed)
            guard rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL else { return error }
            let now = ContinuousClock.now
            if deadline == nil { deadline = now.advanced(by: queueFullTimeout) }
            if let deadline, now >= deadline { return error }
            rd_kafka_error_destroy(error)
            rd_kafka_poll(rk, 10)  // Serves delivery reports, which frees queue space.
        }
    }

    /// Convenience for tests and tools: byte arrays (one copy into librdkafka, as above); a nil value
    /// is produced as a null value.
    public func produce(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
        headers: [(name: String, value: [UInt8])] = [], timestampMilliseconds: Int64? = nil
    ) throws(KafkaError) {
        let result: Result<Void, KafkaError> = withBytes(value) { v in
            withBytes(key) { k in
                withHeaderViews(headers[...], []) { hs in
                    do throws(KafkaError) {
                        try produce(
                            topic: topic, partition: partition, key: k, value: v, headers: hs,
                            timestampMilliseconds: timestampMilliseconds)
                        return .success(())
                    } catch { return .failure(error) }
                }
            }
        }
        try result.get()
    }

    /// Produces an owned record (one copy into librdkafka, as above).
    public func produce(_ r: OwnedRecord) throws(KafkaError) {
        try produce(topic: r.topic, key: r.key, value: r.value, headers: r.headers, timestampMilliseconds: r.timestampMilliseconds)
    }

    /// Serves delivery reports for up to `timeout`. Returns the number of reports served.
    @discardableResult
    public func poll(timeout: Duration = .zero) -> Int {
        Int(rd_kafka_poll(rk, milliseconds(timeout)))
    }

    /// Records enqueued or in flight, not yet reported.
    public var pendingCount: Int { Int(rd_kafka_outq_len(rk)) }
    /// Records whose delivery succeeded, since creation.
    public var deliveredCount: Int { state.delivered.load(ordering: .relaxed) }
    /// Records whose delivery failed, since creation.
    public var failedCount: Int { state.failedTotal.load(ordering: .relaxed) }

    /// The records whose delivery failed since the last call, oldest first (empty unless
    /// ``KafkaProducerConfiguration/keepsFailedRecords``); a permanently refused one without its value
    /// (``FailedRecord``). A failure is listed here before it is counted
    /// by ``flush(timeout:)``, so after a flush that threw, this holds every record that flush saw fail.
    public func takeFailedRecords() -> [FailedRecord] { state.takeFailedRecords() }

    /// Waits up to `timeout` until every record is delivered or failed, serving delivery reports.
    /// - Throws: `_TIMED_OUT` if records are still pending (the message says how many), or the first
    ///   delivery failure since the previous `flush` (the message says how many failed); either way the
    ///   failure count is reset.
    public func flush(timeout: Duration) throws(KafkaError) {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var err = rd_kafka_flush(rk, milliseconds(timeout))
        // librdkafka's queue can be empty while another thread is still inside a delivery report it
        // took from it: wait until every report has been accounted for.
        while err == RD_KAFKA_RESP_ERR_NO_ERROR, state.unreported.load(ordering: .acquiring) > 0 {
            if ContinuousClock.now >= deadline {
                err = RD_KAFKA_RESP_ERR__TIMED_OUT
                break
            }
            rd_kafka_poll(rk, 1)
        }
        let failed = state.failedSinceFlush.exchange(0, ordering: .acquiringAndReleasing)
        let first = state.takeFirstFailure()
        if err == RD_KAFKA_RESP_ERR__TIMED_OUT {
            throw KafkaError(
                code: .timedOut, message: "flush: \(pendingCount) records still pending, \(failed) failed")
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "flush") }
        if failed > 0, var first {
            first.message = "flush: \(failed) deliveries failed since the last flush; first: \(first.message)"
            throw first
        }
    }
}

private func withBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

private func withHeaderViews<R>(
    _ rest: ArraySlice<(name: String, value: [UInt8])>, _ done: [KafkaHeader], _ body: ([KafkaHeader]) -> R
) -> R {
    guard let first = rest.first else { return body(done) }
    return first.value.withUnsafeBytes { v in
        withHeaderViews(rest.dropFirst(), done + [KafkaHeader(name: first.name, value: v)], body)
    }
}

/// A record's explicit timestamp carried in its message opaque (librdkafka reports no timestamp for a
/// failed delivery). Offset by one so that a timestamp of 0 is not a null pointer.
enum TimestampOpaque {
    static func encode(_ ms: Int64) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: Int(truncatingIfNeeded: ms) &+ 1) }
    static func decode(_ p: UnsafeMutableRawPointer?) -> Int64? { p.map { Int64(Int(bitPattern: $0) &- 1) } }
}

/// Delivery-report counters, updated from whichever thread serves reports.
final class ProducerState: RDKafkaLogSink, Sendable {
    let logger: Logger
    let brokerNoise = BrokerNoise()
    let delivered = Atomic<Int>(0)
    let failedTotal = Atomic<Int>(0)
    let failedSinceFlush = Atomic<Int>(0)
    /// Records handed to librdkafka whose delivery report has not been fully served yet.
    let unreported = Atomic<Int>(0)
    private let firstFailure = Mutex<KafkaError?>(nil)
    private let keepsFailedRecords: Bool
    private let failedRecords = Mutex<[FailedRecord]>([])
    /// Topics reported unknown and not delivered to since: when first, and how many failures.
    private let unknownTopics = Mutex<[String: (since: ContinuousClock.Instant, failures: Int)]>([:])
    /// `unknownTopics` is not empty (read on every successful delivery, so without the lock).
    private let anyUnknownTopic = Atomic<Bool>(false)
    private let unknownTopicBound: (grace: Duration, failures: Int)

    init(logger: Logger, keepsFailedRecords: Bool = false, unknownTopicBound: (Duration, Int) = (.seconds(120), 3)) {
        self.logger = logger
        self.keepsFailedRecords = keepsFailedRecords
        self.unknownTopicBound = unknownTopicBound
    }

    /// Sets `error.isPermanent` for an unknown topic once the topic has been unknown past the bound.
    func classify(_ error: inout KafkaError, topic: String?) {
        guard error.code.isUnknownTopic, let topic else { return }
        let now = ContinuousClock.now
        let entry = unknownTopics.withLock { t in
            var e = t[topic] ?? (now, 0)
            e.failures += 1
            t[topic] = e
            anyUnknownTopic.store(true, ordering: .relaxed)
            return e
        }
        if now - entry.since >= unknownTopicBound.grace && entry.failures >= unknownTopicBound.failures {
            error.isPermanent = true
            error.message += " (unknown for \(now - entry.since), \(entry.failures) failures)"
        }
    }

    func delivered(_ m: UnsafePointer<rd_kafka_message_t>) {
        defer { unreported.subtract(1, ordering: .releasing) }
        let err = m.pointee.err
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            delivered.add(1, ordering: .relaxed)
            if anyUnknownTopic.load(ordering: .relaxed), let rkt = m.pointee.rkt {
                let topic = String(cString: rd_kafka_topic_name(rkt))
                unknownTopics.withLock { t in
                    t[topic] = nil
                    anyUnknownTopic.store(!t.isEmpty, ordering: .relaxed)
                }
            }
            return
        }
        let topic = m.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
        var error = KafkaError(err, context: "delivery", topic: topic, partition: m.pointee.partition)
        classify(&error, topic: topic)
        if keepsFailedRecords {
            let record = Self.copy(m, topic: topic ?? "", error: error)
            failedRecords.withLock { $0.append(record) }
        }
        firstFailure.withLock { if $0 == nil { $0 = error } }
        failedTotal.add(1, ordering: .relaxed)
        failedSinceFlush.add(1, ordering: .releasing)
    }

    func takeFailedRecords() -> [FailedRecord] { failedRecords.withLock { f in defer { f = [] }; return f } }

    /// Owned copies of a reported message's key, value, headers and timestamp.
    private static func copy(_ m: UnsafePointer<rd_kafka_message_t>, topic: String, error: KafkaError) -> FailedRecord {
        func bytes(_ p: UnsafeMutableRawPointer?, _ n: Int) -> [UInt8]? {
            guard let p else { return nil }
            return Array(UnsafeRawBufferPointer(start: p, count: n))
        }
        var headers: [(name: String, value: [UInt8])] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var i = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let v = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append((name.map { String(cString: $0) } ?? "", v))
                i += 1
            }
        }
        let key = bytes(m.pointee.key, m.pointee.key_len)
        let length = m.pointee.payload == nil ? 0 : m.pointee.len
        let prefix = bytes(m.pointee.payload, min(length, FailedRecord.prefixLength)) ?? []
        // A record that can never be delivered keeps no copy of its value (it may be many MiB).
        let record = error.isPermanent
            ? nil
            : OwnedRecord(
                topic: topic, key: key, value: bytes(m.pointee.payload, m.pointee.len), headers: headers,
                timestampMilliseconds: TimestampOpaque.decode(m.pointee._private))
        return FailedRecord(
            record: record, topic: topic, key: key, headers: headers, valuePrefix: prefix, valueLength: length,
            error: error)
    }

    func takeFirstFailure() -> KafkaError? { firstFailure.withLock { f in defer { f = nil }; return f } }
}
