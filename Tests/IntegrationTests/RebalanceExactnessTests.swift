import DevHarness
import Foundation
import Kafka
import Ledger
import LoadGen
import Logging
import Pipeline
import Testing
import TestSupport

@Suite("exactness through rebalances", .serialized)
struct RebalanceExactnessTests {
    @Test("a second worker joins mid-load and the first leaves mid-load: every trace, domain, session and model is still exact")
    func scaleOutAndIn() async throws {
        let scenario = try KafkaLedgerScenario("it_rebalance", topicPrefix: "rb", partitions: 12)
        // ~40 s of load at 4000 spans/s: B joins after ~10 s, A leaves after ~25 s.
        let (a, b, aLeft, manifest, produced) = try await scenario.scaleOutAndIn(
            LoadPlan(spans: 160_000, shape: .sdk, poisonFraction: 0.01, seed: 11, topic: scenario.topic, spansPerSecond: 4_000),
            joinAfter: .seconds(10), leaveAfter: .seconds(25))
        let committed = try await scenario.waitCommitted(Int64(produced), timeout: .seconds(180))
        try await b?.stop()
        #expect(committed)
        #expect(b != nil && aLeft, "both rebalances happened during the load")

        let (differences, invariants) = try scenario.compare(with: manifest)
        #expect(differences.count == 0, "\(differences.count) differences, first: \(differences.prefix(10).map(\.description))")
        #expect(invariants.isEmpty, "\(invariants)")
        // Both workers did part of the work.
        #expect(a.pipeline.progress.committedEpochs > 0)
        #expect((b?.pipeline.progress.committedEpochs ?? 0) > 0)
    }
}
