internal import CRdKafka
public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a ``KafkaConsumer`` needs to join a group. A plain `Sendable` value.
public struct KafkaConsumerConfiguration: Sendable {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String
    /// `group.id`.
    public var groupID: String
    /// Topics to subscribe to.
    public var topics: [String]
    /// librdkafka properties, passed through untouched; they override ``defaultProperties``.
    public var properties: [String: String]

    /// What this wrapper assumes unless `properties` says otherwise: cooperative rebalancing, offsets
    /// owned by the caller (nothing stored automatically; only what ``KafkaConsumer/storeOffsets(_:)``
    /// stores is committed, by librdkafka's timer), a new group reads from the beginning, no
    /// `_PARTITION_EOF` events, and a session short enough for a pool of workers.
    ///
    /// - `enable.auto.commit=true` with `enable.auto.offset.store=false`: librdkafka commits the offsets
    ///   the caller stored, every `auto.commit.interval.ms` (5 s), and its timer skips while the group is
    ///   rebalancing. An application commit sent during a rebalance queues behind the member's JoinGroup
    ///   on the coordinator connection, is answered ILLEGAL_GENERATION once the new generation exists, and
    ///   librdkafka < 2.10 then drops the member's whole assignment as lost and forces one more
    ///   rebalance round (librdkafka #4059, fixed by #4908). Nothing stored, nothing committed.
    /// - `session.timeout.ms=6000`, `heartbeat.interval.ms=1000`: a crashed member's partitions move after
    ///   ~6 s instead of librdkafka's 45 s default (KIP-735); 6 s is the lowest session a broker accepts by
    ///   default (`group.min.session.timeout.ms`). Heartbeats run on librdkafka's thread, so a busy
    ///   application does not miss them (`max.poll.interval.ms`, 300 s, bounds the time between polls).
    public static let defaultProperties: [String: String] = [
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.auto.commit": "true",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "earliest",
        "enable.partition.eof": "false",
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "1000",
    ]

    public init(bootstrapServers: String, groupID: String, topics: [String], properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.topics = topics
        self.properties = properties
    }

    /// Defaults, then the two required settings, then `properties` (which win).
    public var resolvedProperties: [String: String] {
        var p = Self.defaultProperties
        p["bootstrap.servers"] = bootstrapServers
        p["group.id"] = groupID
        p.merge(properties) { _, new in new }
        return p
    }
}

/// A partition with an offset (a start offset, a next offset to commit, a seek target).
public struct PartitionOffset: Hashable, Sendable, CustomStringConvertible {
    public var topicPartition: TopicPartition
    /// An offset ≥ 0 or one of ``KafkaOffset``'s special values.
    public var offset: Int64

    public init(_ topicPartition: TopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }

    public var description: String { "\(topicPartition)@\(KafkaOffset.name(offset))" }
}

/// Something that happened inside one ``KafkaConsumer/poll(maxMessages:timeout:)`` (or `close()`),
/// in the order it happened.
public enum KafkaConsumerEvent: Sendable, Hashable {
    /// Partitions were added to this consumer's assignment (incremental under cooperative-sticky; the
    /// whole assignment under an eager strategy), each starting at the offset shown, which is what the
    /// start-offset provider returned or ``KafkaOffset/beginning``. May be empty (librdkafka reports a
    /// join that brought nothing).
    case assigned([PartitionOffset])
    /// Partitions were taken away (already unassigned when you see this). `lost`: the group moved on
    /// without us (session timeout, `assignment lost`): another member may already own them, so work
    /// done for them since the last commit must not be written.
    case revoked([TopicPartition], lost: Bool)
    /// A non-fatal error: a per-record error (`OFFSET_OUT_OF_RANGE`, …, with topic/partition/offset),
    /// `__MAX_POLL_EXCEEDED`, a failed assign, or a broker-level error librdkafka reported. The consumer
    /// keeps working; `error.isFatal` errors are thrown instead.
    case error(KafkaError)
}

/// The result of one poll: events first (rebalances, errors), then the records.
public struct KafkaPollResult: Sendable {
    public var events: [KafkaConsumerEvent]
    /// Nil when no record arrived. Only records of partitions assigned when `poll` returned.
    public var messages: KafkaMessageBatch?

