import DurationUnits
import Aggregation
public import CoreMetrics
import DedicatedThread
import Foundation
import Kafka
public import Logging
import Pricing
public import ServiceLifecycle
import Synchronization
public import Telemetry

/// One worker: Kafka → shards → epochs → Postgres, as a swift-service-lifecycle `Service`.
///
/// Threads: one ingest thread (librdkafka consumer), one writer thread (its own `EpochStore`) and shard
/// tasks on the cooperative pool (CPU only, never blocking). The catalog reloader and the progress
/// reporter are services of their own (``companions``), run beside it in the same `ServiceGroup`. Graceful
/// shutdown (SIGTERM/SIGINT through the `ServiceGroup`): stop fetching, seal, write, commit, leave the
/// group, return within `shutdown.timeout`. Memory is bounded by `flush.max_inflight_epochs` sealed
/// epochs, one open epoch (`flush.max_spans`), the bytes dispatched to shards and not yet processed
/// (`pipeline.max_buffered_bytes`) and librdkafka's prefetch (16 MiB by default, ``WorkerKafkaDefaults``).
public final class PipelineService: Service, Sendable {
    public typealias StoreFactory = @Sendable () throws(EpochStoreError) -> any EpochStore & Sendable

    private let configuration: Configuration
    private let makeStore: StoreFactory
    private let logger: Logger
    public let status = PipelineStatus()
    private let gauges: PipelineGauges
    private let writerID: String
    /// The price catalog, loaded once at construction; reloaded by ``CatalogReloader``.
    private let catalog: Result<PriceCatalogSource, any Error>

    /// - Parameters:
    ///   - metrics: where the worker's series (docs/metrics.md) are made; nil: `MetricsSystem.factory`.
    ///   - costExporter: receives each committed epoch's cost by domain (`traceledger_cost_nusd_total`);
    ///     pass the same ``MetricsExporter`` whose `factory` is `metrics`. Nil: not exported.
    public init(
        configuration: Configuration, makeStore: @escaping StoreFactory, logger: Logger,
        metrics: (any MetricsFactory)? = nil, costExporter: MetricsExporter? = nil
    ) {
        self.configuration = configuration
        self.makeStore = makeStore
        self.logger = logger
        self.gauges = PipelineGauges(
            metrics: PipelineMetrics(factory: metrics ?? MetricsSystem.factory, costExporter: costExporter))
        self.writerID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        self.catalog = Result { () throws(any Error) in try Self.loadCatalog(configuration.pricingFile) }
    }

    /// The services that run beside the worker in its `ServiceGroup`, listed before it (so that they stop
    /// after it): the catalog reloader and the progress reporter. Empty when the catalog could not be
    /// loaded (then `run()` throws that error).
    public var companions: [any Service] {
        guard case .success(let source) = catalog else { return [] }
        return [
            CatalogReloader(
                source: source, interval: configuration.pricingReloadInterval, metrics: gauges.metrics, logger: logger),
            ProgressReporter(gauges: gauges, status: status, logger: logger),
        ]
    }

    /// Totals since start, for summaries and tests.
    public var progress: (records: Int, spans: Int, rejected: Int, committedEpochs: Int, fencedEpochs: Int) {
        (
            gauges.recordsTotal.load(ordering: .relaxed), gauges.spansTotal.load(ordering: .relaxed),
            gauges.rejectedTotal.load(ordering: .relaxed), gauges.committedEpochs.load(ordering: .relaxed),
            gauges.fencedEpochs.load(ordering: .relaxed)
        )
    }

    /// Dead letters Kafka refused permanently since start (their refusal is in `rejected_records.detail`).
    public var deadLettersRefused: Int { gauges.deadLettersRefused.load(ordering: .relaxed) }
    /// The most bytes of polled records the shards held at once (right after a dispatch), for tests of
    /// the memory bound (`pipeline.max_buffered_bytes`).
    public var bufferedBytesPeak: Int { gauges.bufferedBytesPeak.load(ordering: .relaxed) }

