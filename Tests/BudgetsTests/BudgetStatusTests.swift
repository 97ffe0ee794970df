import Budgets
import Foundation
import PropertyBased
import Testing

@Suite("budget levels and crossings")
struct BudgetStatusTests {
    let budget = Budget(domain: "d", usdPer24hNano: 15_000_000_000, warnAtBillionths: 800_000_000)

    @Test("thresholds are reached exactly at the nano-dollar")
    func exactThresholds() {
        #expect(BudgetStatus(budget: budget, spendNano: 0).level == .ok)
        #expect(BudgetStatus(budget: budget, spendNano: -5).level == .ok)
        #expect(BudgetStatus(budget: budget, spendNano: 11_999_999_999).level == .ok)
        #expect(BudgetStatus(budget: budget, spendNano: 12_000_000_000).level == .warn)
        #expect(BudgetStatus(budget: budget, spendNano: 14_999_999_999).level == .warn)
        #expect(BudgetStatus(budget: budget, spendNano: 15_000_000_000).level == .breach)
        #expect(BudgetStatus(budget: budget, spendNano: Int128.max).level == .breach)
        let one = Budget(domain: "d", usdPer24hNano: 10, warnAtBillionths: 1_000_000_000)
        #expect(BudgetStatus(budget: one, spendNano: 9).level == .ok)
        #expect(BudgetStatus(budget: one, spendNano: 10).level == .breach)
    }

    @Test("the level agrees with an independent rational comparison for any spend and budget")
    func levelMatchesRationalComparison() async {
        await propertyCheck(
            count: 500, input: Gen.int64(in: 1...1_000_000_000_000_000_000), Gen.int64(in: 1...1_000_000_000),
            Gen.int64(in: -10...2_000_000_000_000_000_000)
        ) { limit, warnAt, spend in
            let status = BudgetStatus(budget: Budget(domain: "d", usdPer24hNano: limit, warnAtBillionths: warnAt), spendNano: Int128(spend))
            // Independent: Foundation Decimal arithmetic on the ratio spend / limit.
            let ratio = Decimal(spend) / Decimal(limit)
            let warnRatio = Decimal(warnAt) / Decimal(1_000_000_000)
            let expected: BudgetLevel = spend >= limit ? .breach : (Decimal(spend) >= warnRatio * Decimal(limit) ? .warn : .ok)
            #expect(status.level == expected, "spend \(spend) limit \(limit) warn \(warnAt) ratio \(ratio)")
        }
    }

    @Test("use % and utilization text round toward zero")
    func displayTexts() {
        let status = BudgetStatus(budget: budget, spendNano: 12_345_678_901)
        #expect(status.usePercentText == "82.3")
        #expect(status.utilizationText == "0.823045")
        #expect(BudgetStatus(budget: budget, spendNano: 30_000_000_000).usePercentText == "200.0")
    }

    @Test("a plan arms the levels reached and re-arms the ones fallen below or unbudgeted")
    func plan() {
        let statuses = [
            BudgetStatus(budget: Budget(domain: "a", usdPer24hNano: 100), spendNano: 100),  // breach
            BudgetStatus(budget: Budget(domain: "b", usdPer24hNano: 100), spendNano: 85),  // warn
            BudgetStatus(budget: Budget(domain: "c", usdPer24hNano: 100), spendNano: 10),  // ok
        ]
        let recorded: Set = [
            BudgetAlertKey(domain: "b", level: .warn), BudgetAlertKey(domain: "b", level: .breach),
            BudgetAlertKey(domain: "c", level: .warn), BudgetAlertKey(domain: "gone", level: .warn),
        ]
        let plan = BudgetAlertPlan(statuses: statuses, recorded: recorded)
        #expect(plan.arm == [BudgetAlertKey(domain: "a", level: .warn), BudgetAlertKey(domain: "a", level: .breach)])
        #expect(plan.rearm == [
            BudgetAlertKey(domain: "b", level: .breach), BudgetAlertKey(domain: "c", level: .warn),
            BudgetAlertKey(domain: "gone", level: .warn),
        ])
        #expect(BudgetAlertPlan.notices(armed: plan.arm) == [BudgetAlertKey(domain: "a", level: .breach)])
        // Nothing changes when the recorded crossings already match.
        let steady = BudgetAlertPlan(statuses: statuses, recorded: Set(plan.arm + [BudgetAlertKey(domain: "b", level: .warn)]))
        #expect(steady.arm.isEmpty && steady.rearm.isEmpty)
    }

    @Test("the webhook body is JSON with exact money strings, whatever the domain holds")
    func webhookBody() throws {
        let status = BudgetStatus(
            budget: Budget(domain: "POST \"quoted\" \\ \n\u{1}é", usdPer24hNano: 15_000_000_000), spendNano: 12_000_000_001)
        let notice = WebhookNotice(status: status, level: .warn, at: Date(timeIntervalSince1970: 1_790_000_000))
        let object = try #require(try JSONSerialization.jsonObject(with: notice.json) as? [String: Any])
        #expect(object["domain"] as? String == status.domain)
        #expect(object["level"] as? String == "warn")
        #expect(object["spend_usd"] as? String == "12.000000001")
        #expect(object["budget_usd"] as? String == "15.000000000")
        #expect((object["utilization"] as? NSNumber)?.doubleValue == 0.8)
        #expect(object["window"] as? String == "24h")
        #expect(object["at"] as? String == "2026-09-21T14:13:20Z")
        #expect(Set(object.keys) == ["domain", "level", "spend_usd", "budget_usd", "utilization", "window", "at"])
    }
}
