/// The ledger's aggregates as read back from PostgreSQL, as plain values (the CLI's `verify` fills it; this
/// module never talks to a database). Same value types as the manifest:
/// - `traces`: `transactions` summed over months, keyed by 32 lowercase hex trace id;
/// - `domains`: `domain_hourly` + `pending_attribution` summed over hours, keyed by transaction name
///   (`(unattributed)` included if present; pending cost can be put under that name too);
/// - `sessions`: `sessions` keyed by session id (`depth_max` NULL → 0);
/// - `models`: `model_hourly` summed over hours, one element per (model, service);
/// - `rejectedRecords`: `rejected_records` counted by reason.
public struct LedgerSnapshot: Sendable, Hashable {
    public var traces: [String: TraceTotals]
    public var domains: [String: DomainTotals]
    public var sessions: [String: SessionTotals]
    public var models: [ModelTotals]
    public var rejectedRecords: [String: Int64]

    public init(
        traces: [String: TraceTotals] = [:], domains: [String: DomainTotals] = [:],
        sessions: [String: SessionTotals] = [:], models: [ModelTotals] = [], rejectedRecords: [String: Int64] = [:]
    ) {
        self.traces = traces
        self.domains = domains
        self.sessions = sessions
        self.models = models
        self.rejectedRecords = rejectedRecords
    }

    /// The snapshot an exact ledger would hold for `manifest` (for tests and dry runs).
    public init(expectedBy manifest: Manifest) {
        self.init(
            traces: manifest.traces, domains: manifest.domains, sessions: manifest.sessions,
            models: manifest.models, rejectedRecords: manifest.rejectedRecords)
    }
}

/// One difference between the manifest and the ledger.
public struct VerificationDifference: Sendable, Hashable, CustomStringConvertible {
    /// `traces`, `domains`, `sessions`, `models`, `rejected_records`.
    public var table: String
    /// The row key (trace hex, domain name, session id, `model|service`, reason).
    public var key: String
    /// The column, or `row` for a missing / unexpected row.
    public var field: String
    /// What the manifest says ("absent" when the row is not in the manifest).
    public var expected: String
    /// What the ledger says ("absent" when the row is not in the ledger).
    public var actual: String

    public var description: String {
        "\(table)[\(key)].\(field): expected \(expected), ledger has \(actual)"
    }
}

/// Compares a manifest with a ledger snapshot, field by field, to the nano-dollar.
public enum Verifier {
    /// The domain name the ledger uses for traces whose root never arrived.
    public static let unattributedDomain = "(unattributed)"

    /// All differences, sorted by table then key (empty = the ledger is exact).
    public static func compare(_ manifest: Manifest, _ ledger: LedgerSnapshot) -> [VerificationDifference] {
        var out: [VerificationDifference] = []
        // A manifest written before `sampled_spans` existed does not state it: not compared then.
        var ledgerTraces = ledger.traces
        for (k, e) in manifest.traces where e.sampledSpans == nil { ledgerTraces[k]?.sampledSpans = nil }
        out += rows("traces", manifest.traces, ledgerTraces, fields: traceFields)
        out += rows("domains", manifest.domains, ledger.domains, fields: domainFields)
        out += rows("sessions", manifest.sessions, ledger.sessions, fields: sessionFields)
        func keyed(_ models: [ModelTotals]) -> [String: ModelTotals] {
            var d: [String: ModelTotals] = [:]
            for m in models { d["\(m.model)|\(m.service)"] = m }
            return d
        }
        out += rows("models", keyed(manifest.models), keyed(ledger.models), fields: modelFields)
        let reasons = Set(manifest.rejectedRecords.keys).union(ledger.rejectedRecords.keys).sorted()
        for r in reasons {
            let e = manifest.rejectedRecords[r] ?? 0
            let a = ledger.rejectedRecords[r] ?? 0
            if e != a {
                out.append(VerificationDifference(table: "rejected_records", key: r, field: "count", expected: "\(e)", actual: "\(a)"))
            }
        }
        return out
    }

    private typealias Field<T> = (name: String, value: @Sendable (T) -> String)