    public func run() async throws {
        let c = configuration
        let catalogSource = try catalog.get()
        let shardCount = c.pipelineShards > 0 ? c.pipelineShards : max(1, ProcessInfo.processInfo.activeProcessorCount)

        let producerProps = WorkerKafkaDefaults.deadLetterProducer(c.kafkaProperties, maxRecordBytes: c.recordsMaxBytes)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: c.kafkaBrokers, properties: producerProps, keepsFailedRecords: true),
            logger: logger)
        let deadLetters = DeadLetterSink(producer: producer, suffix: c.kafkaDLQSuffix, logger: logger, gauges: gauges)

        let queue = WriterQueue()
        let notices = NoticeBox()
        let assembler = EpochAssembler(shardCount: shardCount, output: queue)
        let writer = EpochWriterLoop(
            store: try makeStore(), queue: queue, notices: notices, deadLetters: deadLetters, group: c.kafkaGroup,
            writerID: writerID, logger: logger, status: status)
        let startOffsets = StartOffsets(store: try makeStore(), group: c.kafkaGroup, start: c.kafkaStart, logger: logger)
        let consumerProps = WorkerKafkaDefaults.consumer(c.kafkaProperties)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: c.kafkaBrokers, groupID: c.kafkaGroup, topics: c.kafkaTopics,
                properties: consumerProps),
            logger: logger, startOffsets: { startOffsets.provide($0) })

        var continuations: [AsyncStream<ShardMessage>.Continuation] = []
        var shards: [Shard] = []
        var limits = RecordLimits(
            maxAgeNanos: c.recordsMaxAge.wholeNanoseconds, maxFutureSkewNanos: c.recordsMaxFutureSkew.wholeNanoseconds,
            maxBytes: c.recordsMaxBytes)
        limits.baggageSessionKeys = c.baggageKeys
        let env = ShardEnvironment(
            catalogSource: catalogSource, limits: limits,
            jsonTopics: Set(c.kafkaEncodings.filter { $0.value == .otlpJSON }.keys), deadLetters: deadLetters,
            assembler: assembler, gauges: gauges, logger: logger, maxSpansPerEpoch: c.flushMaxSpans)
        for i in 0..<shardCount {
            let (stream, continuation) = AsyncStream.makeStream(of: ShardMessage.self, bufferingPolicy: .unbounded)
            continuations.append(continuation)
            shards.append(Shard(index: i, messages: stream, environment: env))
        }
        let ingest = IngestLoop(
            consumer: consumer, shards: continuations, assembler: assembler, notices: notices, writer: writer,
            startOffsets: startOffsets,
            gauges: gauges, status: status,
            settings: IngestSettings(
                flushInterval: c.flushInterval, flushMaxSpans: c.flushMaxSpans,
                maxInflightEpochs: c.flushMaxInflightEpochs, start: c.kafkaStart, gapPolicy: c.kafkaOnGap,
                group: c.kafkaGroup, maxFutureSkew: c.recordsMaxFutureSkew,
                maxBufferedBytes: c.pipelineMaxBufferedBytes,
                idleWriterSealAfter: c.flushMinInterval < c.flushInterval ? c.flushMinInterval : nil,
                shutdownTimeout: Self.ingestShutdownTimeout(c.shutdownTimeout),
                brokers: c.kafkaBrokers),
            logger: logger)

        logger.info(
            "worker starting",
            metadata: [
                "brokers": "\(c.kafkaBrokers)", "topics": "\(c.kafkaTopics)", "group": "\(c.kafkaGroup)",
                "shards": "\(shardCount)", "writer": "\(writerID)",
            ])
        let shutdown = ShutdownDeadline(timeout: c.shutdownTimeout)
        let writerDone = Self.startThread(name: "tl.writer") { writer.run() }
        let ingestDone = Self.startThread(name: "tl.ingest") { _ = ingest.run() }

        // Cancellation (a service group cancelling its services) stops the worker as a shutdown signal
        // does: the ingest thread seals, writes and leaves the group within `shutdown.timeout`.
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for shard in shards { group.addTask { await shard.run() } }
                    // Once shutdown has begun, neither thread may hold the exit past `shutdown.timeout`: a
                    // thread still blocked then (a statement to a database that stopped answering, whose
                    // socket stays open) is left behind. Nothing it holds is lost: what is not committed in
                    // Postgres is read again from Kafka by the partition's next owner.
                    let reserve = Self.shutdownReserve(c.shutdownTimeout)
                    let ingestEnded = await Self.wait(for: ingestDone, shutdown: shutdown, reserve: reserve)
                    queue.close()
                    var writerEnded = false
                    if ingestEnded { writerEnded = await Self.wait(for: writerDone, shutdown: shutdown, reserve: reserve) }
                    if !writerEnded {
                        writer.giveUp.store(true, ordering: .relaxed)
                        self.logger.error(
                            "shutdown.timeout reached with a thread still blocked (database unreachable?): exiting without it; epochs not committed will be re-read from Kafka",
                            metadata: ["thread": "\(ingestEnded ? "writer" : "ingest")", "shutdown_timeout": "\(c.shutdownTimeout)"])
                        // The ingest thread finishes the shard streams when it ends; it may not.
                        for continuation in continuations { continuation.finish() }
                    }
                    group.cancelAll()
                    try await group.waitForAll()
                }
            } onGracefulShutdown: {
                shutdown.begin()
                ingest.stopRequested.store(true, ordering: .relaxed)
            }
        } onCancel: {
            shutdown.begin()
            ingest.stopRequested.store(true, ordering: .relaxed)
        }
        try? producer.flush(timeout: shutdown.remaining(atMost: .seconds(5), keeping: .milliseconds(100)))
        ProgressReporter.refreshGauges(gauges, status: status)
        gauges.metrics.ready.record(0)
        var summary: Logger.Metadata = [
            "epochs_committed": "\(gauges.committedEpochs.load(ordering: .relaxed))",
            "spans": "\(gauges.spansTotal.load(ordering: .relaxed))",
            "records": "\(gauges.recordsTotal.load(ordering: .relaxed))",
            "rejected": "\(gauges.rejectedTotal.load(ordering: .relaxed))",
            "fenced_epochs": "\(gauges.fencedEpochs.load(ordering: .relaxed))",
        ]
        if let w = gauges.writeTimePercentiles() {
            summary["epoch_write_ms_p50"] = "\(String(format: "%.1f", w.p50))"
            summary["epoch_write_ms_p99"] = "\(String(format: "%.1f", w.p99))"
            summary["epoch_write_ms_max"] = "\(String(format: "%.1f", w.max))"
        }
        logger.notice("worker stopped", metadata: summary)
    }

    /// Runs `body` on a new dedicated thread named `name`; the completion finishes when the thread ends.
    static func startThread(name: String, _ body: @escaping @Sendable () -> Void) -> ThreadCompletion {
        let done = ThreadCompletion()
        DedicatedThread.start(name: name) {
            body()
            done.finish()
        }
        return done
    }

    /// What of `shutdown.timeout` is kept after the threads' deadline for the dead-letter flush and the
    /// exit: a tenth, between 200 ms and 2 s.
    static func shutdownReserve(_ timeout: Duration) -> Duration {
        min(.seconds(2), max(.milliseconds(200), timeout / 10))
    }

    /// The ingest thread's own deadline for sealing, writing and leaving the group: `shutdown.timeout`
    /// less twice the reserve (it starts a little after the signal, and must end before the hard deadline).
    static func ingestShutdownTimeout(_ timeout: Duration) -> Duration {
        max(.zero, timeout - shutdownReserve(timeout) * 2)
    }

    /// Waits until `done` finishes (true), or, once shutdown has begun, until its deadline less
    /// `reserve` (false). Polls: the thread cannot be interrupted anyway.
    static func wait(for done: ThreadCompletion, shutdown: ShutdownDeadline, reserve: Duration) async -> Bool {
        while !done.isFinished {
            if let deadline = shutdown.deadline, ContinuousClock.now >= deadline - reserve { return false }
            await sleepIgnoringCancellation(shutdown.deadline == nil ? .milliseconds(200) : .milliseconds(20))
        }
        return true
    }

    /// Sleeps even in a cancelled task (where `Task.sleep` returns at once and `wait` would spin).
    static func sleepIgnoringCancellation(_ d: Duration) async {
        let nanos = Int(d.wholeNanoseconds)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanos)) { c.resume() }
        }
    }
}

extension PipelineService {
    /// The catalog at `path`; an unreadable file is reported with its key (`pricing.file`) and
    /// environment variable, other problems as the catalog's own `FILE:LINE: reason`.
    static func loadCatalog(_ path: String) throws -> PriceCatalogSource {
        let result: Result<PriceCatalogSource, PricingCatalogError>
        do {
            result = .success(try PriceCatalogSource(path: path))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let source):
            return source
        case .failure(let error):
            if error.code == .unreadable {
                throw ConfigurationError(
                    key: "pricing.file", source: "configuration",
                    reason: Configuration.unreadableFileMessage(key: "pricing.file", path: path))
            }
            throw error
        }
    }
}
