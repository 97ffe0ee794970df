public import TraceContext

/// Key of a `transactions` row: the month of the span's start and the trace.
public struct TransactionKey: Hashable, Comparable, Sendable {
    public var month: UTCMonth
    public var traceID: TraceID
    public init(month: UTCMonth, traceID: TraceID) {
        self.month = month
        self.traceID = traceID
    }
    public static func < (a: TransactionKey, b: TransactionKey) -> Bool {
        (a.month, a.traceID) < (b.month, b.traceID)
    }
}

/// What one epoch adds to one `transactions` row. Sums are additive; `firstStart`/`lastEnd` are
/// LEAST/GREATEST; names are first-non-null (COALESCE) except `transaction`/`service`, which only
/// the root span sets.
public struct TransactionDelta: Sendable, Equatable {
    /// Root span name; nil unless the root span was folded in this epoch.
    public var transaction: String?
    /// The root's `service.name`; nil unless the root was folded.
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
    public var firstStartUnixNanos: UInt64 = .max
    public var lastEndUnixNanos: UInt64 = 0

    public init() {}

    /// Adds `other` as the ledger's upsert would.
    public mutating func merge(_ o: TransactionDelta) {
        transaction = transaction ?? o.transaction
        service = service ?? o.service
        environment = environment ?? o.environment
        sessionID = sessionID ?? o.sessionID
        costNanoUSD += o.costNanoUSD
        computeNanoUSD += o.computeNanoUSD
        serverlessNanoUSD += o.serverlessNanoUSD
        llmNanoUSD += o.llmNanoUSD
        spanCount += o.spanCount
        errorCount += o.errorCount
        unpricedCount += o.unpricedCount
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        firstStartUnixNanos = min(firstStartUnixNanos, o.firstStartUnixNanos)
        lastEndUnixNanos = max(lastEndUnixNanos, o.lastEndUnixNanos)
    }
}

/// Key of the per-(hour, trace) cost used for domain attribution (`domain_hourly` once the trace's
/// root name is known, `pending_attribution` until then).
public struct TraceHourKey: Hashable, Comparable, Sendable {
    public var hour: UTCHour
    public var traceID: TraceID
    public init(hour: UTCHour, traceID: TraceID) {
        self.hour = hour
        self.traceID = traceID
    }
    public static func < (a: TraceHourKey, b: TraceHourKey) -> Bool { (a.hour, a.traceID) < (b.hour, b.traceID) }
}

/// Cost and spans of one trace in one hour.
public struct TraceHourDelta: Sendable, Equatable {
    public var costNanoUSD: Int64 = 0
    public var spanCount: Int64 = 0
    public init() {}
}

/// A root span seen in this epoch: its trace is attributed to `transaction`, and it counts once in
/// `domain_hourly.trace_count` of the hour it started.
public struct RootSeen: Sendable, Equatable {
    public var hour: UTCHour
    public var transaction: String
    public init(hour: UTCHour, transaction: String) {
        self.hour = hour
        self.transaction = transaction
    }
}

/// Key of a `sessions` row.
public struct SessionKey: Hashable, Comparable, Sendable {
    public var month: UTCMonth
    public var sessionID: String
    public init(month: UTCMonth, sessionID: String) {
        self.month = month
        self.sessionID = sessionID
    }
    public static func < (a: SessionKey, b: SessionKey) -> Bool { (a.month, a.sessionID) < (b.month, b.sessionID) }
}

/// What one epoch adds to one `sessions` row.
public struct SessionDelta: Sendable, Equatable {
    public var costNanoUSD: Int64 = 0
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var spanCount: Int64 = 0
    /// GREATEST of `agent.depth`; nil when no span carried it.
    public var depthMax: Int64?
    /// Spans with `agent.depth`.
    public var agentCount: Int64 = 0
    /// Spans with `agent.ceiling_hit` = true.
    public var ceilingHits: Int64 = 0
    public var parentSession: String?
    public var firstStartUnixNanos: UInt64 = .max
    public var lastEndUnixNanos: UInt64 = 0
    public init() {}

    public mutating func merge(_ o: SessionDelta) {
        costNanoUSD += o.costNanoUSD
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        spanCount += o.spanCount
        if let d = o.depthMax { depthMax = max(depthMax ?? d, d) }
        agentCount += o.agentCount
        ceilingHits += o.ceilingHits
        parentSession = parentSession ?? o.parentSession
        firstStartUnixNanos = min(firstStartUnixNanos, o.firstStartUnixNanos)
        lastEndUnixNanos = max(lastEndUnixNanos, o.lastEndUnixNanos)
    }
}

/// Key of a `model_hourly` row.
public struct ModelKey: Hashable, Comparable, Sendable {
    public var hour: UTCHour
    public var model: String
    public var service: String
    public init(hour: UTCHour, model: String, service: String) {
        self.hour = hour
        self.model = model
        self.service = service
    }
    public static func < (a: ModelKey, b: ModelKey) -> Bool {
        (a.hour, a.model, a.service) < (b.hour, b.model, b.service)
    }
}

/// What one epoch adds to one `model_hourly` row.
public struct ModelDelta: Sendable, Equatable {
    public var costNanoUSD: Int64 = 0
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var calls: Int64 = 0
    public init() {}
    public mutating func merge(_ o: ModelDelta) {
        costNanoUSD += o.costNanoUSD
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        calls += o.calls
    }
}