    private static let traceFields: [Field<TraceTotals>] = [
        ("cost_nusd", { "\($0.costNanoUSD)" }), ("span_count", { "\($0.spanCount)" }),
        ("error_count", { "\($0.errorCount)" }), ("unpriced_count", { "\($0.unpricedCount)" }),
        ("input_tokens", { "\($0.inputTokens)" }), ("output_tokens", { "\($0.outputTokens)" }),
        ("transaction", { $0.transaction ?? "NULL" }), ("service", { $0.service ?? "NULL" }),
        ("sampled_spans", { $0.sampledSpans ?? "NULL" }),
    ]
    private static let domainFields: [Field<DomainTotals>] = [
        ("cost_nusd", { "\($0.costNanoUSD)" }), ("span_count", { "\($0.spanCount)" }),
        ("trace_count", { "\($0.traceCount)" }),
    ]
    private static let sessionFields: [Field<SessionTotals>] = [
        ("cost_nusd", { "\($0.costNanoUSD)" }), ("input_tokens", { "\($0.inputTokens)" }),
        ("output_tokens", { "\($0.outputTokens)" }), ("span_count", { "\($0.spanCount)" }),
        ("depth_max", { "\($0.depthMax)" }), ("agent_count", { "\($0.agentCount)" }),
        ("ceiling_hits", { "\($0.ceilingHits)" }), ("parent_session", { $0.parentSession ?? "NULL" }),
    ]
    private static let modelFields: [Field<ModelTotals>] = [
        ("cost_nusd", { "\($0.costNanoUSD)" }), ("input_tokens", { "\($0.inputTokens)" }),
        ("output_tokens", { "\($0.outputTokens)" }), ("calls", { "\($0.calls)" }),
    ]

    private static func rows<T>(
        _ table: String, _ expected: [String: T], _ actual: [String: T], fields: [Field<T>]
    ) -> [VerificationDifference] {
        var out: [VerificationDifference] = []
        for key in Set(expected.keys).union(actual.keys).sorted() {
            switch (expected[key], actual[key]) {
            case (let e?, let a?):
                for f in fields {
                    let ev = f.value(e)
                    let av = f.value(a)
                    if ev != av {
                        out.append(VerificationDifference(table: table, key: key, field: f.name, expected: ev, actual: av))
                    }
                }
            case (_?, nil):
                out.append(VerificationDifference(table: table, key: key, field: "row", expected: "present", actual: "absent"))
            case (nil, _?):
                out.append(VerificationDifference(table: table, key: key, field: "row", expected: "absent", actual: "present"))
            case (nil, nil):
                break
            }
        }
        return out
    }
}

/// How far a consumer group has read what a load produced (`traceledger verify --wait` and its hint).
public struct ConsumptionProgress: Sendable, Hashable, CustomStringConvertible {
    /// Records the group has passed (counted, rejected or recorded as a gap) up to the load's end offsets.
    public var consumed: Int64
    /// Records up to the load's end offsets (from offset 0: a topic's earlier records count too).
    public var produced: Int64
    /// Partitions whose stored offset is below the load's end offset.
    public var behind: [Int32]

    public var isComplete: Bool { behind.isEmpty }

    /// `expected`: the load's end offset per partition; `stored`: the group's `ingest_offsets.next_offset`
    /// per partition (absent = nothing committed yet).
    public init(expected: [Int32: Int64], stored: [Int32: Int64]) {
        var consumed: Int64 = 0
        var produced: Int64 = 0
        var behind: [Int32] = []
        for (p, end) in expected.sorted(by: { $0.key < $1.key }) {
            let at = stored[p] ?? 0
            produced += end
            consumed += min(at, end)
            if at < end { behind.append(p) }
        }
        self.consumed = consumed
        self.produced = produced
        self.behind = behind
    }

    /// From totals only (a manifest without end offsets): Σ stored offsets against the records produced.
    public init(records: Int64, storedTotal: Int64) {
        consumed = min(storedTotal, records)
        produced = records
        behind = storedTotal < records ? [-1] : []
    }

    public var description: String {
        "\(consumed) of \(produced) records consumed" + (behind.isEmpty || behind == [-1] ? "" : " (behind on partitions \(behind.map(String.init).joined(separator: ",")))")
    }
}
