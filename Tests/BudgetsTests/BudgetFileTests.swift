import Budgets
import Foundation
import Testing

@Suite("budgets file")
struct BudgetFileTests {
    @Test("the shipped config/budgets.yaml parses, with exact amounts and the default warn_at")
    func shippedFileParses() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../config/budgets.yaml").standardized.path
        let file = try BudgetFile.load(path: path)
        #expect(file.webhook == nil)
        let checkout = try #require(file.budgets.first { $0.domain == "POST /checkout" })
        #expect(checkout.usdPer24hNano == 15_000_000_000)
        #expect(checkout.warnAtBillionths == 800_000_000)
        let search = try #require(file.budgets.first { $0.domain == "GET /search" })
        #expect(search.warnAtBillionths == BudgetFile.defaultWarnAtBillionths)
        let agent = try #require(file.budgets.first { $0.domain == "agent.run" })
        #expect(agent.warnAtBillionths == 900_000_000)
    }

    @Test("a full file: every key, exact nano-USD, webhook URL")
    func fullFile() throws {
        let file = try BudgetFile.parse(
            """
            budgets:
              - domain: checkout
                usd_per_24h: "15.00"
                warn_at: 0.8
              - {domain: "GET /x", usd_per_24h: "0.000000001", warn_at: "1"}
              - domain: big
                usd_per_24h: 1000000000
            webhook: "https://hooks.example.com/a?b=c"
            """, file: "b.yaml")
        #expect(file.budgets == [
            Budget(domain: "checkout", usdPer24hNano: 15_000_000_000, warnAtBillionths: 800_000_000),
            Budget(domain: "GET /x", usdPer24hNano: 1, warnAtBillionths: 1_000_000_000),
            Budget(domain: "big", usdPer24hNano: 1_000_000_000_000_000_000, warnAtBillionths: 800_000_000),
        ])
        #expect(file.webhook == URL(string: "https://hooks.example.com/a?b=c"))
    }

    @Test("an empty budgets list is valid and means no budgets")
    func emptyList() throws {
        #expect(try BudgetFile.parse("budgets: []\n", file: "b.yaml").budgets.isEmpty)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var yaml: String
        var code: BudgetError.Code
        var line: Int
        var key: String?
        var testDescription: String { "\(code) at line \(line) key \(key ?? "-")" }
    }

    static let badFiles: [Bad] = [
        Bad(yaml: "budgets: []\nwebhok: http://x\n", code: .invalidStructure, line: 2, key: "webhok"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"1\"\n    warn: 0.5\n", code: .invalidStructure, line: 4, key: "budgets[0].warn"),
        Bad(yaml: "budgets:\n  - domain: a\n", code: .invalidStructure, line: 2, key: "budgets[0].usd_per_24h"),
        Bad(yaml: "budgets:\n  - usd_per_24h: \"1\"\n", code: .invalidStructure, line: 2, key: "budgets[0].domain"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"1e3\"\n", code: .invalidAmount, line: 3, key: "budgets[0].usd_per_24h"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"0.0000000001\"\n", code: .invalidAmount, line: 3, key: "budgets[0].usd_per_24h"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"-1\"\n", code: .invalidAmount, line: 3, key: "budgets[0].usd_per_24h"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"0\"\n", code: .invalidAmount, line: 3, key: "budgets[0].usd_per_24h"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"1000000000.5\"\n", code: .invalidAmount, line: 3, key: "budgets[0].usd_per_24h"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"1\"\n    warn_at: 0\n", code: .invalidAmount, line: 4, key: "budgets[0].warn_at"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"1\"\n    warn_at: 1.5\n", code: .invalidAmount, line: 4, key: "budgets[0].warn_at"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: \"1\"\n  - domain: a\n    usd_per_24h: \"2\"\n", code: .duplicateDomain, line: 4, key: "budgets[1].domain"),
        Bad(yaml: "budgets: []\nwebhook: ftp://x/y\n", code: .invalidWebhook, line: 2, key: "webhook"),
        Bad(yaml: "webhook: https://x/y\n", code: .invalidStructure, line: 1, key: "budgets"),
        Bad(yaml: "budgets: {a: 1}\n", code: .invalidStructure, line: 1, key: "budgets"),
        Bad(yaml: "budgets:\n  - domain: a\n    usd_per_24h: [\"1\"\n", code: .yamlSyntax, line: 4, key: nil),
    ]

    @Test("a bad file is refused with its line, the key and a reason", arguments: badFiles)
    func badFileRefused(_ bad: Bad) {
        #expect {
            _ = try BudgetFile.parse(bad.yaml, file: "bad.yaml")
        } throws: { error in
            guard let error = error as? BudgetError else { return false }
            let ok = error.code == bad.code && error.line == bad.line && error.key == bad.key && error.file == "bad.yaml"
            if !ok { Issue.record("got \(error.code) \(error)") }
            return ok && error.description.hasPrefix("bad.yaml:\(bad.line): ")
        }
    }

    @Test("an unreadable file names the budgets.file key")
    func unreadable() {
        #expect {
            _ = try BudgetFile.load(path: "/nonexistent/budgets.yaml")
        } throws: { error in
            (error as? BudgetError)?.code == .unreadable && (error as? BudgetError)?.key == "budgets.file"
        }
    }
}
