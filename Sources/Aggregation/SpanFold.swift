public import Pricing
public import SpanDecoding
public import TraceContext

extension EpochDelta {
    /// Folds one priced span into the epoch's delta maps (docs/ledger.md).
    ///
    /// - `cost.outcome == .excluded`: counted per environment only, never in a cost table.
    /// - Otherwise the span adds to its (month, trace) transaction row, its (hour, trace) attribution
    ///   row, its session row when it carries a session id (attribute, else `baggageSessionID`), and
    ///   its (hour, model, service) row when it names a model.
    /// - Sampling: the span's own `trace_state` threshold (`ot=th:…`), else `recordThreshold` (the
    ///   record's `tracestate` header), gives its adjusted count, added to `sampledSpansMicro` (1 span
    ///   without one). Cost is never multiplied by it.
    /// Strings are copied out of the borrowed span only where a row needs them, through `BoundedText`
    /// (at most 256 bytes, no NUL, valid UTF-8), by way of `keys` when given (the same strings, a recent
    /// one reused instead of allocated again). Never traps: a span whose values would break the open
    /// slice's budget starts a new slice first (see `EpochDelta`), so every `+=` below stays in range.
    public mutating func fold(
        _ span: borrowing DecodedSpan, cost: SpanCost, baggageSessionID: String? = nil, recordThreshold: OTelThreshold? = nil,
        keys: KeyInterner? = nil
    ) {
        var run = TraceRun()
        fold(span, cost: cost, baggageSessionID: baggageSessionID, recordThreshold: recordThreshold, keys: keys, run: &run)
        flush(&run)
    }

    /// ``fold(_:cost:baggageSessionID:recordThreshold:keys:)`` for one of a record's spans: the span's
    /// `transactions` and `traceHours` rows are added up in `run` while consecutive spans share their
    /// keys, and go into the maps when a span of another key comes, or at ``flush(_:)``. A record of one
    /// trace (the Collector's usual record) then costs one lookup per map, not one per span. Call
    /// ``flush(_:)`` after the record's last span; until then the maps lack the run's rows.
    public mutating func fold(
        _ span: borrowing DecodedSpan, cost: SpanCost, baggageSessionID: String?, recordThreshold: OTelThreshold?,
        keys: KeyInterner?, run: inout TraceRun
    ) {
        let attrs = span.attributes
        // Bounded key strings from span bytes: through `keys` when given, else `BoundedText` directly.
        func key(_ bytes: UnsafeRawBufferPointer) -> String {
            if let keys { return keys.key(bytes) }
            return BoundedText.key(bytes)
        }
        if cost.outcome == .excluded {
            let env = (attrs.environmentName ?? attrs.environmentLegacy).map { key($0.bytes) } ?? ""
            counters.spansExcluded[env, default: 0] += 1
            return
        }
        let start = span.startTimeUnixNano
        // A span with end < start counts with duration 0 (rule 4).
        let end = max(span.endTimeUnixNano, start)
        let month = Month(unixNanos: start)
        let hour = UTCHour(unixNanos: start)
        let total = cost.total.value
        let isError = span.statusCode == .error
        let isRoot = span.isRoot

        let threshold = span.otelThreshold ?? recordThreshold
        let sampledMicro = SampledSpans.micro(threshold)
        if !budget.admits(cost, sampledMicro: sampledMicro) {
            // The run's rows were taken by the open slice's budget: they go into its maps first.
            flush(&run)
            startNewSlice()
        }
        budget.take(cost, sampledMicro: sampledMicro)
        if threshold != nil {
            counters.sampledSpans = EpochCounters.saturatingAdd(counters.sampledSpans, SampledSpans.whole(threshold))
        }

        counters.spansCounted += 1
        if cost.outcome == .unpriced { counters.spansUnpriced += 1 }
        if cost.clamped { counters.spansClamped += 1 }
        if cost.invalidUpstreamCost { counters.spansInvalidUpstreamCost += 1 }
        if cost.outOfRange { counters.spansCostOutOfRange += 1 }

        let sessionID = attrs.sessionID.map { key($0.bytes) } ?? baggageSessionID.map { BoundedText.key($0) }

        // Safe: every money and token sum below is over spans of this slice, whose budget (Σ of
        // magnitudes per column) is ≤ Int64.max; counts are bounded by the spans in memory.
        // Each row is updated in place through one `_modify` access of its dictionary (one hash lookup,
        // no copy of the row and its strings), not a read, a change and a write back; the transaction
        // and trace-hour rows through `run`, one lookup per run of spans with the same keys.
        // The root's name as a bounded key, built once for the transaction row and the root.
        let rootName: String? = isRoot ? key(span.name.bytes) : nil
        let transactionKey = TransactionKey(month: month, traceID: span.traceID)
        if run.transactionKey != transactionKey {
            flushTransaction(&run)
            run.transactionKey = transactionKey
        }
        Self.add(
            to: &run.transaction, rootName: rootName, attrs: attrs, sessionID: sessionID, cost: cost,
            sampledMicro: sampledMicro, isError: isError, start: start, end: end, key: key)

        let traceHourKey = TraceHourKey(hour: hour, traceID: span.traceID)
        if run.traceHourKey != traceHourKey {
            flushTraceHour(&run)
            run.traceHourKey = traceHourKey
        }
        Self.add(to: &run.traceHour, total: total)

        if let rootName, roots[span.traceID] == nil {
            roots[span.traceID] = RootSeen(hour: hour, transaction: rootName)
        }

        if let sessionID {
            counters.spansWithSession += 1
            Self.add(
                to: &sessions[SessionKey(month: month, sessionID: sessionID), default: SessionDelta()],
                attrs: attrs, cost: cost, start: start, end: end, key: key)
        }

        if let model = attrs.responseModel ?? attrs.requestModel {
            let modelKey = ModelKey(hour: hour, model: key(model.bytes), service: attrs.serviceName.map { key($0.bytes) } ?? "")
            Self.add(to: &models[modelKey, default: ModelDelta()], cost: cost)
        }
    }

