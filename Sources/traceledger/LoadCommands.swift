public import ArgumentParser
import DevHarness
import Foundation
import Kafka
import Ledger
import LoadGen
import Pricing

extension TrafficConfiguration.Shape: ExpressibleByArgument {}

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
    @Option(help: "Record shape: collector (key = trace id, one trace per record) or sdk (traceparent header).")
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

    func run() async throws {
        let brokers = self.brokers ?? ProcessInfo.processInfo.environment["TRACELEDGER_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        var properties = LoadProducer.producerProperties
        properties["compression.codec"] = compression
        do {
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(bootstrapServers: brokers, properties: properties),
                logger: makeLogger("traceledger.loadgen"))
            let plan = LoadPlan(
                spans: spans, shape: shape, poisonFraction: poison, seed: seed, topic: topic, spansPerSecond: rate,
                tooLargeLimitBytes: tooLargeLimit)
            let started = ContinuousClock.now
            let (result, records) = try LoadProducer(
                producer: producer, catalogURL: URL(fileURLWithPath: pricing), plan: plan
            ).run()
            let elapsed = ContinuousClock.now - started
            try result.jsonData().write(to: URL(fileURLWithPath: manifest))
            let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 1e-9)
            print(
                "produced \(records) records (\(result.totals.spans) spans, \(result.totals.rejectedRecords) poison) to \(topic) in "
                    + String(format: "%.1f s (%.0f spans/s)", seconds, Double(result.totals.spans) / seconds))
            print("manifest: \(manifest)  (expected cost \(formatUSD(result.totals.costNanoUSD)) USD)")
        } catch {
            throw CLIFailure.report(error)
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare the ledger in PostgreSQL with a loadgen manifest; exit 1 on any difference.",
        discussion: """
            Compares every trace, domain, session and (model, service) to the nano-dollar, and the rejected records per reason code. Also checks the ledger invariant Σ transactions = Σ domain_hourly + Σ pending_attribution. Run it after the worker has consumed everything the load produced.
            """)

    @Option(help: "The manifest written by `traceledger loadgen`.") var manifest: String
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Differences to print at most.") var limit = 50

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

/// Exact decimal USD with 9 fractional digits (`-0.000001234`): Pricing's `NanoUSD` formatting.
func formatUSD(_ nano: Int64) -> String { NanoUSD(nano).description }
