import DurationUnits
public import ArgumentParser
import DevHarness
import Foundation
import Kafka
import Ledger
import LoadGen
import Pricing

extension TrafficConfiguration.Shape: ExpressibleByArgument {}
extension RecordEncoding: ExpressibleByArgument {}

struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Produce realistic OTLP span traffic to Kafka and write a manifest of the expected ledger totals.",
        discussion: """
            Traces with a root transaction span and child spans across services, compute hosts, Lambda, LLM calls with tokens, upstream cost.usd, agent sessions, excluded (ci/staging) environments, and a fraction of poison records of every reason code. The manifest is priced by LoadGen's own reference pricer (not the worker's), from the same catalog file; check a ledger against it with `traceledger verify --manifest FILE`.
            """)

    @Option(help: "Kafka bootstrap servers (default: TRACELEDGER_KAFKA_BROKERS, else 127.0.0.1:9092).")
    var brokers: String?
    @Option(help: "Topic to produce to.") var topic = "otlp_spans"
    @Option(help: "Spans to generate.") var spans = 1_000_000
    @Option(help: "Record shape: collector (key = trace id, one trace per record), sdk (traceparent header, no key) or collector-split (key = trace id, one service's 4-5 spans per record, ~50 spans a trace, 20 % excluded).")
    var shape: TrafficConfiguration.Shape = .collector
    @Option(help: "Share of poison records (0 ... 0.5).") var poison = 0.01
    @Option(help: "Target spans per second (default: as fast as possible).") var rate: Int?
    @Option(help: "Random seed (same seed = same records and manifest).") var seed: UInt64 = 42
    @Option(help: "Price catalog the manifest is priced with (the worker's pricing.file).")
    var pricing = "config/pricing.yaml"
    @Option(help: "Where to write the manifest (JSON).") var manifest = "manifest.json"
    @Option(help: "Also send too_large poison records bigger than this many bytes (the worker's records.max_bytes).")
    var tooLargeLimit: Int?
    @Option(help: "Kafka compression codec for the produced batches.") var compression = "lz4"
    @Option(help: "How long librdkafka waits to fill a batch (linger.ms); more means fewer, larger batches.")
    var lingerMs = 5
    @Flag(help: "Generate the whole load before producing any of it (prints 'generated … producing' when it starts producing): a paced load then costs only librdkafka's time. Holds the whole load in memory.")
    var pregenerate = false
    @Option(help: "Exactly this many spans in every trace (1 ... 1000; default: the call graph decides).")
    var spansPerTrace: Int?
    @Option(help: "Share of traces sent again ~64 traces later: their non-root spans with new span ids (0 ... 1).")
    var `repeat` = 0.0
    @Option(help: "Share of traces in excluded environments (0 ... 1; default: the model's, collector-split 0.2).")
    var excludedFraction: Double?
    @Option(help: "sdk shape: at most this many spans of one trace in a record (1 ... 64).")
    var sdkBatchMax = 8
    @Option(help: "Attributes per span, e.g. 4-7 (default 10-20; collector-split 4-7).")
    var attributes: String?
    @Option(help: "Record value encoding: protobuf or json (OTLP/JSON with a content-type: application/json header; poison records stay protobuf).")
    var encoding: RecordEncoding = .protobuf
    @Option(help: "Partitions of the topic, for records without a key (sdk shape): each goes to the partition of its traceparent trace id (default: asked of Kafka).")
    var partitions: Int?

    func run() async throws {
        let brokers = self.brokers ?? ProcessInfo.processInfo.environment["TRACELEDGER_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        var properties = LoadProducer.producerProperties
        properties["compression.codec"] = compression
        properties["linger.ms"] = String(lingerMs)
        do {
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(bootstrapServers: brokers, properties: properties),
                logger: makeLogger("traceledger.loadgen"))
            let configuration = try trafficConfiguration()
            // Keyless records are placed by trace id, not by librdkafka's sticky partitioner (which fills
            // one partition a batch and overflows the mock cluster's ~5 MiB a partition).
            let partitionCount = configuration.shape == .sdk
                ? (partitions ?? Self.endOffsets(topic: topic, brokers: brokers)?.endOffsets.count ?? 0) : 0
            var (result, records, elapsed) = try Self.produce(
                configuration, spans: spans, rate: rate, topic: topic, catalog: URL(fileURLWithPath: pricing),
                producer: producer, encoding: encoding, partitions: partitionCount,
                pregenerate: pregenerate)
            result.produced = Self.endOffsets(topic: topic, brokers: brokers)
            try result.jsonData().write(to: URL(fileURLWithPath: manifest))
            let seconds = max(elapsed.inSeconds, 1e-9)
            print(
                "produced \(records) records (\(result.totals.spans) spans, \(result.totals.rejectedRecords) poison) to \(topic) in "
                    + String(format: "%.1f s (%.0f spans/s)", seconds, Double(result.totals.spans) / seconds))
            print("manifest: \(manifest)  (expected cost \(formatUSD(result.totals.costNanoUSD)) USD)")
        } catch {
            throw CLIFailure.report(error)
        }
    }
}

