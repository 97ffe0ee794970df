/// The state behind `traceledger_cost_nusd_total{domain}`: per-label totals under a cardinality budget,
/// and one exemplar (the most expensive recent trace) per label. A value type; ``MetricsExporter``
/// keeps it behind a `Mutex`.
///
/// Label policy (a choice for counter semantics over freshness of the ranking): a domain gets its own
/// label the first time it adds a positive cost while fewer than `labelBudget` domains have one (within
/// one epoch, the larger spenders first); once given, a label is never taken back or reassigned, so every
/// series only grows and never disappears. Every other domain (and a domain literally named `other`) is
/// summed under `other`. Hence at most `labelBudget + 1` distinct values, ever.
///
/// Counter semantics: an epoch's net cost of a domain is added only when positive; credits (negative
/// `cost.usd`) are not subtracted (the ledger tables are exact; this series is a rate signal).
public struct DomainCostLedger: Sendable {
    /// The label value of the overflow series.
    public static let otherLabel = "other"
    /// How long an exemplar stays when no trace costs as much: after this, the next epoch's top trace
    /// replaces it even if cheaper ("recent").
    public static let exemplarMaxAge = Duration.seconds(300)

    /// The trace an OpenMetrics exemplar names: its id (32 lowercase hex) and cost in its epoch.
    public struct Exemplar: Sendable, Equatable {
        public var traceIDHex: String
        public var nanoUSD: Int128
        public var recordedAt: ContinuousClock.Instant
    }

    /// One exposed series: a label value, its running total (only grows), and its exemplar if any.
    public struct Series: Sendable, Equatable {
        public var label: String
        public var totalNanoUSD: Int128
        public var exemplar: Exemplar?
    }

    public let labelBudget: Int
    /// Domains holding their own label, in the order they got it.
    public private(set) var labels: [String] = []
    private var ownLabel: Set<String> = []
    private var series: [String: Series] = [:]

    public init(labelBudget: Int) {
        precondition(labelBudget >= 1, "the domain label budget must be at least 1")
        self.labelBudget = labelBudget
    }

    /// The label a domain's cost goes to (assigning one if the budget allows).
    mutating func label(for domain: String) -> String {
        if ownLabel.contains(domain) { return domain }
        if domain != Self.otherLabel, labels.count < labelBudget {
            labels.append(domain)
            ownLabel.insert(domain)
            return domain
        }
        if !ownLabel.contains(Self.otherLabel) {
            labels.append(Self.otherLabel)
            ownLabel.insert(Self.otherLabel)
        }
        return Self.otherLabel
    }

    /// Adds one epoch's costs.
    public mutating func record(_ costs: [DomainCost], at now: ContinuousClock.Instant) {
        // Larger spenders first, so that they take free labels before smaller ones of the same epoch.
        let ordered = costs.filter { $0.nanoUSD > 0 }.sorted { ($0.nanoUSD, $1.domain) > ($1.nanoUSD, $0.domain) }
        for c in ordered {
            let l = label(for: c.domain)
            var s = series[l] ?? Series(label: l, totalNanoUSD: 0, exemplar: nil)
            // Safe from overflow in practice: Int128 holds 1.7e38 nano-USD; each epoch adds < 2^63 per row.
            s.totalNanoUSD += c.nanoUSD
            if let trace = c.topTraceIDHex, c.topTraceNanoUSD > 0 {
                let stale = s.exemplar.map { now - $0.recordedAt > Self.exemplarMaxAge } ?? true
                if stale || c.topTraceNanoUSD >= (s.exemplar?.nanoUSD ?? 0) {
                    s.exemplar = Exemplar(traceIDHex: trace, nanoUSD: c.topTraceNanoUSD, recordedAt: now)
                }
            }
            series[l] = s
        }
    }

    /// Every series, sorted by label.
    public func snapshot(at now: ContinuousClock.Instant) -> [Series] {
        series.values.sorted { $0.label < $1.label }
    }
}