    /// Puts the rows `run` holds into the maps and empties it.
    public mutating func flush(_ run: inout TraceRun) {
        flushTransaction(&run)
        flushTraceHour(&run)
    }

    private mutating func flushTransaction(_ run: inout TraceRun) {
        guard let k = run.transactionKey else { return }
        Self.add(to: &transactions[k, default: TransactionDelta()], later: &run.transaction)
        run.transactionKey = nil
    }

    private mutating func flushTraceHour(_ run: inout TraceRun) {
        guard let k = run.traceHourKey else { return }
        Self.add(to: &traceHours[k, default: TraceHourDelta()], run.traceHour)
        run.traceHourKey = nil
        run.traceHour = TraceHourDelta()
    }

    private static func add(
        to tx: inout TransactionDelta, rootName: String?, attrs: KnownAttributes, sessionID: String?,
        cost: SpanCost, sampledMicro: Int64, isError: Bool, start: UInt64, end: UInt64,
        key: (UnsafeRawBufferPointer) -> String
    ) {
        if let rootName {
            if tx.transaction == nil { tx.transaction = rootName }
            if tx.service == nil, let s = attrs.serviceName { tx.service = key(s.bytes) }
        }
        if tx.environment == nil, let e = attrs.environmentName ?? attrs.environmentLegacy {
            tx.environment = key(e.bytes)
        }
        if tx.sessionID == nil, let s = sessionID { tx.sessionID = s }
        tx.costNanoUSD += cost.total.value
        tx.computeNanoUSD += cost.compute.value
        tx.serverlessNanoUSD += cost.serverless.value
        tx.llmNanoUSD += cost.llm.value
        tx.spanCount += 1
        if isError { tx.errorCount += 1 }
        if cost.outcome == .unpriced { tx.unpricedCount += 1 }
        tx.inputTokens += cost.inputTokens
        tx.outputTokens += cost.outputTokens
        tx.sampledSpansMicro += sampledMicro
        tx.firstStartUnixNanos = min(tx.firstStartUnixNanos, start)
        tx.lastEndUnixNanos = max(tx.lastEndUnixNanos, end)
    }

