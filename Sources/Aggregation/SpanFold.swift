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
        if !budget.admits(cost, sampledMicro: sampledMicro) { startNewSlice() }
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
        // no copy of the row and its strings), not a read, a change and a write back.
        // The root's name as a bounded key, built once for the transaction row and the root.
        let rootName: String? = isRoot ? key(span.name.bytes) : nil
        Self.add(
            to: &transactions[TransactionKey(month: month, traceID: span.traceID), default: TransactionDelta()],
            rootName: rootName, attrs: attrs, sessionID: sessionID, cost: cost, sampledMicro: sampledMicro,
            isError: isError, start: start, end: end, key: key)

        Self.add(to: &traceHours[TraceHourKey(hour: hour, traceID: span.traceID), default: TraceHourDelta()], total: total)

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
