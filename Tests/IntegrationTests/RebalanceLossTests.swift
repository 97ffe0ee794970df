import DevHarness
import Foundation
import Kafka
import Ledger
import LoadGen
import Logging
import Pipeline
import Telemetry
import Testing
import TestSupport

/// Regression of issue #11's rebalance tails. The ingest thread used to commit every epoch's offsets to
/// Kafka (lag only) with `rd_kafka_commit`. A commit sent while the group rebalances waits behind the
/// member's JoinGroup on the coordinator connection, is answered ILLEGAL_GENERATION once the new
/// generation exists, and librdkafka 2.0.2 then drops the member's whole assignment as lost
/// (librdkafka #4059): its open state is dropped, it re-reads, and the whole group needs one more
/// rebalance round (5 s each in the mock). With a flush every 200 ms, nearly every join or leave did
/// that. Now the offsets are stored and librdkafka's commit timer, which skips while rebalancing,
/// commits them: no member may lose its assignment when a member joins or leaves gracefully.
@Suite("rebalances without lost assignments", .serialized)
struct RebalanceLossTests {
    @Test("a worker joins and another leaves under load: no member loses its assignment, the ledger is exact, and lag offsets still reach Kafka")
    func joinAndLeaveLoseNothing() async throws {
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_rebloss")
        let topic = "rl_\(schema)"
        let group = "g_\(schema)"
        var logger = Logger(label: "it.rebalance-loss")
        logger.logLevel = .error
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: 12)
        try cluster.createTopic(topic + ".dlq", partitions: 1)
        let config = testWorkerConfiguration(brokers: cluster.bootstrapServers, topic: topic, group: group, schema: schema)

        let metricsA = MetricsExporter()
        let metricsB = MetricsExporter()
        let a = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger, metrics: metricsA)
        var b: InProcessWorker?
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers, properties: LoadProducer.producerProperties),
            logger: logger)
        // ~30 s of load at 2000 spans/s: B joins after ~6 s (two cooperative rounds), A leaves after ~20 s.
        let plan = LoadPlan(spans: 60_000, shape: .collector, poisonFraction: 0, seed: 23, topic: topic, spansPerSecond: 2_000)
        let load = LoadProducer(
            producer: producer, catalogURL: repositoryRoot.appendingPathComponent("config/pricing.yaml"), plan: plan)
        func series(_ m: MetricsExporter, _ kind: String) throws -> Double {
            try ParsedExposition(parsing: m.render(openMetrics: false), openMetrics: false)
                .value("traceledger_rebalances_total", ["kind": kind]) ?? 0
        }
        let started = ContinuousClock.now
        var aStopping: Task<Void, any Error>?
        let (manifest, produced) = try load.run { _ in
            let elapsed = ContinuousClock.now - started
            if b == nil, elapsed > .seconds(6) {
                b = InProcessWorker(configuration: config, conninfo: conninfo, logger: logger, metrics: metricsB)
            }
            // A leaves only once B holds its first partitions: on a slow machine B's join could otherwise
            // still be under way, and one rebalance would give B everything at once.
            if aStopping == nil, elapsed > .seconds(20), (try? series(metricsB, "assigned")) ?? 0 >= 1 {
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

        // A: revoked some partitions when B joined; B: got some, then all when A left.
        #expect(try series(metricsA, "revoked") >= 1)
        #expect(try series(metricsB, "assigned") >= 2)
        #expect(try series(metricsA, "lost") == 0, "worker A lost its assignment in a graceful rebalance")
        #expect(try series(metricsB, "lost") == 0, "worker B lost its assignment in a graceful rebalance")

        let c = try PGConnection.connect(conninfo: conninfo)
        let snapshot = try LedgerSnapshotReader.read(schema: try SchemaName(schema), on: c)
        let differences = Verifier.compare(manifest, snapshot)
        #expect(differences.count == 0, "\(differences.count) differences, first: \(differences.prefix(10).map(\.description))")

        // Lag reporting still works: the group's offsets reached Kafka (librdkafka's timer, and the final
        // commit at each close). Read by a consumer of the same group, now empty (both workers left).
        let partitions = (0..<12).map { Kafka.TopicPartition(topic: topic, partition: Int32($0)) }
        let bootstrap = cluster.bootstrapServers
        let readerLogger = logger
        let kafkaCommitted = try await onThread(named: "lag-reader") { () throws -> Int64 in
            let reader = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: group, topics: [topic]),
                logger: readerLogger)
            let offsets = try reader.committed(partitions, timeout: .seconds(10))
            try reader.close()
            return offsets.values.reduce(0, +)
        }
        #expect(kafkaCommitted > 0 && kafkaCommitted <= Int64(produced), "Kafka-committed lag offsets: \(kafkaCommitted) of \(produced)")
        withExtendedLifetime(cluster) {}
    }
}
