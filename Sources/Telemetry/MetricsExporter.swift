public import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// One process's metrics: a swift-metrics factory backed by a Prometheus registry, plus the
/// ledger-side series that need a cardinality budget and exemplars (`traceledger_cost_nusd_total`).
///
/// Guarantees:
/// - Thread-safe (`Sendable`): metrics may be created and updated from any thread, and `render` may be
///   called concurrently with updates (a Prometheus registry and one `Mutex` for the cost series).
/// - `render(openMetrics: false)` is Prometheus text format 0.0.4; `render(openMetrics: true)` is
///   OpenMetrics 1.0 text (counter families named without `_total`, exemplars on the cost series,
///   terminated by `# EOF`).
/// - The cost-by-domain series never exposes more than `domainLabelBudget + 1` distinct `domain`
///   values over the life of the process (see ``DomainCostLedger``), and each of its values only grows.
/// - Never calls `MetricsSystem.bootstrap`: hand ``factory`` to the code that creates metrics.
public final class MetricsExporter: Sendable {
    /// The registry every metric made through ``factory`` lands in.
    private let registry: PrometheusCollectorRegistry
    private let prometheusFactory: PrometheusMetricsFactory
    private let costs: Mutex<DomainCostLedger>
    private let help: [String: String]

    /// The name of the cost-by-domain counter (rendered by this type, not by the registry).
    public static let costFamily = "traceledger_cost_nusd_total"

    /// - Parameters:
    ///   - domainLabelBudget: how many domains keep their own `domain` label value (at least 1);
    ///     the rest are summed under `domain="other"`.
    ///   - help: `# HELP` texts by family name (no `"` or `\`), added to the registry's output.
    public init(domainLabelBudget: Int = 20, help: [String: String] = MetricHelp.traceledger) {
        self.help = help
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Epoch write times: from a millisecond to a minute (a database that stalls).
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        // Spans per epoch: `flush.max_spans` defaults to 100 000.
        factory.valueHistogramBuckets["traceledger_epoch_spans"] = [
            1, 10, 100, 500, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
        ]
        self.registry = registry
        self.prometheusFactory = factory
        self.costs = Mutex(DomainCostLedger(labelBudget: max(1, domainLabelBudget)))
    }

    /// The swift-metrics factory to pass to `Counter(label:dimensions:factory:)` and friends (and to
    /// `PipelineService`). Never bootstrapped globally by this module.
    public var factory: any MetricsFactory { prometheusFactory }

    /// Cost committed per domain in one epoch, with the most expensive trace of that domain in the epoch.
    /// A domain's negative net cost in an epoch (credits) is not subtracted: counters only grow.
    public func recordDomainCost(_ costs: [DomainCost]) {
        let now = ContinuousClock.now
        self.costs.withLock { $0.record(costs, at: now) }
    }

    /// The distinct `domain` label values exposed so far (at most the budget + 1).
    public var domainLabels: [String] { costs.withLock { $0.labels } }

    /// The full exposition: Prometheus text 0.0.4, or OpenMetrics 1.0 (with exemplars, `# EOF`) when `openMetrics`.
    public func render(openMetrics: Bool) -> String {
        let base = MetricHelp.adding(help, to: registry.emitToString())
        let snapshot = costs.withLock { $0.snapshot(at: ContinuousClock.now) }
        if openMetrics {
            return OpenMetricsText.convert(prometheusText: base)
                + ExpositionText.costFamily(snapshot, name: Self.costFamily, openMetrics: true) + "# EOF\n"
        }
        return base + ExpositionText.costFamily(snapshot, name: Self.costFamily, openMetrics: false)
    }

    /// The `Content-Type` header for `render(openMetrics:)`.
    public static func contentType(openMetrics: Bool) -> String {
        openMetrics
            ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8"
    }

    /// Whether a request's `Accept` header asks for OpenMetrics.
    public static func prefersOpenMetrics(accept: String?) -> Bool {
        accept?.contains("application/openmetrics-text") ?? false
    }
}

/// One domain's committed cost in one epoch.
public struct DomainCost: Sendable, Equatable {
    /// The domain (root span name, `domain_hourly.transaction`).
    public var domain: String
    /// Net cost in nano-USD the epoch added to the domain.
    public var nanoUSD: Int128
    /// The trace of the domain that cost most in the epoch (32 lowercase hex), if known.
    public var topTraceIDHex: String?
    /// That trace's cost in the epoch, nano-USD.
    public var topTraceNanoUSD: Int128

    public init(domain: String, nanoUSD: Int128, topTraceIDHex: String? = nil, topTraceNanoUSD: Int128 = 0) {
        self.domain = domain
        self.nanoUSD = nanoUSD
        self.topTraceIDHex = topTraceIDHex
        self.topTraceNanoUSD = topTraceNanoUSD
    }
}
