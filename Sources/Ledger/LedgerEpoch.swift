/// A 16-byte trace id as two big-endian halves (cheap to hash and to encode).
///
/// Guarantees: exactly 16 bytes; ``init(bytes:)`` refuses any other length.
public struct LedgerTraceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// - Throws: `LedgerError.invalidEpoch` unless `bytes.count == 16`.
    public init(bytes: some Collection<UInt8>) throws {
        guard bytes.count == 16 else {
            throw LedgerError(.invalidEpoch, message: "trace id must be 16 bytes, got \(bytes.count)")
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    public var bytes: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(16)
        result.appendBigEndian(high)
        result.appendBigEndian(low)
        return result
    }

    /// 32 lowercase hex digits, as the views show it.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(32)
        for word in [high, low] {
            for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int((word >> UInt64(shift)) & 0xF)]) }
        }
        return String(decoding: text, as: UTF8.self)
    }

    public static func < (lhs: LedgerTraceID, rhs: LedgerTraceID) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}

/// The additive delta of one trace within one month (a `transactions` row's increment).
///
/// Times are nanoseconds since the Unix epoch (stored as `timestamptz`, microsecond precision, floored).
public struct TraceDelta: Sendable, Hashable {
    public var month: Month
    public var traceID: LedgerTraceID
    /// The root span's name: set only when the root span was in this epoch.
    public var transaction: String?
    /// The root's `service.name` when the root was in this epoch, else any span's (first one kept).
    public var service: String?
    public var environment: String?
    public var sessionID: String?
    public var costNanoUSD: Int64 = 0
    public var computeNanoUSD: Int64 = 0
    public var serverlessNanoUSD: Int64 = 0
    public var llmNanoUSD: Int64 = 0
    public var spanCount: Int64 = 0
    public var errorCount: Int64 = 0
    public var unpricedCount: Int64 = 0
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var firstStartUnixNanos: Int64
    public var lastEndUnixNanos: Int64
    /// Σ of the spans' sampling adjusted counts in millionths of a span (`transactions.sampled_spans`
    /// = this / 10^6, exact); 10^6 per span without an `ot=th` threshold.
    public var sampledSpansMicro: Int64 = 0

    public init(
        month: Month, traceID: LedgerTraceID, transaction: String? = nil, service: String? = nil,
        environment: String? = nil, sessionID: String? = nil, costNanoUSD: Int64 = 0, computeNanoUSD: Int64 = 0,
        serverlessNanoUSD: Int64 = 0, llmNanoUSD: Int64 = 0, spanCount: Int64 = 0, errorCount: Int64 = 0,
        unpricedCount: Int64 = 0, inputTokens: Int64 = 0, outputTokens: Int64 = 0,
        firstStartUnixNanos: Int64, lastEndUnixNanos: Int64, sampledSpansMicro: Int64? = nil
    ) {
        self.month = month
        self.traceID = traceID
        self.transaction = transaction
        // Unsampled by default: one span stands for one.
        let unsampled = spanCount.multipliedReportingOverflow(by: 1_000_000)
        self.sampledSpansMicro = sampledSpansMicro ?? (unsampled.overflow ? .max : unsampled.partialValue)
        self.service = service
        self.environment = environment
        self.sessionID = sessionID
        self.costNanoUSD = costNanoUSD
        self.computeNanoUSD = computeNanoUSD
        self.serverlessNanoUSD = serverlessNanoUSD
        self.llmNanoUSD = llmNanoUSD
        self.spanCount = spanCount
        self.errorCount = errorCount
        self.unpricedCount = unpricedCount
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.firstStartUnixNanos = firstStartUnixNanos
        self.lastEndUnixNanos = lastEndUnixNanos
    }
}

/// Cost and spans of one trace that started in one hour: the input of domain attribution.
/// For every trace, Σ of its hour deltas' cost must equal Σ of its ``TraceDelta`` costs in the epoch.
public struct TraceHourDelta: Sendable, Hashable {
    public var hour: LedgerHour
    public var traceID: LedgerTraceID
    public var costNanoUSD: Int64
    public var spanCount: Int64

