import Foundation
public import Ledger

/// The budget queries and writes on the ledger schema: the `budgets` table (synced from the file),
/// domain spend over the last 24 hours, the unattributed share, and the `budget_alerts` crossings.
///
/// Guarantees: SQL text is built only from the validated ``SchemaName`` and constants; every value is a
/// parameter. The 24-hour window is the one of the `domain_costs_24h` view: the hours from
/// `date_trunc('hour', now()) − 23 h` on (database clock). Every method blocks: call it on the
/// connection's own thread (a `LedgerWorkerThread`), never on the cooperative pool.
public struct BudgetStore: Sendable {
    public var schema: SchemaName

    public init(schema: SchemaName) {
        self.schema = schema
    }

    private func table(_ name: String) -> String { "\(schema.quoted).\"\(name)\"" }

    private static let windowStart = "date_trunc('hour', now(), 'UTC') - interval '23 hours'"

    /// Serialises budget writers of one schema (sync, alert checks) across a pool of workers; released at
    /// the end of the transaction.
    private func lock(_ connection: PGConnection) throws {
        try connection.execute(
            "SELECT pg_advisory_xact_lock(hashtext('traceledger.budgets'), hashtext($1::text))", [.text(schema.name)])
    }

    /// Makes the `budgets` table hold exactly `budgets` (one transaction; unchanged rows keep `updated_at`).
    public func sync(_ budgets: [Budget], on connection: PGConnection) throws {
        try connection.transaction { connection in
            try lock(connection)
            try connection.execute(
                "DELETE FROM \(table("budgets")) WHERE transaction NOT IN (SELECT json_array_elements_text($1::json))",
                [.text(Self.jsonArray(budgets.map(\.domain)))])
            for budget in budgets {
                try connection.execute(
                    """
                    INSERT INTO \(table("budgets")) (transaction, usd_per_24h, warn_at, updated_at)
                    VALUES ($1, $2::numeric, $3::numeric, now())
                    ON CONFLICT (transaction) DO UPDATE SET usd_per_24h = EXCLUDED.usd_per_24h,
                        warn_at = EXCLUDED.warn_at, updated_at = now()
                    WHERE (\(table("budgets")).usd_per_24h, \(table("budgets")).warn_at)
                        IS DISTINCT FROM (EXCLUDED.usd_per_24h, EXCLUDED.warn_at)
                    """,
                    [.text(budget.domain), .text(budget.usdText), .text(budget.warnAtText)])
            }
        }
    }

    /// Each budget with its domain's spend over the last 24 hours (0 when nothing was spent), in `budgets` order.
    public func statuses(of budgets: [Budget], on connection: PGConnection) throws -> [BudgetStatus] {
        guard !budgets.isEmpty else { return [] }
        let result = try connection.execute(
            """
            WITH wanted(transaction) AS (SELECT json_array_elements_text($1::json))
            SELECT w.transaction, COALESCE(sum(d.cost_nusd), 0)::text
            FROM wanted w
            LEFT JOIN \(table("domain_hourly")) d ON d.transaction = w.transaction AND d.hour >= \(Self.windowStart)
            GROUP BY w.transaction
            """,
            [.text(Self.jsonArray(budgets.map(\.domain)))])
        var spend: [String: Int128] = [:]
        for row in result.rows {
            guard row.count == 2, let domain = row[0], let text = row[1], let value = ExactDecimal.integer(text) else {
                throw LedgerError(.unexpectedResult, message: "budget spend row is not (text, integer): \(row)")
            }
            spend[domain] = value
        }
        return budgets.map { BudgetStatus(budget: $0, spendNano: spend[$0.domain] ?? 0) }
    }

