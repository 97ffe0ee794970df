import DevHarness
import Foundation
import Kafka
import Ledger
import LoadGen
import Logging
import Pipeline
import Telemetry

/// Consumer-group timings the mock cluster needs to rebalance in seconds, not 44 s (librdkafka
/// src/rdkafka_mock_cgrp.c): session timeout 6 s, heartbeat 500 ms.
public let fastGroupProperties: [String: String] = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]

/// A worker configuration for tests: the mock cluster, one topic, fast epochs (200 ms), fast group
/// timings (the mock rebalances in seconds), the shipped catalog.
public func testWorkerConfiguration(brokers: String, topic: String, group: String, schema: String) -> Configuration {
    var config = Configuration()
    config.kafkaBrokers = brokers
    config.kafkaTopics = [topic]
    config.kafkaGroup = group
    config.kafkaProperties = fastGroupProperties
    config.pricingFile = shippedPricingFile.path
    config.flushInterval = .milliseconds(200)
    config.databaseSchema = schema
    return config
}

/// The world of one integration scenario, set up the way every such test needs it: a migrated ledger
/// schema of its own in `DATABASE_URL`'s database (or `conninfo`), librdkafka's mock cluster in this
/// process with the scenario's topic (and its `.dlq` dead-letter topic), and the names derived from
/// the schema.
///
/// Guarantees: `schema`, `topic` (`topicPrefix_schema`) and `group` (`g_schema`) are unique to the
/// instance; the schema is migrated and the topics exist before `init` returns; the cluster lives as
/// long as the instance; nothing is dropped unless `dropSchema()` is called.
public final class KafkaLedgerScenario: Sendable {
    public let conninfo: String
    public let schema: String
    public let topic: String
    public let group: String
    public let logger: Logger
    public let cluster: MockKafkaCluster

    /// - Parameters:
    ///   - name: the schema's prefix and the logger's label.
    ///   - partitions: of the scenario's topic.
    ///   - deadLetterTopic: create `topic.dlq` (one partition) too.
    ///   - logLevel: of `logger`, the cluster's and the workers' logger (`IT_DEBUG` set: debug).
    public init(
        _ name: String, topicPrefix: String, partitions: Int, deadLetterTopic: Bool = true,
        logLevel: Logger.Level = .error, conninfo: String? = nil
    ) throws {
        self.conninfo = try conninfo ?? databaseURL()
        schema = uniqueSchemaName(name)
        topic = "\(topicPrefix)_\(schema)"
        group = "g_\(schema)"
        var logger = Logger(label: "it.\(name)")
        logger.logLevel = ProcessInfo.processInfo.environment["IT_DEBUG"] != nil ? .debug : logLevel
        self.logger = logger
        try InProcessWorker.migrate(schema: schema, conninfo: self.conninfo)
        cluster = try MockKafkaCluster.withTopic(topic, partitions: partitions, logger: logger)
        if deadLetterTopic { try cluster.createTopic(topic + ".dlq", partitions: 1) }
    }

    public var schemaName: SchemaName { get throws { try SchemaName(schema) } }

    /// A producer to the mock cluster (`LoadProducer`'s properties unless told otherwise).
    public func producer(properties: [String: String] = LoadProducer.producerProperties) throws -> KafkaProducer {
        try cluster.producer(properties: properties, logger: logger)
    }

    /// A LoadGen load of `plan` into the mock cluster, priced by the shipped catalog; `run` it.
    public func load(_ plan: LoadPlan) throws -> LoadProducer {
        LoadProducer(producer: try producer(), catalogURL: shippedPricingFile, plan: plan)
    }