    public init(hour: LedgerHour, traceID: LedgerTraceID, costNanoUSD: Int64, spanCount: Int64) {
        self.hour = hour
        self.traceID = traceID
        self.costNanoUSD = costNanoUSD
        self.spanCount = spanCount
    }
}

/// A root span seen in this epoch: counts one trace in `domain_hourly(hour of its start, transaction)`.
public struct RootStarted: Sendable, Hashable {
    public var hour: LedgerHour
    public var transaction: String

    public init(hour: LedgerHour, transaction: String) {
        self.hour = hour
        self.transaction = transaction
    }
}

/// The additive delta of one agent session within one month.
public struct SessionDelta: Sendable, Hashable {
    public var month: Month
    public var sessionID: String
    public var costNanoUSD: Int64 = 0
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var spanCount: Int64 = 0
    /// GREATEST of `agent.depth`; nil when no span carried it.
    public var depthMax: Int64?
    public var agentCount: Int64 = 0
    public var ceilingHits: Int64 = 0
    public var parentSession: String?
    public var firstStartUnixNanos: Int64
    public var lastEndUnixNanos: Int64

    public init(
        month: Month, sessionID: String, costNanoUSD: Int64 = 0, inputTokens: Int64 = 0, outputTokens: Int64 = 0,
        spanCount: Int64 = 0, depthMax: Int64? = nil, agentCount: Int64 = 0, ceilingHits: Int64 = 0,
        parentSession: String? = nil, firstStartUnixNanos: Int64, lastEndUnixNanos: Int64
    ) {
        self.month = month
        self.sessionID = sessionID
        self.costNanoUSD = costNanoUSD
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.spanCount = spanCount
        self.depthMax = depthMax
        self.agentCount = agentCount
        self.ceilingHits = ceilingHits
        self.parentSession = parentSession
        self.firstStartUnixNanos = firstStartUnixNanos
        self.lastEndUnixNanos = lastEndUnixNanos
    }
}

/// The additive delta of one (hour, model, service).
public struct ModelDelta: Sendable, Hashable {
    public var hour: LedgerHour
    public var model: String
    public var service: String
    public var costNanoUSD: Int64
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var calls: Int64

    public init(
        hour: LedgerHour, model: String, service: String, costNanoUSD: Int64, inputTokens: Int64,
        outputTokens: Int64, calls: Int64
    ) {
        self.hour = hour
        self.model = model
        self.service = service
        self.costNanoUSD = costNanoUSD
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.calls = calls
    }
}

/// A record that ended in `rejected_records` (and the dead-letter topic).
public struct RejectedRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// A reason code (`undecodable`, `empty`, `too_large`, `timestamp_out_of_range`, `bad_ids`, ...).
    public var reason: String
    public var detail: String?
    public var sizeBytes: Int64
    /// The record's Kafka timestamp, milliseconds since the Unix epoch.
    public var recordTimeUnixMillis: Int64?

    public init(
        topic: String, partition: Int32, offset: Int64, reason: String, detail: String? = nil, sizeBytes: Int64,
        recordTimeUnixMillis: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.reason = reason
        self.detail = detail
        self.sizeBytes = sizeBytes
        self.recordTimeUnixMillis = recordTimeUnixMillis
    }
}

/// A range of offsets Kafka deleted before they were read (`[fromOffset, toOffset)`).
public struct RetentionGap: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var fromOffset: Int64
    public var toOffset: Int64

    public init(topic: String, partition: Int32, fromOffset: Int64, toOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.fromOffset = fromOffset
        self.toOffset = toOffset
    }
}

/// How the epoch moves one partition's stored offset (the fencing check).
public struct OffsetAdvance: Sendable, Hashable {
    public var partition: TopicPartition
    /// The `next_offset` stored when the epoch's records were read; nil when no row was stored yet.
    public var fromOffset: Int64?
    /// One past the last offset consumed in the epoch (or the log start after a retention gap).
    public var nextOffset: Int64