    /// Share of the last 24 hours' cost not attributed to a domain: (`(unattributed)` in `domain_hourly` +
    /// all of `pending_attribution`) / (all of `domain_hourly` + `pending_attribution`); 0 with no cost,
    /// clamped to [0, 1] (credits can make the parts odd).
    public func unattributedShare(on connection: PGConnection) throws -> Double {
        let domains = try connection.execute(
            """
            SELECT COALESCE(sum(cost_nusd) FILTER (WHERE transaction = $1), 0)::text, COALESCE(sum(cost_nusd), 0)::text
            FROM \(table("domain_hourly")) WHERE hour >= \(Self.windowStart)
            """,
            [.text(LedgerEpochWriter.unattributed)])
        let pending = try connection.execute(
            """
            SELECT COALESCE(sum(cost_nusd), 0)::text FROM \(table("pending_attribution"))
            WHERE hour >= \(Self.windowStart) AND month >= (date_trunc('month', now() - interval '1 day', 'UTC'))::date
            """)
        guard let unattributed = domains.string(0, 0).flatMap(ExactDecimal.integer),
            let total = domains.string(0, 1).flatMap(ExactDecimal.integer),
            let waiting = pending.string(0, 0).flatMap(ExactDecimal.integer)
        else {
            throw LedgerError(.unexpectedResult, message: "unattributed share: sums are not integers")
        }
        let (numerator, o1) = unattributed.addingReportingOverflow(waiting)
        let (denominator, o2) = total.addingReportingOverflow(waiting)
        guard !o1, !o2, denominator > 0 else { return 0 }
        return min(1, max(0, Double(numerator) / Double(denominator)))
    }

    /// What one alert check found and did.
    public struct CheckOutcome: Sendable, Equatable {
        public var statuses: [BudgetStatus]
        /// Levels this check recorded as crossed (its `INSERT … ON CONFLICT DO NOTHING` inserted the row).
        public var armed: [BudgetAlertKey]
        /// Levels this check forgot because spend fell back below them.
        public var rearmed: [BudgetAlertKey]
    }

    /// Reads the spend of `budgets` and records the crossings in `budget_alerts`, in one transaction under
    /// the schema's budget lock, so that of a pool of workers exactly one records (and so notifies) each
    /// crossing, and a level fallen back below is re-armed for its next crossing.
    public func checkAlerts(_ budgets: [Budget], on connection: PGConnection) throws -> CheckOutcome {
        try connection.transaction { connection in
            try lock(connection)
            let statuses = try statuses(of: budgets, on: connection)
            let rows = try connection.execute("SELECT transaction, level FROM \(table("budget_alerts"))")
            var recorded = Set<BudgetAlertKey>()
            for row in rows.rows {
                guard row.count == 2, let domain = row[0], let level = row[1].flatMap(BudgetLevel.init(rawValue:)) else {
                    throw LedgerError(.unexpectedResult, message: "budget_alerts row is not (text, warn|breach): \(row)")
                }
                recorded.insert(BudgetAlertKey(domain: domain, level: level))
            }
            let plan = BudgetAlertPlan(statuses: statuses, recorded: recorded)
            let byDomain = Dictionary(statuses.map { ($0.domain, $0) }, uniquingKeysWith: { first, _ in first })
            for key in plan.rearm {
                try connection.execute(
                    "DELETE FROM \(table("budget_alerts")) WHERE transaction = $1 AND level = $2",
                    [.text(key.domain), .text(key.level.rawValue)])
            }
            var armed: [BudgetAlertKey] = []
            for key in plan.arm {
                let status = byDomain[key.domain]
                let inserted = try connection.execute(
                    """
                    INSERT INTO \(table("budget_alerts")) (transaction, level, spend_nusd, budget_nusd)
                    VALUES ($1, $2, $3::numeric, $4::numeric)
                    ON CONFLICT (transaction, level) DO NOTHING
                    RETURNING 1
                    """,
                    [.text(key.domain), .text(key.level.rawValue), .text(String(status?.spendNano ?? 0)),
                     .text(String(status?.budget.usdPer24hNano ?? 0))])
                if !inserted.rows.isEmpty { armed.append(key) }
            }
            return CheckOutcome(statuses: statuses, armed: armed, rearmed: plan.rearm)
        }
    }

    /// A JSON array of strings (exact escaping by Foundation), for `json_array_elements_text`.
    static func jsonArray(_ strings: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: strings, options: [])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
