import Foundation
import Testing

@testable import Budgets

@Suite("budgets file reload")
struct BudgetFileWatcherTests {
    @Test("a poll reports new content once, a bad file once, and good content again after it")
    func reloadByContent() throws {
        let path = NSTemporaryDirectory() + "budgets-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let good = "budgets:\n  - {domain: a, usd_per_24h: \"1.5\"}\n"
        try good.write(toFile: path, atomically: true, encoding: .utf8)
        var watcher = BudgetFileWatcher(path: path)
        #expect(watcher.poll() == .loaded(BudgetFile(budgets: [Budget(domain: "a", usdPer24hNano: 1_500_000_000)])))
        #expect(watcher.poll() == .unchanged)

        try "budgets:\n  - {domain: a, usd_per_24h: \"1.5\", typo: 1}\n".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .failed(let error) = watcher.poll() else {
            Issue.record("a bad file must be reported")
            return
        }
        #expect(error.key == "budgets[0].typo")
        #expect(watcher.poll() == .unchanged, "the same bad content is not reported again")

        try FileManager.default.removeItem(atPath: path)
        guard case .failed(let missing) = watcher.poll() else {
            Issue.record("a missing file must be reported")
            return
        }
        #expect(missing.code == .unreadable)
        #expect(watcher.poll() == .unchanged)

        try good.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(watcher.poll() == .loaded(BudgetFile(budgets: [Budget(domain: "a", usdPer24hNano: 1_500_000_000)])))
    }
}