    public var messageCount: Int { messages?.count ?? 0 }
}

/// Chooses where each newly assigned partition starts: the offset of the next record to read, or nil
/// for the beginning of the log. ``KafkaOffset/end`` is resolved to the partition's high watermark
/// before assignment, so the ``KafkaConsumerEvent/assigned(_:)`` event carries the exact offset
/// consumption starts at (END is kept only when that query fails). Called on the polling thread,
/// inside librdkafka's rebalance callback, before `incremental_assign`, with every partition of one
/// assignment at once (one query for all).
/// It must not call the consumer. An offset outside the log (below the log start or past the end) is
/// handled by librdkafka's `auto.offset.reset`: `earliest` (our default) silently restarts at the log
/// start, so check ``KafkaConsumer/queryWatermarks(_:timeout:)`` first to detect a retention gap; `error`
/// delivers nothing for the partition and reports ``KafkaError/Code/autoOffsetReset`` (with topic,
/// partition and offset) as an ``KafkaConsumerEvent/error(_:)``.
public typealias StartOffsetProvider = @Sendable ([TopicPartition]) -> [TopicPartition: Int64]

/// A Kafka group consumer over librdkafka, driven by ONE thread the caller owns.
///
/// Guarantees and rules:
/// - Thread: the first thread that calls ``poll(maxMessages:timeout:)`` owns the consumer; `poll`,
///   `pause`, `resume`, `seek`, `commit` and `close` must all be called on it (checked with a
///   `precondition`: a violation is a programmer error). Rebalance callbacks run inside `poll`/`close` on
///   that same thread, so consumption never races our own pause/resume/seek/rebalance calls (the
///   librdkafka 2.0.x loss/duplication bug, librdkafka v2.0.0 CHANGELOG); records are taken one at a time
///   (see `poll`), since librdkafka's own thread restarts fetches too. Use a dedicated thread, never the cooperative pool: poll
///   blocks for up to its timeout. Only ``queryWatermarks(_:timeout:)``, ``nudgeFetcher(_:timeout:)``
///   and ``wakeUp()`` may be called from any thread.
/// - Ownership: the librdkafka handle is private to this object and destroyed in `deinit` (after
///   leaving the group if `close()` was not called), unless the group never gave it an assignment:
///   then it is left alive, closed (librdkafka 2.0.2 would abort the process; see `deinit`).
/// - Offsets: with the default configuration nothing is committed or stored automatically; `commit` only
///   reports progress (lag). Where to start is decided by the ``StartOffsetProvider``.
/// - Logs: librdkafka log lines go to the `Logger` given at init (from librdkafka's threads); nothing is
///   printed to stderr.
/// - Bounds: a poll returns at most `maxMessages` records (≤ 1,000,000) and blocks at most `timeout`
///   (plus the time the start-offset provider takes).
public final class KafkaConsumer: @unchecked Sendable {
    // Safe (@unchecked): the handle is thread-safe for the calls made off the owner thread
    // (rd_kafka_query_watermark_offsets, rd_kafka_position, rd_kafka_get_watermark_offsets); `state` mutable fields are only touched on the owner thread;
    // `owner` is atomic.
    private let rk: OpaquePointer
    private let queue: OpaquePointer
    /// Local handles of the subscribed topics, held from the start (see `init`).
    private let topicHandles: [OpaquePointer]
    private let state: ConsumerState
    private let owner = Atomic<UInt>(0)
    private var closed = false

