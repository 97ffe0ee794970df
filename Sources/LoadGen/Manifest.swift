public import Foundation
internal import TraceContext

@inline(__always)
private func modify<T>(_ value: inout T, _ body: (inout T) -> Void) { body(&value) }

/// Why a record is rejected (docs/ledger.md reason codes; raw values are the codes).
public enum RejectReason: String, Codable, Sendable, CaseIterable, Hashable {
    case undecodable
    case empty
    case tooLarge = "too_large"
    case timestampOutOfRange = "timestamp_out_of_range"
    case badIDs = "bad_ids"
}

/// Per-trace totals (the `transactions` table). Excluded spans are not counted.
public struct TraceTotals: Codable, Sendable, Hashable {
    public var costNanoUSD: Int64 = 0
    public var spanCount: Int64 = 0
    public var errorCount: Int64 = 0
    public var unpricedCount: Int64 = 0
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    /// Root span name; nil until the root is seen.
    public var transaction: String?
    /// Root's `service.name`.
    public var service: String?
    /// `transactions.sampled_spans` as the ledger prints it (`6.000000`): Σ of the spans' sampling
    /// adjusted counts (``ReferenceSampling``). nil in manifests written before the column existed
    /// (then it is not compared).
    public var sampledSpans: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case costNanoUSD = "cost_nusd", spanCount = "span_count", errorCount = "error_count"
        case unpricedCount = "unpriced_count", inputTokens = "input_tokens", outputTokens = "output_tokens"
        case transaction, service, sampledSpans = "sampled_spans"
    }
}

/// Per-domain totals (the `domain_hourly` table summed over hours). A trace's whole cost is attributed to
/// its ROOT's name; `traceCount` counts roots.
public struct DomainTotals: Codable, Sendable, Hashable {
    public var costNanoUSD: Int64 = 0
    public var spanCount: Int64 = 0
    public var traceCount: Int64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case costNanoUSD = "cost_nusd", spanCount = "span_count", traceCount = "trace_count"
    }
}

/// Per-session totals (the `sessions` table): only spans that carry `session.id`.
public struct SessionTotals: Codable, Sendable, Hashable {
    public var costNanoUSD: Int64 = 0
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var spanCount: Int64 = 0
    /// Greatest `agent.depth` (0 when no span has one).
    public var depthMax: Int64 = 0
    /// Spans with `agent.depth`.
    public var agentCount: Int64 = 0
    /// Spans with `agent.ceiling_hit` = true.
    public var ceilingHits: Int64 = 0
    /// The least `agent.parent_session` in UTF-8 byte order (the generator keeps it constant per session).
    public var parentSession: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case costNanoUSD = "cost_nusd", inputTokens = "input_tokens", outputTokens = "output_tokens"
        case spanCount = "span_count", depthMax = "depth_max", agentCount = "agent_count"
        case ceilingHits = "ceiling_hits", parentSession = "parent_session"
    }
}

/// Per (model, service) totals (the `model_hourly` table summed over hours): spans that name a model.
public struct ModelTotals: Codable, Sendable, Hashable {
    public var model: String
    public var service: String
    public var costNanoUSD: Int64 = 0
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var calls: Int64 = 0

    public init(model: String, service: String) {
        self.model = model
        self.service = service
    }

    enum CodingKeys: String, CodingKey {
        case model, service, costNanoUSD = "cost_nusd", inputTokens = "input_tokens"
        case outputTokens = "output_tokens", calls
    }
}

/// Whole-run totals.
public struct ManifestTotals: Codable, Sendable, Hashable {
    /// Records produced (accepted + rejected).
    public var records: Int64 = 0
    public var rejectedRecords: Int64 = 0
    /// Spans in accepted records, excluded ones included.
    public var spans: Int64 = 0
    public var excludedSpans: Int64 = 0
    public var unpricedSpans: Int64 = 0
    public var clampedSpans: Int64 = 0
    /// Spans priced by a valid `cost.usd`.
    public var upstreamCostSpans: Int64 = 0
    /// Spans whose `cost.usd` was invalid and ignored.
    public var invalidUpstreamCostSpans: Int64 = 0
    public var costNanoUSD: Int64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case records, rejectedRecords = "rejected_records", spans, excludedSpans = "excluded_spans"
        case unpricedSpans = "unpriced_spans", clampedSpans = "clamped_spans"
        case upstreamCostSpans = "upstream_cost_spans", invalidUpstreamCostSpans = "invalid_upstream_cost_spans"
        case costNanoUSD = "cost_nusd"
    }
}

