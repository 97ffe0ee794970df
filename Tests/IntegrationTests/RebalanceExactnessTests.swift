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
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_rebalance")
        let topic = "rb_\(schema)"
        let group = "g_\(schema)"
        var logger = Logger(label: "it.rebalance")
        logger.logLevel = .error
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: 12)
        try cluster.createTopic(topic + ".dlq", partitions: 1)
        let config = testWorkerConfiguration(brokers: cluster.bootstrapServers, topic: topic, group: group, schema: schema)

        let a = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger)
        var b: InProcessWorker?
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers, properties: LoadProducer.producerProperties),
            logger: logger)
        // ~40 s of load at 4000 spans/s: B joins after ~10 s, A leaves after ~25 s.
        let plan = LoadPlan(spans: 160_000, shape: .sdk, poisonFraction: 0.01, seed: 11, topic: topic, spansPerSecond: 4_000)
        let load = LoadProducer(
            producer: producer, catalogURL: shippedPricingFile, plan: plan)
        let started = ContinuousClock.now
        var aStopping: Task<Void, any Error>?
        let (manifest, produced) = try load.run { _ in
            let elapsed = ContinuousClock.now - started
            if b == nil, elapsed > .seconds(10) {
                b = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger)
            }
            if aStopping == nil, elapsed > .seconds(25) {
                aStopping = Task { try await a.stop() }
            }
            return true
        }
        try await aStopping?.value
        let committed = try await InProcessWorker.waitCommitted(
            records: Int64(produced), group: group, schema: schema, conninfo: conninfo, timeout: .seconds(180))
        try await b?.stop()
        #expect(committed)
        #expect(b != nil && aStopping != nil, "both rebalances happened during the load")

        let c = try PGConnection.connect(conninfo: conninfo)
        let snapshot = try LedgerSnapshotReader.read(schema: try SchemaName(schema), on: c)
        let differences = Verifier.compare(manifest, snapshot)
        #expect(differences.count == 0, "\(differences.count) differences, first: \(differences.prefix(10).map(\.description))")
        let invariants = try LedgerReader(schema: try SchemaName(schema)).invariantViolations(group: group, on: c)
        #expect(invariants.isEmpty, "\(invariants)")
        // Both workers did part of the work.
        #expect(a.pipeline.progress.committedEpochs > 0)
        #expect((b?.pipeline.progress.committedEpochs ?? 0) > 0)
        withExtendedLifetime(cluster) {}
    }
}