    /// Creates the consumer and subscribes. Does no network I/O before the first poll.
    /// - Throws: ``KafkaError`` with `.invalidArgument` for a bad property, or what `subscribe` reports.
    public init(
        configuration: KafkaConsumerConfiguration, logger: Logger,
        startOffsets: @escaping StartOffsetProvider = { _ in [:] }
    ) throws(KafkaError) {
        let state = ConsumerState(logger: logger, startOffsets: startOffsets)
        let rk = try makeHandle(
            type: RD_KAFKA_CONSUMER, properties: configuration.resolvedProperties,
            opaque: Unmanaged.passUnretained(state).toOpaque()
        ) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, parts, opaque in
                guard let rk, let opaque else { return }
                Unmanaged<ConsumerState>.fromOpaque(opaque).takeUnretainedValue()
                    .rebalance(rk: rk, err: err, partitions: parts)
            }
            rd_kafka_conf_set_offset_commit_cb(conf) { _, err, offsets, opaque in
                guard let opaque else { return }
                Unmanaged<ConsumerState>.fromOpaque(opaque).takeUnretainedValue()
                    .committed(err: err, offsets: offsets)
            }
        }
        // Serve the main queue (logs, errors, rebalances) from the consumer queue: one queue, one thread.
        rd_kafka_poll_set_consumer(rk)
        guard let queue = rd_kafka_queue_get_consumer(rk) else {
            rd_kafka_destroy(rk)
            throw KafkaError(code: .state, message: "rd_kafka_queue_get_consumer returned NULL")
        }
        let topics = PartitionList(capacity: configuration.topics.count)
        for t in configuration.topics {
            rd_kafka_topic_partition_list_add(topics.pointer, t, RD_KAFKA_PARTITION_UA)
        }
        let err = rd_kafka_subscribe(rk, topics.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_queue_destroy(queue)
            rd_kafka_destroy(rk)
            throw KafkaError(err, context: "subscribe \(configuration.topics)")
        }
        // librdkafka 2.0.2 creates a topic's local handle at the first assignment, and learns its
        // partitions' leaders asynchronously after that; a partition whose leader is not known yet when
        // its fetch starts waits for the offset-query timer ("no current leader for partition:
        // (re)starting offset query timer"), 500 ms. Seen: 11 of 16 partitions started 0.5 s after the
        // assignment. Handles made now are filled by metadata during the group join, so every
        // assigned partition starts at once. (Names starting with ^ are patterns, not topics.)
        self.topicHandles = configuration.topics.filter { !$0.hasPrefix("^") }.compactMap { rd_kafka_topic_new(rk, $0, nil) }
        self.rk = rk
        self.queue = queue
        self.state = state
    }

    deinit {
        if !closed {
            // Leaves the group; serves the final revoke on this thread (nobody else can poll now).
            _ = rd_kafka_consumer_close(rk)
        }
        rd_kafka_queue_destroy(queue)
        for t in topicHandles { rd_kafka_topic_destroy(t) }
        if state.hadAssignment {
            rd_kafka_destroy(rk)
        } else {
            // librdkafka 2.0.2 (#4312, fixed in 2.3.0): destroying a cooperative-sticky member that got
            // its JoinGroup answer but not yet its first assignment asserts (assignor state NULL) and
            // aborts the process; seen in a test's short-lived reader, and a worker stopped during its
            // first join would exit so. Such a handle is left alive instead (closed: it is out of the
            // group), with the state its callbacks reach: at most one per consumer closed that early.
            _ = Unmanaged.passRetained(state)
        }
    }

    private func checkOwnerThread(_ function: StaticString = #function) {
        let me = currentThreadID()
        let (exchanged, original) = owner.compareExchange(expected: 0, desired: me, ordering: .relaxed)
        precondition(
            exchanged || original == me,
            "KafkaConsumer.\(function) called off the thread that polls it; one thread must own a consumer")
    }

    private func checkOpen(_ what: String) throws(KafkaError) {
        if closed { throw KafkaError(code: .state, message: "\(what) after close()") }
    }

    /// Waits up to `timeout` for the first record, then returns it with whatever else is already fetched
    /// (up to `maxMessages` records), serving rebalances and librdkafka events on the calling thread.
    /// - Throws: a fatal ``KafkaError`` (the consumer is unusable), or `.state` after `close()`.
    public func poll(maxMessages: Int, timeout: Duration) throws(KafkaError) -> KafkaPollResult {
        checkOwnerThread()
        try checkOpen("poll")
        precondition(maxMessages > 0 && maxMessages <= 1_000_000, "maxMessages \(maxMessages) out of 1...1000000")
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxMessages)
        state.revokedDuringPoll = false
        // One message at a time, not `rd_kafka_consume_batch_queue`: in librdkafka 2.0.2 the batch call
        // advances a partition's application offset for every message it takes, before a version barrier
        // further down the queue (a fetch restarted by a leader change or a fetch error, a pause, a seek)
        // drops those messages from the batch; a fetch restart from the application offset then skips
        // them for good (fixed in 2.1.0, #4208). Chaos seeds 102 and 103 of issue #11 lost 11–23 records
        // a partition so, right after pushed fetch errors. `rd_kafka_consume_queue` discards outdated
        // messages before it advances the offset, so the offset only covers what is returned here.
        // Waits up to `timeout` for the first record only, then takes what is already fetched (up to
        // `maxMessages`) without waiting: a poll never sits on records it has while more trickle in.
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var n = 0
        while n < maxMessages {
            let left = n == 0 ? deadline - ContinuousClock.now : .zero
            guard let m = rd_kafka_consume_queue(queue, left > .zero ? milliseconds(left) : 0) else { break }
            buffer[n] = m
            n += 1  // Safe: n < maxMessages.
        }
        var kept = 0
        // The offset after the last record returned, per partition (by topic handle: no String per record).
        // Records come in runs of one partition: a run is kept aside and entered into the map when it ends,
        // so the map is hashed once a run, not twice a record.
        var delivered: [DeliveredKey: Int64] = [:]
        var run: (key: DeliveredKey, next: Int64)?
        func endRun() {
            if let r = run { delivered[r.key] = max(delivered[r.key] ?? -1, r.next) }
        }
        for i in 0..<n {
            guard let m = buffer[i] else { continue }
            let err = m.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    state.events.append(.error(Self.messageError(m)))
                }
                rd_kafka_message_destroy(m)
                continue
            }
            if state.revokedDuringPoll
                && !state.assignment.contains(
                    TopicPartition(topic: String(cString: rd_kafka_topic_name(m.pointee.rkt)), partition: m.pointee.partition))
            {
                // Fetched before its partition was revoked inside this poll: not ours any more.
                rd_kafka_message_destroy(m)
                continue
            }
            buffer[kept] = m
            kept += 1  // Safe: kept ≤ i < n ≤ maxMessages.
            if let rkt = m.pointee.rkt {
                // Safe: a delivered record's offset is ≥ 0, far below Int64.max.
                let key = DeliveredKey(rkt: UInt(bitPattern: rkt), partition: m.pointee.partition)
                if let r = run, r.key == key {
                    run = (key, max(r.next, m.pointee.offset + 1))
                } else {
                    endRun()
                    run = (key, m.pointee.offset + 1)
                }
            }
        }
        endRun()
        for (key, next) in delivered {
            // Safe: the handle belongs to a record we still hold (buffer), so it is alive.
            let rkt = OpaquePointer(bitPattern: key.rkt)!
            state.position[TopicPartition(topic: String(cString: rd_kafka_topic_name(rkt)), partition: key.partition)] = next
        }
        let events = state.events
        state.events.removeAll(keepingCapacity: true)
        if let fatal = currentFatalError() { buffer.deallocate(); throw fatal }
        if kept == 0 {
            buffer.deallocate()
            return KafkaPollResult(events: events, messages: nil)
        }
        return KafkaPollResult(events: events, messages: KafkaMessageBatch(taking: buffer, count: kept))
    }

    /// Makes a ``poll(maxMessages:timeout:)`` waiting on another thread return now, with what it holds
    /// (perhaps nothing); when no poll waits, the next one returns at once. Callable from any thread (a
    /// writer whose answer the polling thread must act on without waiting out the poll's timeout).
    public func wakeUp() {
        // Safe off the owner thread: rd_kafka_queue_yield only flags the queue and signals its waiter;
        // the queue lives until deinit, and the caller holds a reference.
        rd_kafka_queue_yield(queue)
    }

    private func currentFatalError() -> KafkaError? {
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(rk, &errstr, errstr.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(code: .init(err), message: "fatal: \(cText(errstr))", isFatal: true)
    }

    private static func messageError(_ m: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError {
        let code = KafkaError.Code(m.pointee.err)
        var text = code.summary
        if let cstr = rd_kafka_message_errstr(m) { text = String(cString: cstr) }
        let topic = m.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
        return KafkaError(
            code: code, message: text, topic: topic, partition: topic == nil ? nil : m.pointee.partition,
            offset: m.pointee.offset >= 0 ? m.pointee.offset : nil)
    }

    /// Stops fetching the given assigned partitions. librdkafka rewinds the fetch position to the last
    /// delivered offset + 1, so `resume` continues with no gap and no duplicate. Keep polling while paused
    /// (it keeps the group membership and `max.poll.interval.ms` alive).
    public func pause(_ partitions: some Collection<TopicPartition>) throws(KafkaError) {
        checkOwnerThread()
        try checkOpen("pause")
        let list = PartitionList(partitions)
        let err = rd_kafka_pause_partitions(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "pause") }
        if let e = list.firstError(context: "pause") { throw e }
    }

    /// Resumes paused partitions, each at the offset after the last record a poll returned for it (or
    /// where the assignment or the last ``seek(_:)`` put it). Resume only partitions you paused
    /// (librdkafka < 2.4 may rewind an unpaused partition on resume, #4636).
    ///
    /// Why the seek: in librdkafka 2.0.2 a pause, resume or seek is applied on librdkafka's thread and
    /// may land while `consume_batch_queue` is filling a batch; the records of that partition already
    /// taken are then dropped from the batch, but the partition's application offset has moved past
    /// them, and the next pause saves that offset as the fetch position: the resume would skip them
    /// (fixed in librdkafka 2.1.0, #4208; chaos seeds 102 and 103 of issue #11 lost 11–23 records a
    /// partition so). Seeking to the position this wrapper saw returned makes a resume exact whatever
    /// librdkafka's application offset says. A logical position other than the beginning (END before any
    /// record) is left to librdkafka.
    public func resume(_ partitions: some Collection<TopicPartition>) throws(KafkaError) {
        checkOwnerThread()
        try checkOpen("resume")
        let list = PartitionList(partitions)
        let err = rd_kafka_resume_partitions(rk, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "resume") }
        if let e = list.firstError(context: "resume") { throw e }
        let positions = partitions.compactMap { tp -> (TopicPartition, Int64)? in
            guard let p = state.position[tp], p >= 0 || p == KafkaOffset.beginning else { return nil }
            return (tp, p)
        }
        if positions.isEmpty { return }
        let seeks = PartitionList(offsets: positions)
        if let error = rd_kafka_seek_partitions(rk, seeks.pointer, 0) {
            throw KafkaError(consuming: error, context: "seek at resume")
        }
        if let e = seeks.firstError(context: "seek at resume", ignoring: .inProgress) { throw e }
    }

    /// Wakes librdkafka's fetcher for `partitions` without touching their fetch state. librdkafka 2.0.2
    /// stops fetching while its queue holds `queued.min.messages` records or
    /// `queued.max.messages.kbytes`, and decides again only when the leader's broker thread next wakes:
    /// a fetch response, a request to send, or its 1 s timeout; the application draining the queue does
    /// not wake it (2.2 added `fetch.queue.backoff.ms`). Seen: runs stalled 0.2–0.9 s with records left
    /// and the queue empty. A watermark query is a request for the leaders' broker threads: they wake,
    /// and decide again for every partition they lead. (A resume of an unpaused partition also reaches
    /// them, but restarts its fetch from librdkafka's application offset, which this wrapper does not
    /// keep: the records came again from offset 0.) Blocks about one round trip (at most `timeout`);
    /// returns the high watermarks it learned.
    @discardableResult
    public func nudgeFetcher(_ partitions: [TopicPartition], timeout: Duration = .seconds(1)) -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        var highs: [TopicPartition: Int64] = [:]
        for (tp, result) in queryWatermarks(partitions, timeout: timeout) {
            if case .success(let w) = result { highs[tp] = w.high }
        }
        return highs
    }

    /// Moves the fetch position of assigned partitions. Asynchronous (timeout 0: librdkafka 2.0.2's seek
    /// timeout is 1000× too short); records fetched before the seek are discarded by librdkafka.
    public func seek(_ offsets: [PartitionOffset]) throws(KafkaError) {
        checkOwnerThread()
        try checkOpen("seek")
        let list = PartitionList(offsets: offsets.map { ($0.topicPartition, $0.offset) })
        if let error = rd_kafka_seek_partitions(rk, list.pointer, 0) {
            throw KafkaError(consuming: error, context: "seek")
        }
        for o in offsets { state.position[o.topicPartition] = o.offset }
        // Timeout 0: each partition reports _IN_PROGRESS, which means "seek queued".
        if let e = list.firstError(context: "seek", ignoring: .inProgress) { throw e }
    }

    /// Stores `offset` = next record to read (last processed + 1) per partition, for librdkafka's commit
    /// timer to commit (`enable.auto.commit`, default on): the way to report progress (lag) to Kafka
    /// without risking the assignment, since the timer does not commit while the group rebalances (see
    /// ``KafkaConsumerConfiguration/defaultProperties``). Partitions not assigned any more are skipped
    /// (their error is ignored: the new owner reports them). Never blocks.
    /// - Throws: what `rd_kafka_offsets_store` reports for the call as a whole (not per partition).
    public func storeOffsets(_ offsets: [PartitionOffset]) throws(KafkaError) {
        checkOwnerThread()
        try checkOpen("storeOffsets")
        if offsets.isEmpty { return }
        let list = PartitionList(offsets: offsets.map { ($0.topicPartition, $0.offset) })
        let err = rd_kafka_offsets_store(rk, list.pointer)
        // _STATE / _UNKNOWN_PARTITION for a partition revoked meanwhile: not ours to report any more.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__STATE && err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION {
            throw KafkaError(err, context: "offsets_store")
        }
    }

    /// Commits `offset` = next record to read (last processed + 1) per partition to Kafka now. During a
    /// rebalance this can cost the whole assignment (librdkafka #4059): report progress with
    /// ``storeOffsets(_:)`` instead. `async: false` waits for the broker's answer and throws its error.
    public func commit(_ offsets: [PartitionOffset], async: Bool = false) throws(KafkaError) {
        checkOwnerThread()
        try checkOpen("commit")
        if offsets.isEmpty { return }  // NULL would mean "the current stored offsets", never wanted here.
        let list = PartitionList(offsets: offsets.map { ($0.topicPartition, $0.offset) })
        let err = rd_kafka_commit(rk, list.pointer, async ? 1 : 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "commit") }
        if !async, let e = list.firstError(context: "commit") { throw e }
    }

    /// The group's committed offsets (next record to read) for `partitions`; partitions without one are
    /// absent. Blocks up to `timeout`.
    public func committed(_ partitions: [TopicPartition], timeout: Duration) throws(KafkaError) -> [TopicPartition: Int64] {
        checkOwnerThread()
        try checkOpen("committed")
        let list = PartitionList(partitions)
        let err = rd_kafka_committed(rk, list.pointer, milliseconds(timeout))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "committed") }
        var result: [TopicPartition: Int64] = [:]
        for e in PartitionList.elements(list.pointer) where e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0 {
            result[TopicPartition(topic: String(cString: e.topic), partition: e.partition)] = e.offset
        }
        return result
    }

    /// Consumer lag per partition, in records: the high watermark librdkafka last saw in a fetch response
    /// minus the consumer's position (the offset after the last record a poll returned). Reads only
    /// librdkafka's cached values: no network round trip, never blocks; callable from any thread.
    /// Partitions without a known position or watermark yet are absent.
    public func cachedLag(_ partitions: some Collection<TopicPartition>) -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let list = PartitionList(partitions)
        defer { withExtendedLifetime(list) {} }
        // rd_kafka_position fills each element's offset; the list stays ours.
        guard rd_kafka_position(rk, list.pointer) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        var lags: [TopicPartition: Int64] = [:]
        for e in PartitionList.elements(list.pointer) where e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0 {
            var low: Int64 = -1
            var high: Int64 = -1
            // Cached values only (updated by fetch responses); no request is sent.
            let err = rd_kafka_get_watermark_offsets(rk, e.topic, e.partition, &low, &high)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { continue }
            lags[TopicPartition(topic: String(cString: e.topic), partition: e.partition)] = max(0, high - e.offset)
        }
        return lags
    }

    /// Asks the partition leader for the log start (low) and the high watermark (next offset to be
    /// written). Blocks up to `timeout`; callable from any thread. A stored offset below `low` means
    /// records were deleted before they were read.
    public func queryWatermarks(_ tp: TopicPartition, timeout: Duration) throws(KafkaError) -> (low: Int64, high: Int64) {
        let w = try WatermarkQueryHandle(rk: rk).query(tp, timeoutMilliseconds: milliseconds(timeout)).get()
        return (w.low, w.high)
    }

    /// ``queryWatermarks(_:timeout:)`` for many partitions at once (see ``WatermarkQueries``): the
    /// queries run side by side on their own threads, so the call takes about as long as the slowest
    /// one, not their sum. Each is bounded by `timeout`; callable from any thread. One result per
    /// distinct partition.
    public func queryWatermarks(
        _ partitions: [TopicPartition], timeout: Duration
    ) -> [TopicPartition: Result<Watermarks, KafkaError>] {
        let handle = WatermarkQueryHandle(rk: rk)
        let ms = milliseconds(timeout)
        return WatermarkQueries.run(partitions) { handle.query($0, timeoutMilliseconds: ms) }
    }

    /// Whether librdkafka reported "all brokers are down" (as a log line, which is logged at debug only)
    /// since the last call; returns the first such line. Callable from any thread.
    public func takeAllBrokersDownReport() -> String? { state.brokerNoise.takeAllDown() }

    /// Commits (sync or async) that failed, as a whole or for a partition, since creation. Lag-only
    /// commits may fail during a rebalance; that is expected, so they are counted (and logged at debug).
    public var failedCommitCount: Int { state.failedCommits.load(ordering: .relaxed) }

    /// Partitions assigned as of the last rebalance event served. Owner thread only.
    public var assignment: Set<TopicPartition> {
        checkOwnerThread()
        return state.assignment
    }

    /// Leaves the group (serving the final revocation on this thread) and stops consuming. Returns the
    /// events served while closing. Idempotent; later calls of other methods throw `.state`.
    @discardableResult
    public func close() throws(KafkaError) -> [KafkaConsumerEvent] {
        checkOwnerThread()
        if closed { return [] }
        closed = true
        let err = rd_kafka_consumer_close(rk)
        let events = state.events
        state.events.removeAll()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "consumer_close") }
        return events
    }
}