    public init(partition: TopicPartition, fromOffset: Int64?, nextOffset: Int64) {
        self.partition = partition
        self.fromOffset = fromOffset
        self.nextOffset = nextOffset
    }
}

/// One sealed epoch: every delta and offset move that must commit together, as plain values.
///
/// Guarantees (checked by ``validate()``, which the writer runs first): a consumer group and writer id are
/// set; every hour lies in a valid ``Month``; Σ of ``traces`` cost equals Σ of ``traceHours`` cost (so the
/// ledger invariant Σ transactions = Σ domain_hourly + Σ pending_attribution holds after the commit); each
/// partition appears once in ``offsets`` and never moves backwards.
public struct LedgerEpoch: Sendable {
    public var consumerGroup: String
    public var writerID: String
    /// The newest Kafka record timestamp in the epoch (ms since the Unix epoch): "now" for the grace rule.
    public var maxRecordTimeUnixMillis: Int64
    public var traces: [TraceDelta]
    public var traceHours: [TraceHourDelta]
    public var roots: [RootStarted]
    public var sessions: [SessionDelta]
    public var models: [ModelDelta]
    public var rejected: [RejectedRecord]
    public var retentionGaps: [RetentionGap]
    public var offsets: [OffsetAdvance]

    public init(
        consumerGroup: String, writerID: String, maxRecordTimeUnixMillis: Int64, traces: [TraceDelta] = [],
        traceHours: [TraceHourDelta] = [], roots: [RootStarted] = [], sessions: [SessionDelta] = [],
        models: [ModelDelta] = [], rejected: [RejectedRecord] = [], retentionGaps: [RetentionGap] = [],
        offsets: [OffsetAdvance] = []
    ) {
        self.consumerGroup = consumerGroup
        self.writerID = writerID
        self.maxRecordTimeUnixMillis = maxRecordTimeUnixMillis
        self.traces = traces
        self.traceHours = traceHours
        self.roots = roots
        self.sessions = sessions
        self.models = models
        self.rejected = rejected
        self.retentionGaps = retentionGaps
        self.offsets = offsets
    }

    /// The months the epoch writes to (partitions it needs).
    public func months() throws -> Set<Month> {
        var months = Set(traces.map(\.month))
        months.formUnion(sessions.map(\.month))
        for delta in traceHours { months.insert(try delta.hour.month()) }
        for delta in models { months.insert(try delta.hour.month()) }
        for root in roots { months.insert(try root.hour.month()) }
        return months
    }

    /// - Throws: `LedgerError.invalidEpoch` (or `.invalidMonth`) naming the broken rule.
    public func validate() throws {
        func fail(_ message: String) -> LedgerError { LedgerError(.invalidEpoch, message: message) }
        guard !consumerGroup.isEmpty, !writerID.isEmpty else { throw fail("consumer group and writer id must be set") }
        _ = try months()
        // Int128: rows of several slices may together exceed Int64 (the ledger stores numeric); no
        // count of Int64 values that fits in memory can overflow it.
        var traceSum: Int128 = 0
        var hourSum: Int128 = 0
        for delta in traces { traceSum += Int128(delta.costNanoUSD) }
        for delta in traceHours { hourSum += Int128(delta.costNanoUSD) }
        guard traceSum == hourSum else {
            throw fail("Σ trace cost \(traceSum) nusd ≠ Σ trace-hour cost \(hourSum) nusd")
        }
        var seen = Set<TopicPartition>()
        for advance in offsets {
            guard advance.partition.partition >= 0, seen.insert(advance.partition).inserted else {
                throw fail("partition \(advance.partition) is invalid or listed twice")
            }
            guard advance.nextOffset >= (advance.fromOffset ?? 0), (advance.fromOffset ?? 0) >= 0 else {
                throw fail("offset of \(advance.partition) moves backwards: \(advance.fromOffset.map(String.init) ?? "none") → \(advance.nextOffset)")
            }
        }
    }
}