    /// A consumer of the dead-letter topic `topic.dlq` in a group of its own (`dlq-schema`), with fast
    /// group timings plus `properties`.
    public func deadLetterConsumer(properties extra: [String: String] = [:]) throws -> KafkaConsumer {
        try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: cluster.bootstrapServers, groupID: "dlq-\(schema)", topics: [topic + ".dlq"],
                properties: fastGroupProperties.merging(extra) { _, new in new }),
            logger: logger)
    }

    /// ``testWorkerConfiguration(brokers:topic:group:schema:)`` for this scenario.
    public func workerConfiguration() -> Configuration {
        testWorkerConfiguration(brokers: cluster.bootstrapServers, topic: topic, group: group, schema: schema)
    }

    /// A worker in this process (`workerConfiguration()` unless given), started now.
    public func startWorker(
        _ configuration: Configuration? = nil, conninfo: String? = nil, metrics: MetricsExporter? = nil
    ) -> InProcessWorker {
        InProcessWorker(
            configuration: configuration ?? workerConfiguration(), conninfo: conninfo ?? self.conninfo, logger: logger,
            metrics: metrics)
    }

    /// A scale-out and a scale-in under load: worker A runs from the start; `plan` is produced (priced by
    /// the shipped catalog); between chunks of it, worker B starts once `join` has passed and A stops
    /// gracefully once `leave` has passed. Returns once the load is produced and A's stop has finished:
    /// the workers (B nil, `aLeft` false: the load ended before that step), the manifest, the records.
    public func scaleOutAndIn(
        _ plan: LoadPlan, joinAfter join: Duration, leaveAfter leave: Duration,
        metrics: (a: MetricsExporter?, b: MetricsExporter?) = (nil, nil)
    ) async throws -> (a: InProcessWorker, b: InProcessWorker?, aLeft: Bool, manifest: Manifest, produced: Int) {
        let a = startWorker(metrics: metrics.a)
        var b: InProcessWorker?
        let load = try load(plan)
        let started = ContinuousClock.now
        var aStopping: Task<Void, any Error>?
        let (manifest, produced) = try load.run { _ in
            let elapsed = ContinuousClock.now - started
            if b == nil, elapsed > join { b = startWorker(metrics: metrics.b) }
            if aStopping == nil, elapsed > leave { aStopping = Task { try await a.stop() } }
            return true
        }
        try await aStopping?.value
        return (a, b, aStopping != nil, manifest, produced)
    }

    /// Waits until the group's Σ next_offset reaches `records` (every partition starts at 0); false
    /// when `timeout` passes first.
    public func waitCommitted(_ records: Int64, timeout: Duration = .seconds(120)) async throws -> Bool {
        try await InProcessWorker.waitCommitted(records: records, group: group, schema: schema, conninfo: conninfo, timeout: timeout)
    }

    /// Σ next_offset of the group now.
    public func committed() throws -> Int64 {
        let c = try PGConnection.connect(conninfo: conninfo, session: PGSessionSettings(connectTimeout: .seconds(2)))
        return try LedgerReader(schema: try schemaName).offsetsTotal(group: group, on: c)
    }

    /// A new connection to the scenario's database.
    public func connect() throws -> PGConnection { try PGConnection.connect(conninfo: conninfo) }

    /// Σ span_count of the ledger's transactions (nil: no row came back).
    public func spansCounted() throws -> Int64? {
        try connect().execute("SELECT coalesce(sum(span_count), 0) FROM \"\(schema)\".transactions").int64(0, 0)
    }

    /// The ledger against a load's manifest (LoadGen's reference pricer): every difference, and every
    /// violation of the ledger invariant for the group. Both empty: the ledger is exact.
    public func compare(with manifest: Manifest) throws -> (differences: [VerificationDifference], invariantViolations: [String]) {
        let snapshot = try LedgerSnapshotReader.read(schema: try schemaName, on: try connect())
        return (Verifier.compare(manifest, snapshot), try invariantViolations())
    }

    /// Every violation of the ledger invariant for the group (empty: it holds).
    public func invariantViolations() throws -> [String] {
        try LedgerReader(schema: try schemaName).invariantViolations(group: group, on: try connect())
    }

    /// Drops the schema and everything in it (errors ignored).
    public func dropSchema() {
        if let c = try? connect() {
            _ = try? c.execute("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
        }
    }
}