extension LoadgenCommand {
    /// The generator's configuration from the options (defaults = the plain `LoadPlan` traffic).
    func trafficConfiguration() throws -> TrafficConfiguration {
        var c = TrafficConfiguration(
            seed: seed, shape: shape, recordTimeNanos: UInt64(Date().timeIntervalSince1970 * 1e9))
        c.poisonFraction = poison
        c.tooLargeLimitBytes = tooLargeLimit
        c.spansPerTrace = spansPerTrace
        c.repeatFraction = `repeat`
        c.excludedTraceFraction = excludedFraction
        c.sdkSpansPerRecordMax = sdkBatchMax
        if let attributes {
            let parts = attributes.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[0] <= parts[1] else {
                throw CLIFailure("--attributes: expected a range like 4-7; got '\(attributes)'")
            }
            c.attributesPerSpan = parts[0]...parts[1]
        }
        return c
    }

    /// Generates and produces `spans` spans (chunks of 200 traces, like `LoadProducer`), paced to `rate`
    /// spans/s when set; returns the manifest of what was sent and the records produced. With
    /// `pregenerate`, every chunk is generated (and encoded) before the first is produced, so the paced
    /// produce loop costs only librdkafka's time: the whole load is held in memory.
    static func produce(
        _ configuration: TrafficConfiguration, spans: Int, rate: Int?, topic: String, catalog: URL,
        producer: KafkaProducer, encoding: RecordEncoding = .protobuf, partitions: Int = 0, pregenerate: Bool = false
    ) throws -> (manifest: Manifest, records: Int, producing: Duration) {
        var generator = try TrafficGenerator(
            configuration: configuration, pricer: ReferencePricer(catalog: ReferenceCatalog(contentsOf: catalog)))
        var start = ContinuousClock.now
        var produced = 0
        func send(_ records: [GeneratedRecord], spansSoFar: Int) throws {
            for r in records {
                try producer.produce(
                    topic: topic, partition: r.partition(among: partitions), key: r.key, value: r.value,
                    headers: r.headers.map { ($0.name, $0.value) }, timestampMilliseconds: r.timestampMilliseconds)
            }
            produced += records.count
            if let rate, rate > 0 {
                let due = Duration.seconds(Double(spansSoFar) / Double(rate))
                let elapsed = ContinuousClock.now - start
                if due > elapsed { Thread.sleep(forTimeInterval: (due - elapsed).inSeconds) }
            }
        }
        var chunks: [(records: [GeneratedRecord], spansSoFar: Int)] = []
        while generator.spansGenerated < spans {
            let records = try generator.generate(traces: 200).map { $0.encoded(as: encoding) }
            if pregenerate {
                chunks.append((records, generator.spansGenerated))
            } else {
                try send(records, spansSoFar: generator.spansGenerated)
            }
        }
        if pregenerate {
            FileHandle.standardOutput.write(
                Data("generated \(generator.spansGenerated) spans in \(chunks.count) chunks; producing\n".utf8))
            start = ContinuousClock.now
            for (records, spansSoFar) in chunks { try send(records, spansSoFar: spansSoFar) }
        }
        try producer.flush(timeout: .seconds(120))
        return (generator.manifest, produced, ContinuousClock.now - start)
    }

