import Budgets
import Foundation
import Logging
import MetricsTestKit
import Testing
import TestSupport

/// The budget monitor against a real PostgreSQL and a real HTTP listener: one webhook notice per
/// threshold crossing, for a pool of monitors on one database, re-armed after spend falls below.
@Suite(
    "BudgetMonitor",
    .enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"] != nil, "needs DATABASE_URL (scripts/with-postgres.sh)"))
struct BudgetMonitorTests {
    static func monitor(
        file: String, scratch: ScratchSchema, metrics: TestMetrics, retries: Int = 2, timeout: Duration = .seconds(5)
    ) throws -> BudgetMonitor {
        var logger = Logger(label: "budget-test")
        logger.logLevel = .critical
        return try BudgetMonitor(
            budgetsFile: file, conninfo: environmentDatabaseURL ?? "", schema: scratch.schema.name,
            checkInterval: .milliseconds(50), webhookTimeout: timeout, webhookRetries: retries,
            reloadInterval: .milliseconds(50), webhookBackoff: .milliseconds(20), metrics: metrics, logger: logger)
    }

    /// Waits until every monitor has completed `more` checks beyond now (so a duplicate would have had its chance).
    static func settle(_ monitors: [BudgetMonitor], more: Int = 4) async -> Bool {
        let start = monitors.map(\.checksCompleted)
        return await eventually(timeout: .seconds(60), every: .milliseconds(20)) {
            zip(monitors, start).allSatisfy { monitor, from in monitor.checksCompleted >= from + more }
        }
    }

    static func levels(_ listener: WebhookListener) -> [String] {
        listener.bodies.compactMap { body in
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]).flatMap { object in
                guard let domain = object["domain"] as? String, let level = object["level"] as? String else { return nil }
                return "\(domain):\(level)"
            }
        }
    }

    @Test("two monitors on one database send one webhook per crossing, and re-arm after spend falls below")
    func oncePerCrossingAcrossAPool() async throws {
        let scratch = try await ScratchSchema.migratedForBudgets()
        let listener = try WebhookListener()
        defer { listener.close() }
        let file = try budgetTempFile(
            """
            budgets:
              - {domain: "POST /checkout", usd_per_24h: "10.00", warn_at: 0.8}
              - {domain: quiet, usd_per_24h: "1"}
            webhook: "\(listener.url)"
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let metricsA = TestMetrics()
        let metricsB = TestMetrics()
        let monitors = [
            try Self.monitor(file: file, scratch: scratch, metrics: metricsA),
            try Self.monitor(file: file, scratch: scratch, metrics: metricsB),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for monitor in monitors { group.addTask { try await monitor.run() } }
            defer { group.cancelAll() }

            #expect(await Self.settle(monitors, more: 2))
            let synced = try await scratch.query(
                "SELECT transaction, usd_per_24h::text, warn_at::text FROM \(scratch.table("budgets")) ORDER BY transaction")
            #expect(synced == [["POST /checkout", "10.000000000", "0.8"], ["quiet", "1.000000000", "0.8"]])
            #expect(listener.requestsSeen == 0, "nothing crossed yet")

            // Under warn: nothing. Exactly at warn: one warn notice, from one of the two monitors.
            try await scratch.setSpend("POST /checkout", nano: 7_999_999_999)
            #expect(await Self.settle(monitors))
            #expect(listener.requestsSeen == 0)
            try await scratch.setSpend("POST /checkout", nano: 8_000_000_000)
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) { listener.bodies.count >= 1 })
            #expect(await Self.settle(monitors))
            #expect(Self.levels(listener) == ["POST /checkout:warn"])
            let first = try #require(listener.bodies.first)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
            #expect(object["spend_usd"] as? String == "8.000000000")
            #expect(object["budget_usd"] as? String == "10.000000000")
            #expect(object["window"] as? String == "24h")

            // More spend inside the warn band: no new notice. Past 100 %: one breach notice.
            try await scratch.setSpend("POST /checkout", nano: 9_500_000_000)
            #expect(await Self.settle(monitors))
            #expect(Self.levels(listener) == ["POST /checkout:warn"])
            try await scratch.setSpend("POST /checkout", nano: 12_000_000_000)
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) { listener.bodies.count >= 2 })
            #expect(await Self.settle(monitors))
            #expect(Self.levels(listener) == ["POST /checkout:warn", "POST /checkout:breach"])

            // The gauges of whichever monitor checked last read 120 %.
            let utilization = [metricsA, metricsB].compactMap {
                try? $0.expectGauge("traceledger_budget_utilization", [("domain", "POST /checkout")]).lastValue
            }
            #expect(utilization.count == 2 && utilization.allSatisfy { abs($0 - 1.2) < 1e-9 }, "\(utilization)")
            let budgetGauge = try metricsA.expectGauge("traceledger_budget_usd", [("domain", "POST /checkout")]).lastValue
            #expect(budgetGauge == 10)
            // domain_costs_24h joins the synced budgets table.
            let view = try await scratch.query(
                "SELECT budget_usd::text, utilization::text FROM \(scratch.table("domain_costs_24h")) WHERE transaction = 'POST /checkout'")
            #expect(view == [["10.000000000", "1.200000"]])

            // Falls below warn: both levels re-arm; crossing again notifies again (warn, then breach).
            try await scratch.setSpend("POST /checkout", nano: 1_000_000_000)
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) {
                (try? await scratch.query("SELECT count(*) FROM \(scratch.table("budget_alerts"))")) == [["0"]]
            })
            #expect(await Self.settle(monitors))
            #expect(listener.bodies.count == 2)
            try await scratch.setSpend("POST /checkout", nano: 8_500_000_000)
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) { listener.bodies.count >= 3 })
            try await scratch.setSpend("POST /checkout", nano: 10_000_000_000)
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) { listener.bodies.count >= 4 })
            #expect(await Self.settle(monitors))
            #expect(Self.levels(listener) == [
                "POST /checkout:warn", "POST /checkout:breach", "POST /checkout:warn", "POST /checkout:breach",
            ])
            #expect(monitors.map(\.noticesDelivered).reduce(0, +) == 4)
        }
        await scratch.drop()
    }

    @Test("a jump straight past the budget sends one breach notice; the unattributed share counts pending attribution")
    func jumpSendsHighestLevel() async throws {
        let scratch = try await ScratchSchema.migratedForBudgets()
        let listener = try WebhookListener()
        defer { listener.close() }
        let file = try budgetTempFile("budgets:\n  - {domain: d, usd_per_24h: \"1\"}\nwebhook: \"\(listener.url)\"\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let metrics = TestMetrics()
        let monitor = try Self.monitor(file: file, scratch: scratch, metrics: metrics)
        try await scratch.setSpend("d", nano: 3_000_000_000)
        try await scratch.setSpend("(unattributed)", nano: 1_000_000_000)
        _ = try await scratch.query(
            """
            INSERT INTO \(scratch.table("pending_attribution")) (month, trace_id, hour, cost_nusd, span_count, first_seen)
            VALUES (date_trunc('month', now(), 'UTC')::date, decode(repeat('ab', 16), 'hex'), date_trunc('hour', now(), 'UTC'),
                    1000000000, 1, now())
            """)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await monitor.run() }
            defer { group.cancelAll() }
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) { listener.bodies.count >= 1 })
            #expect(await Self.settle([monitor]))
            #expect(Self.levels(listener) == ["d:breach"])
            // (unattributed) 1 USD + pending 1 USD of 3 + 1 + 1 USD in the window.
            let share = try metrics.expectGauge("traceledger_unattributed_share").lastValue
            #expect(share == 0.4)
        }
        await scratch.drop()
    }

    @Test("a failing webhook is retried, then dropped and counted; a bad file keeps the last good budgets")
    func failuresAreCounted() async throws {
        let scratch = try await ScratchSchema.migratedForBudgets()
        let listener = try WebhookListener(failFirst: 100)
        defer { listener.close() }
        let good = "budgets:\n  - {domain: d, usd_per_24h: \"1\"}\nwebhook: \"\(listener.url)\"\n"
        let file = try budgetTempFile(good)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let metrics = TestMetrics()
        let monitor = try Self.monitor(file: file, scratch: scratch, metrics: metrics, retries: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await monitor.run() }
            defer { group.cancelAll() }
            #expect(await Self.settle([monitor], more: 2))
            try await scratch.setSpend("d", nano: 2_000_000_000)
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) {
                ((try? metrics.expectCounter("traceledger_webhook_failures_total").totalValue) ?? 0) >= 1
            })
            #expect(listener.requestsSeen == 3, "one attempt + 2 retries")
            #expect(monitor.noticesDelivered == 0)

            try "budgets:\n  - {domain: d, usd_per_24h: \"oops\"}\n".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) {
                ((try? metrics.expectCounter("traceledger_budgets_reload_failures_total").totalValue) ?? 0) >= 1
            })
            #expect(await Self.settle([monitor]))
            let kept = try await scratch.query("SELECT transaction, usd_per_24h::text FROM \(scratch.table("budgets"))")
            #expect(kept == [["d", "1.000000000"]])
            #expect(listener.requestsSeen == 3, "no new notice: the crossing is still recorded")
        }
        await scratch.drop()
    }

    @Test("a webhook that never answers times out per attempt, and the notice is dropped and counted")
    func silentWebhookTimesOut() async throws {
        let scratch = try await ScratchSchema.migratedForBudgets()
        let listener = try WebhookListener(silent: true)
        defer { listener.close() }
        let file = try budgetTempFile("budgets:\n  - {domain: d, usd_per_24h: \"1\"}\nwebhook: \"\(listener.url)\"\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let metrics = TestMetrics()
        // 2 s per attempt: long enough that a loaded machine still connects and sends before the timeout
        // (a 300 ms attempt sometimes gave up before the listener saw the request).
        let monitor = try Self.monitor(file: file, scratch: scratch, metrics: metrics, retries: 0, timeout: .seconds(2))
        try await scratch.setSpend("d", nano: 1_000_000_000)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await monitor.run() }
            defer { group.cancelAll() }
            #expect(await eventually(timeout: .seconds(60), every: .milliseconds(20)) {
                ((try? metrics.expectCounter("traceledger_webhook_failures_total").totalValue) ?? 0) >= 1
            })
            #expect(listener.requestsSeen == 1)
            #expect(monitor.noticesDelivered == 0)
            // The monitor kept checking while the webhook hung.
            #expect(await Self.settle([monitor]))
        }
        await scratch.drop()
    }
}
