import Foundation
import Kafka
import Ledger
public import LoadGen
public import Logging
import Pipeline
import ServiceLifecycle
public import Telemetry

/// Everything on one machine, in one process: librdkafka's mock cluster, a worker (`PipelineService`)
/// against the given PostgreSQL, a paced load from `LoadProducer`, then the ledger read back and
/// compared with the load's manifest. Used by `traceledger dev` and the integration tests.
public struct LocalRun: Sendable {
    public struct Options: Sendable {
        public var load: LoadPlan
        public var partitions = 12
        public var shards = 0
        public var schema = "traceledger"
        public var group = "traceledger"
        public var pricingFile = "config/pricing.yaml"
        public var flushInterval = Duration.milliseconds(500)
        public var flushMaxSpans = 100_000
        public var recordsMaxBytes = 16 << 20
        /// Records produced but not yet processed before the producer waits (the mock keeps ~5 MiB per
        /// partition and deletes older batches).
        public var lagWindowRecords = 4_000
        public var completionTimeout = Duration.seconds(300)
        /// Where the worker's metrics go (`traceledger dev` serves it on `/metrics`); nil: the global factory.
        public var metrics: MetricsExporter?

        public init(load: LoadPlan) { self.load = load }
    }

    public struct Result: Sendable {
        public var manifest: Manifest
        public var recordsProduced: Int
        public var spansCounted: Int
        public var elapsed: Duration
        public var differences: [VerificationDifference]
        public var invariantViolations: [String]
        public var deadLetters: Int64
        public var rejectedRows: Int64
        public var committedEpochs: Int
        public var completed: Bool
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public let options: Options
    public let conninfo: String
    public let logger: Logger

    public init(options: Options, conninfo: String, logger: Logger) {
        self.options = options
        self.conninfo = conninfo
        self.logger = logger
    }

    /// - Parameters:
    ///   - progress: a line now and then while the load runs.
    ///   - shouldStop: polled while producing and waiting (e.g. Ctrl-C); when true the run stops early,
    ///     shuts the worker down cleanly, and returns with `completed == false`.
    ///   - whileKept: when given and the run completed, called with the result and the mock cluster's
    ///     bootstrap servers while the worker (and the cluster) still run; the worker stops when it returns
    ///     (`dev --keep`, the HTTP API tests).
    public func run(
        progress: @escaping @Sendable (String) -> Void = { _ in },
        shouldStop: @escaping @Sendable () -> Bool = { false },
        whileKept: (@Sendable (Result, _ bootstrapServers: String) async -> Void)? = nil
    ) async throws -> Result {
        let o = options
        let schema = try SchemaName(o.schema)
        try InProcessWorker.migrate(schema: o.schema, conninfo: conninfo)

        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let cluster = try MockKafkaCluster(brokers: 1, logger: quiet)
        try cluster.createTopic(o.load.topic, partitions: o.partitions)
        try cluster.createTopic(o.load.topic + ".dlq", partitions: 1)

        var config = Configuration()
        config.kafkaBrokers = cluster.bootstrapServers
        config.kafkaTopics = [o.load.topic]
        config.kafkaGroup = o.group
        config.kafkaProperties = [
            "session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "fetch.wait.max.ms": "50",
        ]
        config.pricingFile = o.pricingFile
        config.flushInterval = o.flushInterval
        config.flushMaxSpans = o.flushMaxSpans
        config.databaseSchema = o.schema
        config.pipelineShards = o.shards
        config.recordsMaxBytes = o.recordsMaxBytes
        config.shutdownTimeout = .seconds(20)
        let worker = InProcessWorker(configuration: config, conninfo: conninfo, logger: quiet, metrics: o.metrics)
        let pipeline = worker.pipeline

        // Clients are created and dropped inside closures so that none outlives the mock cluster (it would
        // log "brokers are down" errors).
        let bootstrap = cluster.bootstrapServers
        let started = ContinuousClock.now
        var lastReport = started
        let (manifest, produced) = try {
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(bootstrapServers: bootstrap, properties: LoadProducer.producerProperties),
                logger: quiet)
            let load = LoadProducer(producer: producer, catalogURL: URL(fileURLWithPath: o.pricingFile), plan: o.load)
            return try load.run { produced in
            // Keep the consumer close behind the producer.
            while produced - pipeline.progress.records > o.lagWindowRecords {
                if ContinuousClock.now - started > o.completionTimeout || shouldStop() { return false }
                Thread.sleep(forTimeInterval: 0.005)
            }
            if ContinuousClock.now - lastReport > .seconds(2) {
                lastReport = ContinuousClock.now
                progress("produced \(produced) records, \(pipeline.progress.spans) spans processed")
            }
            return !shouldStop()
            }
        }()

        // Wait until every produced record is committed in Postgres.
        let reader = LedgerReader(schema: schema)
        let c = try PGConnection.connect(conninfo: conninfo)
        var completed = false
        let deadline = ContinuousClock.now + o.completionTimeout
        while ContinuousClock.now < deadline, !shouldStop() {
            if try reader.offsetsTotal(group: o.group, on: c) >= Int64(produced) {
                completed = true
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let elapsed = ContinuousClock.now - started
        if whileKept == nil || !completed { try await worker.stop() }
        let spans = pipeline.progress.spans
        let epochs = pipeline.progress.committedEpochs

        let snapshot = try LedgerSnapshotReader.read(schema: schema, on: c)
        let differences = Verifier.compare(manifest, snapshot)
        let invariants = try reader.invariantViolations(group: o.group, on: c)
        let rejectedRows = try reader.rejectedByReason(on: c).values.reduce(0, +)

        let dlq = try {
            let counter = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "dlq-counter", topics: [o.load.topic + ".dlq"]),
                logger: quiet)
            defer { _ = try? counter.close() }
            return try counter.queryWatermarks(TopicPartition(topic: o.load.topic + ".dlq", partition: 0), timeout: .seconds(5))
        }()
        let result = Result(
            manifest: manifest, recordsProduced: produced, spansCounted: spans, elapsed: elapsed,
            differences: differences, invariantViolations: invariants, deadLetters: dlq.high - dlq.low,
            rejectedRows: rejectedRows, committedEpochs: epochs, completed: completed)
        if let whileKept, completed {
            await whileKept(result, bootstrap)
            try await worker.stop()
        }
        withExtendedLifetime(cluster) {}
        return result
    }
}
