import Metrics

/// The budget gauges of one monitor: `traceledger_budget_usd{domain}`,
/// `traceledger_budget_utilization{domain}` and `traceledger_unattributed_share`.
///
/// Guarantees: one pair of labelled gauges per budgeted domain (bounded by the budgets file's
/// `BudgetFile.domainsMax`); a domain that leaves the file has its gauges destroyed. Used by one task.
struct BudgetGauges {
    private let factory: any MetricsFactory
    private var perDomain: [String: (budget: Gauge, utilization: Gauge)] = [:]
    private let unattributedShare: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        unattributedShare = Gauge(label: "traceledger_unattributed_share", factory: factory)
    }

    mutating func update(_ statuses: [BudgetStatus]) {
        var seen = Set<String>()
        for status in statuses {
            seen.insert(status.domain)
            let gauges = perDomain[status.domain] ?? (
                Gauge(label: "traceledger_budget_usd", dimensions: [("domain", status.domain)], factory: factory),
                Gauge(label: "traceledger_budget_utilization", dimensions: [("domain", status.domain)], factory: factory))
            perDomain[status.domain] = gauges
            gauges.budget.record(Double(status.budget.usdPer24hNano) / 1e9)
            gauges.utilization.record(status.utilization)
        }
        for (domain, gauges) in perDomain where !seen.contains(domain) {
            gauges.budget.destroy()
            gauges.utilization.destroy()
            perDomain[domain] = nil
        }
    }

    func update(unattributedShare share: Double) {
        unattributedShare.record(share)
    }
}
