/// How far a domain's 24-hour spend is into its budget. Ordered: `ok` < `warn` < `breach`.
public enum BudgetLevel: String, Sendable, Comparable, CaseIterable {
    /// Below `warn_at × budget`.
    case ok
    /// At or above `warn_at × budget`, below the budget.
    case warn
    /// At or above the budget (100 %).
    case breach

    public static func < (lhs: BudgetLevel, rhs: BudgetLevel) -> Bool { lhs.rank < rhs.rank }

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warn: 1
        case .breach: 2
        }
    }

    /// The alert levels a domain at this level has crossed: `breach` implies `warn`.
    var crossed: Set<BudgetLevel> {
        switch self {
        case .ok: []
        case .warn: [.warn]
        case .breach: [.warn, .breach]
        }
    }
}

/// One domain's budget against its spend over the last 24 hours, decided in exact integers.
///
/// Guarantees: ``level`` compares integers only (`spend ≥ budget` is a breach; `spend × 10⁹ ≥ warn_at × 10⁹ ×
/// budget` a warning), so a spend of exactly the threshold counts as reaching it, to the nano-dollar.
public struct BudgetStatus: Sendable, Equatable {
    public var budget: Budget
    /// Σ `domain_hourly.cost_nusd` of the window (saturated to `Int128`; a credit can make it negative).
    public var spendNano: Int128

    public init(budget: Budget, spendNano: Int128) {
        self.budget = budget
        self.spendNano = spendNano
    }

    public var domain: String { budget.domain }

    public var level: BudgetLevel {
        let limit = Int128(budget.usdPer24hNano)
        if spendNano >= limit { return .breach }
        if spendNano <= 0 { return .ok }
        // Safe: 0 < spend < limit ≤ 10¹⁸, so spend × 10⁹ < 10²⁷ and warn_at × limit ≤ 10²⁷, both far below 2¹²⁷.
        return spendNano * 1_000_000_000 >= Int128(budget.warnAtBillionths) * limit ? .warn : .ok
    }

    /// spend / budget, for gauges and JSON (a display value; decisions use ``level``).
    public var utilization: Double {
        Double(spendNano) / Double(budget.usdPer24hNano)
    }

    /// spend / budget rounded toward zero to 6 decimals, exact text (`"0.812345"`).
    public var utilizationText: String {
        let millionths = Self.scaledRatio(spendNano, Int128(budget.usdPer24hNano), scale: 1_000_000)
        let negative = millionths < 0
        let magnitude = negative ? -millionths : millionths
        let fraction = String(magnitude % 1_000_000)
        return (negative ? "-" : "") + "\(magnitude / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// Use in percent with one decimal, rounded toward zero (`"81.2"`).
    public var usePercentText: String {
        let tenths = Self.scaledRatio(spendNano, Int128(budget.usdPer24hNano), scale: 1_000)
        let negative = tenths < 0
        let magnitude = negative ? -tenths : tenths
        return (negative ? "-" : "") + "\(magnitude / 10).\(magnitude % 10)"
    }

    /// `value × scale / divisor` rounded toward zero, saturating instead of overflowing.
    private static func scaledRatio(_ value: Int128, _ divisor: Int128, scale: Int128) -> Int128 {
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        if overflow { return value < 0 ? Int128.min / 2 : Int128.max / 2 }
        return product / divisor
    }
}

/// An alert level a domain has crossed and not yet fallen back below: one row of `budget_alerts`.
public struct BudgetAlertKey: Hashable, Sendable, Comparable {
    public var domain: String
    public var level: BudgetLevel

    public init(domain: String, level: BudgetLevel) {
        self.domain = domain
        self.level = level
    }

    public static func < (lhs: BudgetAlertKey, rhs: BudgetAlertKey) -> Bool {
        (lhs.domain, lhs.level) < (rhs.domain, rhs.level)
    }
}

/// The pure decision of one check: which alert levels to arm (record as crossed) and which to re-arm
/// (forget, because spend fell back below), given the statuses and the crossings already recorded.
///
/// Guarantees: after applying it, the recorded crossings are exactly the levels each budgeted domain is at
/// or above; a crossing of a domain no longer budgeted is forgotten. Output is sorted (stable SQL order).
public struct BudgetAlertPlan: Sendable, Equatable {
    public var arm: [BudgetAlertKey]
    public var rearm: [BudgetAlertKey]

    public init(statuses: [BudgetStatus], recorded: Set<BudgetAlertKey>) {
        var target = Set<BudgetAlertKey>()
        for status in statuses {
            for level in status.level.crossed { target.insert(BudgetAlertKey(domain: status.domain, level: level)) }
        }
        arm = target.subtracting(recorded).sorted()
        rearm = recorded.subtracting(target).sorted()
    }

    /// Of the levels this check newly armed, the ones to notify: the highest per domain (a jump from under
    /// warn straight past the budget is one `breach` notice, not a `warn` and a `breach`).
    public static func notices(armed: [BudgetAlertKey]) -> [BudgetAlertKey] {
        var highest: [String: BudgetLevel] = [:]
        for key in armed { highest[key.domain] = max(highest[key.domain] ?? .ok, key.level) }
        return highest.map { BudgetAlertKey(domain: $0.key, level: $0.value) }.sorted()
    }
}