/// What the load generator sent, as the ledger should show it: the expected totals, computed by the
/// independent `ReferencePricer`. Per content, not per partition (the producer picks partitions).
///
/// JSON (`jsonData()`): snake_case keys, sorted, trace ids as 32 lowercase hex, money as integer nano-USD:
/// `{"format_version":1,"generator":{…},"totals":{…},"traces":{"<hex>":{…}},"domains":{"POST /checkout":{…}},
///   "sessions":{"<id>":{…}},"models":[{"model":…,"service":…,…}],"rejected_records":{"bad_ids":3},
///   "excluded_spans":{"staging":120}}`
public struct Manifest: Codable, Sendable, Hashable {
    /// How the traffic was generated (informational; not compared).
    public struct GeneratorInfo: Codable, Sendable, Hashable {
        public var seed: UInt64
        public var shape: String
        public var recordTimeNanos: UInt64
        public init(seed: UInt64, shape: String, recordTimeNanos: UInt64) {
            self.seed = seed
            self.shape = shape
            self.recordTimeNanos = recordTimeNanos
        }
        enum CodingKeys: String, CodingKey {
            case seed, shape, recordTimeNanos = "record_time_unix_nano"
        }
    }

    /// Where the load ended in Kafka: per partition of `topic`, the high watermark right after the
    /// load was flushed (`traceledger verify --wait` waits for the group's `ingest_offsets` to reach it).
    /// nil in manifests not written by `traceledger loadgen`.
    public struct ProducedOffsets: Codable, Sendable, Hashable {
        public var topic: String
        /// Partition (decimal, a JSON object key) → offset after the last record produced.
        public var endOffsets: [String: Int64]
        public init(topic: String, endOffsets: [Int32: Int64]) {
            self.topic = topic
            self.endOffsets = Dictionary(uniqueKeysWithValues: endOffsets.map { (String($0.key), $0.value) })
        }
        /// `endOffsets` by partition number.
        public var partitions: [Int32: Int64] {
            Dictionary(uniqueKeysWithValues: endOffsets.compactMap { k, v in Int32(k).map { ($0, v) } })
        }
        enum CodingKeys: String, CodingKey { case topic, endOffsets = "end_offsets" }
    }

    public var formatVersion: Int = 1
    public var generator: GeneratorInfo?
    public var produced: ProducedOffsets?
    public var totals = ManifestTotals()
    /// Trace id (32 lowercase hex) → totals.
    public var traces: [String: TraceTotals] = [:]
    /// Root span name → totals.
    public var domains: [String: DomainTotals] = [:]
    /// `session.id` → totals.
    public var sessions: [String: SessionTotals] = [:]
    /// Sorted by (model, service).
    public var models: [ModelTotals] = []
    /// Reason code → count.
    public var rejectedRecords: [String: Int64] = [:]
    /// Environment → excluded span count.
    public var excludedSpans: [String: Int64] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", generator, produced, totals, traces, domains, sessions, models
        case rejectedRecords = "rejected_records", excludedSpans = "excluded_spans"
    }

    /// Deterministic pretty JSON (sorted keys).
    public func jsonData() throws(LoadGenError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            return try encoder.encode(self)
        } catch {
            throw LoadGenError(.manifestInvalid, "encode: \(error)")
        }
    }

    /// Reads a manifest written by `jsonData()`.
    public init(jsonData data: Data) throws(LoadGenError) {
        do {
            self = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw LoadGenError(.manifestInvalid, "decode: \(error)")
        }
    }
}

/// Folds priced spans and record outcomes into a `Manifest`. Additive and order-independent for
/// everything it sums (max for `depth_max`, first non-nil for names).
public struct ManifestBuilder: Sendable {
    private var state = Manifest()
    /// Keyed by id (hex only when the manifest is read: formatting per span is costly).
    private var traces: [TraceID: TraceTotals] = [:]
    private var models: [ModelKey: ModelTotals] = [:]
    /// Σ adjusted counts per trace, in micro-spans.
    private var sampledMicro: [TraceID: Int64] = [:]