    /// The topic's high watermarks after the load (for `verify --wait`), asked of the partition leaders
    /// through a consumer handle that never joins a group; partitions are probed from 0 until one is
    /// unknown. nil (with a note) when Kafka does not answer.
    static func endOffsets(topic: String, brokers: String) -> Manifest.ProducedOffsets? {
        do {
            let probe = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: brokers, groupID: "traceledger-loadgen-probe", topics: [topic]),
                logger: makeLogger("traceledger.loadgen"))
            var ends: [Int32: Int64] = [:]
            for p in Int32(0)..<Int32(100_000) {
                guard let (_, high) = try? probe.queryWatermarks(TopicPartition(topic: topic, partition: p), timeout: .seconds(10))
                else { break }
                ends[p] = high
            }
            return ends.isEmpty ? nil : Manifest.ProducedOffsets(topic: topic, endOffsets: ends)
        } catch {
            print("note: could not read the topic's end offsets (\(error)); verify --wait will compare record totals")
            return nil
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare the ledger in PostgreSQL with a loadgen manifest; exit 1 on any difference.",
        discussion: """
            Compares every trace, domain, session and (model, service) to the nano-dollar, and the rejected records per reason code. Also checks the ledger invariant Σ transactions = Σ domain_hourly + Σ pending_attribution. Run it after the worker has consumed everything the load produced: --wait waits until the group's offsets in ingest_offsets reach the end offsets the load recorded in the manifest (or, for a manifest without them, until the group has passed as many records as the load produced); without --wait, a hint says when the worker is still behind.
            """)

    @Option(help: "The manifest written by `traceledger loadgen`.") var manifest: String
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Differences to print at most.") var limit = 50
    @Flag(help: "Wait until the worker's group has consumed what the load produced, then compare.") var wait = false
    @Option(help: "How long --wait waits at most (e.g. 120s, 5m).") var timeout = "120s"
    @Option(help: "Consumer group whose offsets are checked (default: TRACELEDGER_KAFKA_GROUP, else traceledger).")
    var group: String?

    func run() async throws {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: manifest))
            let expected = try Manifest(jsonData: data)
            let schema = try database.schemaName()
            let connection: PGConnection
            do {
                connection = try PGConnection.connectFromEnvironment()
            } catch let error as LedgerError {
                throw CLIFailure(
                    "cannot connect to PostgreSQL (\(error.message)): set DATABASE_URL=postgresql://user@host:port/db "
                        + "or PGHOST/PGPORT/PGUSER/PGDATABASE")
            }
            let groupName = group ?? ProcessInfo.processInfo.environment["TRACELEDGER_KAFKA_GROUP"] ?? "traceledger"
            var progress = try Self.progress(of: expected, group: groupName, schema: schema, on: connection)
            if wait, !progress.isComplete {
                guard let limit = parseWaitTimeout(timeout) else {
                    throw CLIFailure("--timeout: expected a duration like 90s, 2m, 500ms; got '\(timeout)'")
                }
                let deadline = ContinuousClock.now + limit
                print("verify: waiting for group \(groupName): \(progress)")
                var lastPrint = ContinuousClock.now
                while !progress.isComplete, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(500))
                    progress = try Self.progress(of: expected, group: groupName, schema: schema, on: connection)
                    if ContinuousClock.now - lastPrint >= .seconds(10) {
                        print("verify: waiting: \(progress)")
                        lastPrint = ContinuousClock.now
                    }
                }
                if !progress.isComplete {
                    print("verify: gave up waiting after \(timeout): \(progress); comparing what is there")
                }
            } else if !progress.isComplete {
                print(
                    "hint: the worker (group \(groupName)) is still behind the load: \(progress); rows it has not "
                        + "written yet show as absent. Run `traceledger verify --wait --manifest \(manifest)` to wait for it.")
            }
            let snapshot = try LedgerSnapshotReader.read(schema: schema, on: connection)
            let differences = Verifier.compare(expected, snapshot)
            let invariants = try LedgerReader(schema: schema).invariantViolations(group: "", on: connection)
            for d in differences.prefix(limit) { print(d.description) }
            if differences.count > limit { print("… and \(differences.count - limit) more") }
            for v in invariants { print("invariant broken: \(v)") }
            print(
                "verify: \(expected.traces.count) traces, \(expected.domains.count) domains, \(expected.sessions.count) sessions, "
                    + "\(expected.models.count) models, \(expected.totals.rejectedRecords) rejected records: "
                    + (differences.isEmpty && invariants.isEmpty ? "exact" : "\(differences.count) differences"))
            if !differences.isEmpty || !invariants.isEmpty { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw CLIFailure.report(error)
        }
    }
}

extension VerifyCommand {
    /// How far `group` has read the load of `manifest`, from `ingest_offsets`.
    static func progress(of manifest: Manifest, group: String, schema: SchemaName, on connection: PGConnection) throws
        -> ConsumptionProgress
    {
        if let produced = manifest.produced {
            let r = try connection.execute(
                "SELECT partition, next_offset FROM \(schema.quoted).ingest_offsets WHERE consumer_group = $1 AND topic = $2",
                [.text(group), .text(produced.topic)])
            var stored: [Int32: Int64] = [:]
            for i in r.rows.indices {
                if let p = r.int64(i, 0), let o = r.int64(i, 1) { stored[Int32(clamping: p)] = o }
            }
            return ConsumptionProgress(expected: produced.partitions, stored: stored)
        }
        let total = try LedgerReader(schema: schema).offsetsTotal(group: group, on: connection)
        return ConsumptionProgress(records: manifest.totals.records, storedTotal: total)
    }
}

/// `120s`, `2m`, `500ms`, `1h` → a duration.
func parseWaitTimeout(_ s: String) -> Duration? {
    for (suffix, ms) in [("ms", Int64(1)), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where s.hasSuffix(suffix) {
        guard let n = Int64(s.dropLast(suffix.count)), n >= 0, n < Int64.max / ms else { return nil }
        return .milliseconds(n * ms)
    }
    return Int64(s).map { .seconds($0) }
}

/// Exact decimal USD with 9 fractional digits (`-0.000001234`): Pricing's `NanoUSD` formatting.
func formatUSD(_ nano: Int64) -> String { NanoUSD(nano).description }
