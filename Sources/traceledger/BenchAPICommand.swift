import DurationUnits
import ArgumentParser
import DevHarness
import Foundation
import HTTPServer
import Ledger
import LoadGen
import Logging
import Pipeline
import ServiceLifecycle
import Telemetry

/// `traceledger bench-api` (hidden; run by scripts/bench-api.sh under a throwaway PostgreSQL): the HTTP
/// API's freshness and load figures, with a worker, the mock cluster and the HTTP server in this process.
struct BenchAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-api",
        abstract: "Measure API freshness, /v1/transactions latency under ingest, and ingest with/without API load.",
        shouldDisplay: false)

    @Option(help: "Spans of the warm-up run that measures the worker's max ingest rate.") var spans = 200_000
    @Option(help: "Spans per full-speed phase.") var phaseSpans = 200_000
    @Option(help: "Seconds of the freshness phase.") var freshnessSeconds = 30
    @Option(help: "Target API requests per second in the with-API phase.") var apiRate = 1000
    @Option(help: "Kafka partitions of the mock topic.") var partitions = 12
    @Option(help: "Price catalog.") var pricing = "config/pricing.yaml"

    func run() async throws {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            throw CLIFailure.report(CLIFailure("DATABASE_URL is not set (run scripts/bench-api.sh)"))
        }
        var logger = makeLogger("traceledger.bench-api")
        if logger.logLevel < .warning { logger.logLevel = .warning }
        let schema = "bench_api"
        var options = LocalRun.Options(load: LoadPlan(spans: spans, poisonFraction: 0))
        options.schema = schema
        options.group = "bench-api"
        options.partitions = partitions
        options.pricingFile = pricing
        options.flushInterval = Configuration().flushInterval  // the default flush interval
        let exporter = MetricsExporter()
        options.metrics = exporter
        try InProcessWorker.migrate(schema: schema, conninfo: url)

        var httpConfiguration = HTTPServiceConfiguration()
        httpConfiguration.host = "127.0.0.1"
        httpConfiguration.port = 0
        let http = HTTPService(
            configuration: httpConfiguration, conninfo: url, schema: try SchemaName(schema), readiness: AlwaysReady(),
            metricsText: { exporter.render(openMetrics: $0) }, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: http)], logger: logger))
        let server = Task<Void, any Error> { try await group.run() }
        guard let port = await http.waitUntilListening() else { throw CLIFailure("the HTTP server did not start") }
        let base = "http://127.0.0.1:\(port)"
        let (phase, fresh, rate, catalog) = (phaseSpans, freshnessSeconds, apiRate, URL(fileURLWithPath: pricing))
        let (topic, consumerGroup) = (options.load.topic, options.group)
        say("bench-api: warm-up run of \(spans) spans (max ingest rate, default flush interval) …")
        let result = try await LocalRun(options: options, conninfo: url, logger: logger).run(
            whileKept: { r, bootstrap in
                let seconds = r.elapsed.inSeconds
                var settings = APIBench.Settings(
                    bootstrapServers: bootstrap, topic: topic, group: consumerGroup, schema: schema,
                    conninfo: url, baseURL: base, catalogURL: catalog,
                    traceIDs: Array(r.manifest.traces.keys.sorted().prefix(2000)),
                    sessionIDs: Array(r.manifest.sessions.keys.sorted().prefix(200)),
                    maxRate: Double(r.spansCounted) / max(seconds, 1e-9))
                settings.fullSpeedSpans = phase
                settings.freshnessSeconds = fresh
                settings.apiRate = rate
                say(String(format: "bench-api: max ingest %.0f spans/s", settings.maxRate))
                do {
                    let report = try await APIBench(settings: settings).run(progress: { say("bench-api: \($0)") })
                    Self.print(report, maxRate: settings.maxRate)
                } catch {
                    say("bench-api: failed: \(error)")
                }
            })
        await group.triggerGracefulShutdown()
        try await server.value
        if !result.completed { throw CLIFailure("the warm-up run did not complete") }
    }

    static func print(_ r: APIBench.Report, maxRate: Double) {
        let f = r.freshness, t = r.transactionsDuringIngest, a = r.apiLatencies
        say("")
        say("== traceledger API bench (one run; worker, mock Kafka, HTTP server and client on this machine) ==")
        say(String(format: "max ingest (warm-up, no API load)        %.0f spans/s", maxRate))
        say(String(format: "freshness at %.0f spans/s background     p50 %.0f ms, p99 %.0f ms (%d samples, %d not visible in 15 s)",
                   r.backgroundRate, f.percentile(0.5), f.percentile(0.99), f.samplesMs.count, f.errors))
        say(String(format: "GET /v1/transactions/{id}, full ingest   p50 %.1f ms, p99 %.1f ms (%d requests, %d errors)",
                   t.percentile(0.5), t.percentile(0.99), t.samplesMs.count, t.errors))
        say(String(format: "ingest at full speed, no API load        %.0f spans/s", r.ingestWithoutAPI))
        say(String(format: "ingest at full speed, API %.0f req/s     %.0f spans/s (%+.1f %%); API p50 %.1f ms, p99 %.1f ms, %d errors",
                   r.apiRequestsPerSecond, r.ingestWithAPI, (r.ingestWithAPI / r.ingestWithoutAPI - 1) * 100,
                   a.percentile(0.5), a.percentile(0.99), a.errors))
    }
}