/// Swift state the C callbacks reach through the handle's opaque pointer. `events`, `assignment` and
/// `revokedDuringPoll` are touched only on the consumer's owner thread (rebalance callbacks run inside
/// poll/close there); `logger` is read from librdkafka threads.
final class ConsumerState: RDKafkaLogSink {
    let logger: Logger
    let brokerNoise = BrokerNoise()
    let startOffsets: StartOffsetProvider
    var events: [KafkaConsumerEvent] = []
    var assignment: Set<TopicPartition> = []
    /// Per assigned partition: the offset after the last record `poll` returned, or where the assignment
    /// or the last seek put it (``KafkaConsumer/resume(_:)`` resumes there).
    var position: [TopicPartition: Int64] = [:]
    var revokedDuringPoll = false
    /// A rebalance callback ran: the group gave this member an assignment (perhaps empty) at least once.
    var hadAssignment = false
    let failedCommits = Atomic<Int>(0)

    init(logger: Logger, startOffsets: @escaping StartOffsetProvider) {
        self.logger = logger
        self.startOffsets = startOffsets
    }

    /// librdkafka's commit result (sync and async commits), on the polling thread.
    func committed(err: rd_kafka_resp_err_t, offsets: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        // _NO_OFFSET: nothing to commit, not a failure.
        if err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
        let failedPartition = PartitionList.elements(offsets).contains { $0.err != RD_KAFKA_RESP_ERR_NO_ERROR }
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR || failedPartition else { return }
        failedCommits.add(1, ordering: .relaxed)
        logger.debug("kafka offset commit failed", metadata: ["error": "\(KafkaError.Code(err))"])
    }

