public import TraceContext
import Pricing

/// Key of a `transactions` row: the month of the span's start and the trace.
public struct TransactionKey: Hashable, Comparable, Sendable {
    public var month: Month
    public var traceID: TraceID
    public init(month: Month, traceID: TraceID) {
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
    /// Σ of the spans' adjusted counts (`ot=th` sampling; 1 per span without a threshold), in millionths
    /// of a span, each span's count rounded half to even once (``SampledSpans/micro(_:)``).
    public var sampledSpansMicro: Int64 = 0
    public var firstStartUnixNanos: UInt64 = .max
    public var lastEndUnixNanos: UInt64 = 0

    public init() {}

    /// Adds `other` as the ledger's upsert adds a new row to a stored one: the first root name wins;
    /// `service` and `environment` come from the row holding the root when only `other` holds it,
    /// otherwise first-non-null.
    public mutating func merge(_ o: TransactionDelta) {
        mergeNamesAndTimes(o)
        addSums(o)
    }

    /// The sums of ``merge(_:)`` and ``addLater(_:)``, with Swift's trapping `+=` (no overflow report):
    /// callers add two rows only when one slice's budget admits both (``EpochDelta``), so sums stay in range.
    mutating func addSums(_ o: TransactionDelta) {
        costNanoUSD += o.costNanoUSD
        computeNanoUSD += o.computeNanoUSD
        serverlessNanoUSD += o.serverlessNanoUSD
        llmNanoUSD += o.llmNanoUSD
        spanCount += o.spanCount
        errorCount += o.errorCount
        unpricedCount += o.unpricedCount
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        sampledSpansMicro += o.sampledSpansMicro
    }

    /// The part of ``merge(_:)`` without arithmetic.
    mutating func mergeNamesAndTimes(_ o: TransactionDelta) {
        if transaction == nil && o.transaction != nil {
            service = o.service ?? service
            environment = o.environment ?? environment
        } else {
            service = service ?? o.service
            environment = environment ?? o.environment
        }
        transaction = transaction ?? o.transaction
        sessionID = sessionID ?? o.sessionID
        firstStartUnixNanos = min(firstStartUnixNanos, o.firstStartUnixNanos)
        lastEndUnixNanos = max(lastEndUnixNanos, o.lastEndUnixNanos)
    }
}

extension TransactionDelta {
    /// ``merge(_:)`` with checked sums: nil when any would overflow `Int64`.
    public func checkedMerging(_ o: TransactionDelta) -> TransactionDelta? {
        func add(_ a: Int64, _ b: Int64, _ overflowed: inout Bool) -> Int64 {
            let (sum, o) = a.addingReportingOverflow(b)
            overflowed = overflowed || o
            return sum
        }
        var overflowed = false
        var m = self
        m.mergeNamesAndTimes(o)
        m.costNanoUSD = add(costNanoUSD, o.costNanoUSD, &overflowed)
        m.computeNanoUSD = add(computeNanoUSD, o.computeNanoUSD, &overflowed)
        m.serverlessNanoUSD = add(serverlessNanoUSD, o.serverlessNanoUSD, &overflowed)
        m.llmNanoUSD = add(llmNanoUSD, o.llmNanoUSD, &overflowed)
        m.spanCount = add(spanCount, o.spanCount, &overflowed)
        m.errorCount = add(errorCount, o.errorCount, &overflowed)
        m.unpricedCount = add(unpricedCount, o.unpricedCount, &overflowed)
        m.inputTokens = add(inputTokens, o.inputTokens, &overflowed)
        m.outputTokens = add(outputTokens, o.outputTokens, &overflowed)
        m.sampledSpansMicro = add(sampledSpansMicro, o.sampledSpansMicro, &overflowed)
        return overflowed ? nil : m
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
public struct RootSeen: Sendable, Hashable {
    public var hour: UTCHour
    public var transaction: String
    public init(hour: UTCHour, transaction: String) {
        self.hour = hour
        self.transaction = transaction
    }
}

/// Key of a `sessions` row.
public struct SessionKey: Hashable, Comparable, Sendable {
    public var month: Month
    public var sessionID: String
    public init(month: Month, sessionID: String) {
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
    /// The least `agent.parent_session` seen, in UTF-8 byte order (PostgreSQL `COLLATE "C"`), so that the
    /// result does not depend on the order of spans, shards, epochs or workers.
    public var parentSession: String?
    public var firstStartUnixNanos: UInt64 = .max
    public var lastEndUnixNanos: UInt64 = 0
    public init() {}

    /// The least of two optional names in UTF-8 byte order (nil only when both are).
    public static func leastName(_ a: String?, _ b: String?) -> String? {
        guard let a else { return b }
        guard let b else { return a }
        return b.utf8.lexicographicallyPrecedes(a.utf8) ? b : a
    }

    public mutating func merge(_ o: SessionDelta) {
        costNanoUSD += o.costNanoUSD
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        spanCount += o.spanCount
        if let d = o.depthMax { depthMax = max(depthMax ?? d, d) }
        agentCount += o.agentCount
        ceilingHits += o.ceilingHits
        parentSession = Self.leastName(parentSession, o.parentSession)
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

/// Why a record was rejected (docs/ledger.md). The raw values are the reason codes written to
/// `rejected_records.reason` and the dead-letter header `traceledger-error`.
public enum RejectReason: String, Sendable, CaseIterable {
    case undecodable
    case empty
    case tooLarge = "too_large"
    case timestampOutOfRange = "timestamp_out_of_range"
    case badIDs = "bad_ids"
    /// The database refused the record's values as out of range (SQLSTATE 22003), found by isolating
    /// the record after its epoch could not be written.
    case valueOutOfRange = "value_out_of_range"
    /// The database refused the record's data for another reason (SQLSTATE classes 22, 23, 54), found by
    /// isolating the record after its epoch could not be written; `detail` carries the SQLSTATE.
    case unwritable
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
    /// Spans whose computed cost exceeded 1e9 USD (absurd duration or token counts): charged 0, unpriced.
    public var spansCostOutOfRange: Int64 = 0
    /// Spans whose trace id differs from their record's `traceparent` header.
    public var spansTraceMismatch: Int64 = 0
    /// Records whose `traceparent` header was present but invalid (the body's ids were used).
    public var recordsBadTraceparent: Int64 = 0
    /// Excluded spans by environment name (rule 3).
    public var spansExcluded: [String: Int64] = [:]
    /// Σ of the adjusted counts (each rounded half to even to a whole span) of counted spans that carry an
    /// `ot=th` sampling threshold: `traceledger_sampled_spans_total`. Saturates at `Int64.max`.
    public var sampledSpans: Int64 = 0
    public init() {}

    public mutating func merge(_ o: EpochCounters) {
        recordsCounted += o.recordsCounted
        recordsRejected += o.recordsRejected
        spansCounted += o.spansCounted
        spansWithSession += o.spansWithSession
        spansUnpriced += o.spansUnpriced
        spansClamped += o.spansClamped
        spansInvalidUpstreamCost += o.spansInvalidUpstreamCost
        spansCostOutOfRange += o.spansCostOutOfRange
        spansTraceMismatch += o.spansTraceMismatch
        recordsBadTraceparent += o.recordsBadTraceparent
        sampledSpans = Self.saturatingAdd(sampledSpans, o.sampledSpans)
        spansExcluded.merge(o.spansExcluded, uniquingKeysWith: +)
    }

    /// `a + b`, or `Int64.max` when that overflows (both are ≥ 0 here).
    static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (v, o) = a.addingReportingOverflow(b)
        return o ? .max : v
    }
}

/// Σ of the magnitudes each summed column of a slice has taken, per column. Every row sum of a slice is
/// a sum over a subset of its spans, so while each budget stays ≤ `Int64.max`, no row sum can overflow.
public struct SliceBudget: Sendable, Equatable {
    static let limit = UInt64(Int64.max)
    var cost: UInt64 = 0
    var compute: UInt64 = 0
    var serverless: UInt64 = 0
    var llm: UInt64 = 0
    var inputTokens: UInt64 = 0
    var outputTokens: UInt64 = 0
    /// Σ of the spans' adjusted counts in micro-spans (each ≤ 2^52, see ``SampledSpans``).
    var sampledMicro: UInt64 = 0

    public init() {}

    /// Whether a span with these values fits. Safe: every field is ≤ 2^63 − 1 and every magnitude ≤ 2^63,
    /// so each sum is < 2^64.
    func admits(_ c: SpanCost, sampledMicro s: Int64 = SampledSpans.microPerSpan) -> Bool {
        sampledMicro + s.magnitude <= Self.limit
            && cost + c.total.value.magnitude <= Self.limit && compute + c.compute.value.magnitude <= Self.limit
            && serverless + c.serverless.value.magnitude <= Self.limit && llm + c.llm.value.magnitude <= Self.limit
            && inputTokens + c.inputTokens.magnitude <= Self.limit && outputTokens + c.outputTokens.magnitude <= Self.limit
    }

    func admits(_ o: SliceBudget) -> Bool {
        cost + o.cost <= Self.limit && compute + o.compute <= Self.limit && serverless + o.serverless <= Self.limit
            && llm + o.llm <= Self.limit && inputTokens + o.inputTokens <= Self.limit
            && outputTokens + o.outputTokens <= Self.limit && sampledMicro + o.sampledMicro <= Self.limit
    }

    /// Safe: called after `admits` returned true, or on an empty budget (each magnitude ≤ 2^63 < 2^64).
    mutating func take(_ c: SpanCost, sampledMicro s: Int64 = SampledSpans.microPerSpan) {
        sampledMicro += s.magnitude
        cost += c.total.value.magnitude
        compute += c.compute.value.magnitude
        serverless += c.serverless.value.magnitude
        llm += c.llm.value.magnitude
        inputTokens += c.inputTokens.magnitude
        outputTokens += c.outputTokens.magnitude
    }

    mutating func take(_ o: SliceBudget) {
        cost += o.cost
        compute += o.compute
        serverless += o.serverless
        llm += o.llm
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        sampledMicro += o.sampledMicro
    }

    var isEmpty: Bool { self == SliceBudget() }
}

/// Everything one shard (or a merge of shards) folded during one epoch: the delta maps of every
/// ledger table plus rejected records and counters.
///
/// Guarantees: no arithmetic on record values can overflow or trap. The maps form a *slice* whose
/// ``SliceBudget`` bounds every row sum by `Int64.max`; a span that would break the budget closes the
/// slice (moved to ``closedSlices``) and starts a new one, so an epoch of absurd values becomes several
/// slices whose rows the writer adds up in SQL `numeric` — exact, never wrapped, never refused.
/// Per slice (checked by `invariantViolations()`): the cost and spans in `transactions` equal those in
/// `traceHours`; over all slices the spans in `sessions` equal `counters.spansWithSession` and the spans
/// in `transactions` equal `counters.spansCounted`. Memory is proportional to the distinct keys folded,
/// which the pipeline bounds with `flush.max_spans` per epoch.
public struct EpochDelta: Sendable {
    public var transactions: [TransactionKey: TransactionDelta] = [:]
    public var traceHours: [TraceHourKey: TraceHourDelta] = [:]
    public var roots: [TraceID: RootSeen] = [:]
    public var sessions: [SessionKey: SessionDelta] = [:]
    public var models: [ModelKey: ModelDelta] = [:]
    public var rejected: [RejectedRecord] = []
    public var counters = EpochCounters()
    /// What the open slice's maps have taken.
    public internal(set) var budget = SliceBudget()
    /// Earlier slices of this epoch whose budget was full (empty unless values were absurd). Their own
    /// `rejected`, `counters` and `closedSlices` are empty: those stay on the outer delta.
    public internal(set) var closedSlices: [EpochDelta] = []

    public init() {}

    /// An empty delta whose maps have room for as many rows as `previous`'s open slice held, at most
    /// `maxRowsPerMap` each: a shard's next epoch usually folds about as many keys as its last one, and
    /// sized maps are not rehashed again and again while they grow. Reserving never admits more rows
    /// than growing would; it only moves the allocation to the start of the epoch.
    public init(sizedLike previous: EpochDelta, maxRowsPerMap: Int) {
        let cap = max(0, maxRowsPerMap)
        transactions.reserveCapacity(min(previous.transactions.count, cap))
        traceHours.reserveCapacity(min(previous.traceHours.count, cap))
        roots.reserveCapacity(min(previous.roots.count, cap))
        sessions.reserveCapacity(min(previous.sessions.count, cap))
        models.reserveCapacity(min(previous.models.count, cap))
    }

    public var isEmpty: Bool {
        transactions.isEmpty && rejected.isEmpty && counters.spansExcluded.isEmpty && counters.recordsCounted == 0
            && closedSlices.isEmpty
    }

    /// Rows the open slice's maps hold (transactions, trace-hours, roots, sessions, models): what the
    /// epoch will write, and roughly what it holds in memory. O(1).
    public var openRowCount: Int {
        transactions.count + traceHours.count + roots.count + sessions.count + models.count
    }

    /// The open slice's maps followed by every closed slice (each with its own maps only).
    public var slices: [EpochDelta] {
        var open = EpochDelta()
        open.transactions = transactions
        open.traceHours = traceHours
        open.roots = roots
        open.sessions = sessions
        open.models = models
        open.budget = budget
        return [open] + closedSlices
    }

    /// Closes the open slice (its maps move to `closedSlices`) and starts an empty one.
    mutating func startNewSlice() {
        var closed = EpochDelta()
        swap(&closed.transactions, &transactions)
        swap(&closed.traceHours, &traceHours)
        swap(&closed.roots, &roots)
        swap(&closed.sessions, &sessions)
        swap(&closed.models, &models)
        swap(&closed.budget, &budget)
        closedSlices.append(closed)
    }

    /// Adds another delta (another shard's, or a later slice of the same epoch). When the two budgets
    /// together would overflow, `o`'s maps are kept as separate slices instead of being added.
    public mutating func merge(_ o: EpochDelta) {
        rejected.append(contentsOf: o.rejected)
        counters.merge(o.counters)
        for slice in o.slices where !slice.transactions.isEmpty || !slice.sessions.isEmpty || !slice.models.isEmpty {
            if !budget.admits(slice.budget) { startNewSlice() }
            budget.take(slice.budget)
            transactions.merge(slice.transactions) { a, b in
                var m = a
                m.merge(b)
                return m
            }
            traceHours.merge(slice.traceHours) { a, b in
                var m = a
                m.costNanoUSD += b.costNanoUSD
                m.spanCount += b.spanCount
                return m
            }
            roots.merge(slice.roots) { a, _ in a }
            sessions.merge(slice.sessions) { a, b in
                var m = a
                m.merge(b)
                return m
            }
            models.merge(slice.models) { a, b in
                var m = a
                m.merge(b)
                return m
            }
        }
    }

    /// The `transactions` rows of `slices` added up per key (``TransactionDelta/merge(_:)``, in slice
    /// order), so that each key appears once; nil when a sum would overflow `Int64` (the ledger then adds
    /// the rows up in SQL `numeric`). Checked arithmetic: safe whatever the slices hold.
    public static func mergedTransactions(of slices: [EpochDelta]) -> [TransactionKey: TransactionDelta]? {
        let withRows = slices.filter { !$0.transactions.isEmpty }
        guard var merged = withRows.first?.transactions else { return [:] }
        guard withRows.count > 1 else { return merged }
        merged.reserveCapacity(withRows.reduce(0) { $0 + $1.transactions.count })
        for slice in withRows.dropFirst() {
            for (key, delta) in slice.transactions {
                if let index = merged.index(forKey: key) {
                    guard let sum = merged.values[index].checkedMerging(delta) else { return nil }
                    merged.values[index] = sum
                } else {
                    merged[key] = delta
                }
            }
        }
        return merged
    }

    /// Total cost in the transaction deltas of every slice.
    public var totalCostNanoUSD: Int128 {
        slices.reduce(Int128(0)) { acc, s in s.transactions.values.reduce(acc) { $0 + Int128($1.costNanoUSD) } }
    }

    /// The rollup invariants of docs/ledger.md, on this delta alone. Returns the broken ones (empty =
    /// all hold); tests and debug builds assert it is empty.
    public func invariantViolations() -> [String] {
        var broken: [String] = []
        var txSpansAll: Int64 = 0
        var sessionSpansAll: Int64 = 0
        for (i, slice) in slices.enumerated() {
            // Safe: the slice budget bounds the cost sums; span counts are bounded by memory.
            let txCost = slice.transactions.values.reduce(Int64(0)) { $0 + $1.costNanoUSD }
            let txSpans = slice.transactions.values.reduce(Int64(0)) { $0 + $1.spanCount }
            let hourCost = slice.traceHours.values.reduce(Int64(0)) { $0 + $1.costNanoUSD }
            let hourSpans = slice.traceHours.values.reduce(Int64(0)) { $0 + $1.spanCount }
            if txCost != hourCost { broken.append("slice \(i): Σ transactions cost \(txCost) ≠ Σ trace-hours cost \(hourCost)") }
            if txSpans != hourSpans { broken.append("slice \(i): Σ transactions spans \(txSpans) ≠ Σ trace-hours spans \(hourSpans)") }
            txSpansAll += txSpans
            sessionSpansAll += slice.sessions.values.reduce(Int64(0)) { $0 + $1.spanCount }
        }
        if txSpansAll != counters.spansCounted {
            broken.append("Σ transactions spans \(txSpansAll) ≠ spans counted \(counters.spansCounted)")
        }
        if sessionSpansAll != counters.spansWithSession {
            broken.append("Σ session spans \(sessionSpansAll) ≠ spans with a session \(counters.spansWithSession)")
        }
        return broken
    }
}