/// Why a record was rejected (CONTRACTS.md §4). The raw values are the reason codes written to
/// `rejected_records.reason` and the dead-letter header `traceledger-error`.
public enum RejectReason: String, Sendable, CaseIterable {
    case undecodable
    case empty
    case tooLarge = "too_large"
    case timestampOutOfRange = "timestamp_out_of_range"
    case badIDs = "bad_ids"
}

/// A record that ends in `rejected_records` + the dead-letter topic instead of the ledger.
public struct RejectedRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var reason: RejectReason
    public var detail: String
    public var sizeBytes: Int64
    /// The record's Kafka timestamp, ms since the epoch.
    public var recordTimeUnixMillis: Int64
    public init(
        topic: String, partition: Int32, offset: Int64, reason: RejectReason, detail: String, sizeBytes: Int64,
        recordTimeUnixMillis: Int64
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

/// Counts that go to metrics only (never to cost tables), so that nothing is silent.
public struct EpochCounters: Sendable, Equatable {
    public var recordsCounted: Int64 = 0
    public var recordsRejected: Int64 = 0
    public var spansCounted: Int64 = 0
    public var spansWithSession: Int64 = 0
    public var spansUnpriced: Int64 = 0
    public var spansClamped: Int64 = 0
    public var spansInvalidUpstreamCost: Int64 = 0
    /// Spans whose trace id differs from their record's `traceparent` header.
    public var spansTraceMismatch: Int64 = 0
    /// Records whose `traceparent` header was present but invalid (the body's ids were used).
    public var recordsBadTraceparent: Int64 = 0
    /// Excluded spans by environment name (rule 3).
    public var spansExcluded: [String: Int64] = [:]
    public init() {}

    public mutating func merge(_ o: EpochCounters) {
        recordsCounted += o.recordsCounted
        recordsRejected += o.recordsRejected
        spansCounted += o.spansCounted
        spansWithSession += o.spansWithSession
        spansUnpriced += o.spansUnpriced
        spansClamped += o.spansClamped
        spansInvalidUpstreamCost += o.spansInvalidUpstreamCost
        spansTraceMismatch += o.spansTraceMismatch
        recordsBadTraceparent += o.recordsBadTraceparent
        spansExcluded.merge(o.spansExcluded, uniquingKeysWith: +)
    }
}

/// Everything one shard (or a merge of shards) folded during one epoch: the delta maps of every
/// ledger table plus rejected records and counters.
///
/// Guarantees (checked by `checkInvariants()`): the cost and spans in `transactions` equal those in
/// `traceHours`; the spans in `sessions` equal `counters.spansWithSession`; the spans in
/// `transactions` equal `counters.spansCounted`. Memory is proportional to the distinct keys folded,
/// which the pipeline bounds with `flush.max_spans` per epoch.
public struct EpochDelta: Sendable {
    public var transactions: [TransactionKey: TransactionDelta] = [:]
    public var traceHours: [TraceHourKey: TraceHourDelta] = [:]
    public var roots: [TraceID: RootSeen] = [:]
    public var sessions: [SessionKey: SessionDelta] = [:]
    public var models: [ModelKey: ModelDelta] = [:]
    public var rejected: [RejectedRecord] = []
    public var counters = EpochCounters()

    public init() {}

    public var isEmpty: Bool {
        transactions.isEmpty && rejected.isEmpty && counters.spansExcluded.isEmpty && counters.recordsCounted == 0
    }

    /// Adds another delta (another shard's, or a later slice of the same epoch).
    public mutating func merge(_ o: EpochDelta) {
        transactions.merge(o.transactions) { a, b in
            var m = a
            m.merge(b)
            return m
        }
        traceHours.merge(o.traceHours) { a, b in
            var m = a
            m.costNanoUSD += b.costNanoUSD
            m.spanCount += b.spanCount
            return m
        }
        roots.merge(o.roots) { a, _ in a }
        sessions.merge(o.sessions) { a, b in
            var m = a
            m.merge(b)
            return m
        }
        models.merge(o.models) { a, b in
            var m = a
            m.merge(b)
            return m
        }
        rejected.append(contentsOf: o.rejected)
        counters.merge(o.counters)
    }

    /// Total cost in the transaction deltas.
    public var totalCostNanoUSD: Int64 { transactions.values.reduce(0) { $0 + $1.costNanoUSD } }

    /// The rollup invariants of CONTRACTS.md §3, on this delta alone. Returns the broken ones (empty =
    /// all hold); tests and debug builds assert it is empty.
    public func invariantViolations() -> [String] {
        var broken: [String] = []
        let txCost = totalCostNanoUSD
        let txSpans = transactions.values.reduce(Int64(0)) { $0 + $1.spanCount }
        let hourCost = traceHours.values.reduce(Int64(0)) { $0 + $1.costNanoUSD }
        let hourSpans = traceHours.values.reduce(Int64(0)) { $0 + $1.spanCount }
        let sessionSpans = sessions.values.reduce(Int64(0)) { $0 + $1.spanCount }
        if txCost != hourCost { broken.append("Σ transactions cost \(txCost) ≠ Σ trace-hours cost \(hourCost)") }
        if txSpans != hourSpans { broken.append("Σ transactions spans \(txSpans) ≠ Σ trace-hours spans \(hourSpans)") }
        if txSpans != counters.spansCounted {
            broken.append("Σ transactions spans \(txSpans) ≠ spans counted \(counters.spansCounted)")
        }
        if sessionSpans != counters.spansWithSession {
            broken.append("Σ session spans \(sessionSpans) ≠ spans with a session \(counters.spansWithSession)")
        }
        return broken
    }
}