    private struct ModelKey: Hashable, Sendable {
        var model: String
        var service: String
    }

    public init(generator: Manifest.GeneratorInfo? = nil) {
        state.generator = generator
    }

    /// A record that will be rejected for `reason`.
    public mutating func recordRejected(_ reason: RejectReason) {
        state.totals.records += 1
        state.totals.rejectedRecords += 1
        state.rejectedRecords[reason.rawValue, default: 0] += 1
    }

    /// An accepted record; add its spans with `add(span:price:)`.
    public mutating func recordAccepted() {
        state.totals.records += 1
    }

    /// One span of an accepted record, with its reference price and its sampling adjusted count in
    /// micro-spans (``ReferenceSampling/micro(traceState:)``; 10^6 = unsampled).
    public mutating func add(span: SpanFacts, price: ReferencePrice, sampledMicro: Int64 = 1_000_000) {
        state.totals.spans += 1
        if price.outcome == .excluded {
            state.totals.excludedSpans += 1
            state.excludedSpans[span.environment ?? "", default: 0] += 1
            return
        }
        let cost = price.costNanoUSD
        let unpriced: Int64 = price.outcome == .unpriced ? 1 : 0
        let input = span.inputTokens ?? 0
        let output = span.outputTokens ?? 0
        state.totals.costNanoUSD += cost
        state.totals.unpricedSpans += unpriced
        if price.clamped { state.totals.clampedSpans += 1 }
        if price.outcome == .upstream { state.totals.upstreamCostSpans += 1 }
        if price.invalidUpstreamCost { state.totals.invalidUpstreamCostSpans += 1 }

        do {
            // In place: no copy of the row per span.
            let isRoot = span.isRoot
            let isError: Int64 = span.isError ? 1 : 0
            modify(&traces[span.traceID, default: TraceTotals()]) { t in
                t.costNanoUSD += cost
                t.spanCount += 1
                t.errorCount += isError
                t.unpricedCount += unpriced
                t.inputTokens += input
                t.outputTokens += output
                if isRoot {
                    t.transaction = span.name
                    t.service = span.serviceName
                }
            }
            self.sampledMicro[span.traceID, default: 0] += sampledMicro
        }

        if let id = span.sessionID {
            var s = state.sessions[id] ?? SessionTotals()
            s.costNanoUSD += cost
            s.inputTokens += input
            s.outputTokens += output
            s.spanCount += 1
            if let depth = span.agentDepth {
                s.agentCount += 1
                s.depthMax = max(s.depthMax, depth)
            }
            s.ceilingHits += span.agentCeilingHit ? 1 : 0
            // The least name in UTF-8 byte order, as the ledger keeps it (order-independent).
            if let p = span.agentParentSession, s.parentSession.map({ p.utf8.lexicographicallyPrecedes($0.utf8) }) ?? true {
                s.parentSession = p
            }
            state.sessions[id] = s
        }

        if let model = span.model {
            let key = ModelKey(model: model, service: span.serviceName ?? "")
            var m = models[key] ?? ModelTotals(model: key.model, service: key.service)
            m.costNanoUSD += cost
            m.inputTokens += input
            m.outputTokens += output
            m.calls += 1
            models[key] = m
        }
    }

    /// The manifest so far. Domains are derived here from the traces: each trace's totals go to its root's
    /// name, or to `(unattributed)` when its root never came.
    public var manifest: Manifest {
        var m = state
        m.traces = Dictionary(
            uniqueKeysWithValues: traces.map { id, totals in
                var t = totals
                t.sampledSpans = ReferenceSampling.text(micro: sampledMicro[id] ?? 0)
                return (id.description, t)
            })
        m.models = models.values.sorted { ($0.model, $0.service) < ($1.model, $1.service) }
        var domains: [String: DomainTotals] = [:]
        for t in m.traces.values {
            let name = t.transaction ?? Verifier.unattributedDomain
            var d = domains[name] ?? DomainTotals()
            d.costNanoUSD += t.costNanoUSD
            d.spanCount += t.spanCount
            d.traceCount += t.transaction == nil ? 0 : 1
            domains[name] = d
        }
        m.domains = domains
        return m
    }
}