    private static func add(to h: inout TraceHourDelta, total: Int64) {
        h.costNanoUSD += total
        h.spanCount += 1
    }

    /// Adds a run's row to the map's and leaves `later` empty. A row in a map has at least one span, so
    /// a row without spans is the one just made for the run: it takes the run's row whole (no copy of
    /// its strings).
    private static func add(to row: inout TransactionDelta, later: inout TransactionDelta) {
        if row.spanCount == 0 {
            swap(&row, &later)
        } else {
            // Safe: the run's spans and the row's were taken by the same slice's budget.
            row.addLater(later)
            later = TransactionDelta()
        }
    }

    private static func add(to h: inout TraceHourDelta, _ later: TraceHourDelta) {
        // Safe: the run's spans and the row's were taken by the same slice's budget.
        h.costNanoUSD += later.costNanoUSD
        h.spanCount += later.spanCount
    }

    private static func add(
        to s: inout SessionDelta, attrs: KnownAttributes, cost: SpanCost, start: UInt64, end: UInt64,
        key: (UnsafeRawBufferPointer) -> String
    ) {
        s.costNanoUSD += cost.total.value
        s.inputTokens += cost.inputTokens
        s.outputTokens += cost.outputTokens
        s.spanCount += 1
        if let depth = attrs.agentDepth {
            s.depthMax = max(s.depthMax ?? depth, depth)
            s.agentCount += 1
        }
        if attrs.agentCeilingHit == true { s.ceilingHits += 1 }
        if let p = attrs.agentParentSession { s.parentSession = SessionDelta.leastName(s.parentSession, key(p.bytes)) }
        s.firstStartUnixNanos = min(s.firstStartUnixNanos, start)
        s.lastEndUnixNanos = max(s.lastEndUnixNanos, end)
    }

    private static func add(to m: inout ModelDelta, cost: SpanCost) {
        m.costNanoUSD += cost.total.value
        m.inputTokens += cost.inputTokens
        m.outputTokens += cost.outputTokens
        m.calls += 1
    }
}

/// The `transactions` and `traceHours` rows of a run of consecutive spans with the same keys, added up
/// outside the epoch's maps (see ``EpochDelta/fold(_:cost:baggageSessionID:recordThreshold:keys:run:)``).
///
/// Guarantees: after ``EpochDelta/flush(_:)`` the maps hold exactly what folding the same spans one by
/// one would give them (names, service, environment and session first-non-nil in span order; sums;
/// earliest start, latest end). Belongs to one `EpochDelta` at a time, between two flushes.
public struct TraceRun: Sendable {
    var transactionKey: TransactionKey?
    var transaction = TransactionDelta()
    var traceHourKey: TraceHourKey?
    var traceHour = TraceHourDelta()

    public init() {}
}

extension TransactionDelta {
    /// Adds the spans of a later run of the same row, as folding them one by one after this row's spans
    /// would: the first non-nil name, service, environment and session win; sums add; earliest start,
    /// latest end. (Unlike ``merge(_:)``, which follows the ledger's upsert and prefers the root's row.)
    /// The caller guarantees the sums stay in range (both rows in one slice).
    mutating func addLater(_ later: TransactionDelta) {
        transaction = transaction ?? later.transaction
        service = service ?? later.service
        environment = environment ?? later.environment
        sessionID = sessionID ?? later.sessionID
        addSums(later)
        firstStartUnixNanos = min(firstStartUnixNanos, later.firstStartUnixNanos)
        lastEndUnixNanos = max(lastEndUnixNanos, later.lastEndUnixNanos)
    }
}