    /// The high watermarks of `partitions`, asked of their leaders side by side (blocking, up to 5 s);
    /// a partition whose query failed is absent (and logged).
    private func highWatermarks(rk: OpaquePointer, _ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        let handle = WatermarkQueryHandle(rk: rk)
        var highs: [TopicPartition: Int64] = [:]
        for (tp, result) in WatermarkQueries.run(partitions, { handle.query($0, timeoutMilliseconds: 5000) }) {
            let why: String
            switch result {
            case .success(let w) where w.high >= 0:
                highs[tp] = w.high
                continue
            case .success: why = "no high watermark"
            case .failure(let error): why = "\(error.code)"
            }
            logger.warning("kafka: cannot resolve END at assignment; librdkafka resolves it later", metadata: [
                "topic": "\(tp.topic)", "partition": "\(tp.partition)", "error": "\(why)",
            ])
        }
        return highs
    }

    func rebalance(
        rk: OpaquePointer, err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        let cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0
        let tps = PartitionList.topicPartitions(partitions)
        hadAssignment = true
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let chosen = tps.isEmpty ? [:] : startOffsets(tps)
            var assigned: [PartitionOffset] = []
            assigned.reserveCapacity(tps.count)
            let elems = PartitionList.elements(partitions)
            // Pin END to a number now: librdkafka would resolve it later, and a record produced in
            // between would be skipped without anyone knowing where consumption began.
            let ends = tps.filter { chosen[$0] == KafkaOffset.end }
            let highs = ends.isEmpty ? [:] : highWatermarks(rk: rk, ends)
            for i in elems.indices {
                let tp = tps[i]
                var offset = chosen[tp] ?? KafkaOffset.beginning
                if offset == KafkaOffset.end, let high = highs[tp] { offset = high }
                elems[i].offset = offset
                assigned.append(PartitionOffset(tp, offset: offset))
            }
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    events.append(.error(KafkaError(consuming: error, context: "incremental_assign")))
                    return
                }
            } else {
                let e = rd_kafka_assign(rk, partitions)
                if e != RD_KAFKA_RESP_ERR_NO_ERROR {
                    events.append(.error(KafkaError(e, context: "assign")))
                    return
                }
            }
            if cooperative { assignment.formUnion(tps) } else { assignment = Set(tps); position.removeAll() }
            for a in assigned { position[a.topicPartition] = a.offset }
            logger.debug("kafka partitions assigned", metadata: ["partitions": "\(assigned)"])
            events.append(.assigned(assigned))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(rk) != 0
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) {
                    events.append(.error(KafkaError(consuming: error, context: "incremental_unassign")))
                }
                assignment.subtract(tps)
                for tp in tps { position[tp] = nil }
            } else {
                _ = rd_kafka_assign(rk, nil)
                assignment.removeAll()
                position.removeAll()
            }
            revokedDuringPoll = true
            logger.debug("kafka partitions revoked", metadata: ["partitions": "\(tps)", "lost": "\(lost)"])
            events.append(.revoked(tps, lost: lost))
        default:
            // librdkafka: on any other error, drop the whole assignment.
            _ = rd_kafka_assign(rk, nil)
            let all = Array(assignment).sorted()
            assignment.removeAll()
            position.removeAll()
            revokedDuringPoll = true
            events.append(.error(KafkaError(err, context: "rebalance")))
            if !all.isEmpty { events.append(.revoked(all, lost: true)) }
        }
    }
}

/// A partition by librdkafka topic handle, for per-record bookkeeping without building a `String`.
struct DeliveredKey: Hashable {
    var rkt: UInt
    var partition: Int32
}

func currentThreadID() -> UInt {
    #if canImport(Glibc)
    return UInt(pthread_self())
    #else
    return UInt(bitPattern: pthread_self())
    #endif
}
