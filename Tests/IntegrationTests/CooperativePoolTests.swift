import DevHarness
import Foundation
import Testing
import TestSupport

/// The shards run on Swift's cooperative pool, one per core by default, so they could hold every one of
/// its threads; the worker's other tasks (HTTP handlers, timers, services) share that pool. A worker
/// folding a backlog must leave them time.
@Suite("the cooperative pool while the shards fold a backlog (real Postgres + mock Kafka)", .serialized)
struct CooperativePoolTests {
    @Test("another task on the cooperative pool runs at least every 500 ms while the shards fold a backlog")
    func otherTasksRunWhileShardsAreBusy() async throws {
        let scenario = try KafkaLedgerScenario("it_pool", topicPrefix: "otlp_spans", partitions: 32, logLevel: .warning)
        defer { scenario.dropSchema() }
        // The backlog first, so that the shards (one per core, as many as the pool's threads) always
        // have records waiting once the worker is assigned.
        let (_, produced) = try scenario.load(LoadPlan(spans: 300_000, poisonFraction: 0, seed: 23, topic: scenario.topic))
            .run { _ in true }
        let worker = scenario.startWorker()
        let pipeline = worker.pipeline
        // Wakes every 5 ms and keeps the longest wait between two wake-ups that overlaps the fold: the
        // earlier one saw records still to fold, the later one some folded. `busy`: from the last wake-up
        // that saw none folded to the first that saw all (a starved probe only lengthens it).
        let probe = Task { () -> (longest: Duration, busy: Duration) in
            let clock = ContinuousClock()
            var longest = Duration.zero
            var (last, lastRecords) = (clock.now, 0)
            var noneFolded = clock.now
            while !Task.isCancelled, lastRecords < produced {
                try? await Task.sleep(for: .milliseconds(5))
                let (now, records) = (clock.now, pipeline.progress.records)
                if records > 0 { longest = max(longest, now - last) } else { noneFolded = now }
                (last, lastRecords) = (now, records)
            }
            return (longest, last - noneFolded)
        }
        let committed = try await scenario.waitCommitted(Int64(produced))
        probe.cancel()
        let (longest, busy) = await probe.value
        try await worker.stop()
        #expect(committed, "the worker did not commit the backlog in time")
        // Without something to starve, the check below could not fail: the fold must take a while.
        #expect(busy > .seconds(1), "the shards folded the backlog in \(busy): too fast to show starvation")
        #expect(longest < .milliseconds(500), "a task on the pool waited \(longest) while the shards were busy \(busy)")
    }
}
