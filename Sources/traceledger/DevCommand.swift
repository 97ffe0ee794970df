import DurationUnits
import ArgumentParser
import DevHarness
import Dispatch
import Foundation
import Glibc
import HTTPServer
import Ledger
import LoadGen
import Logging
import ServiceLifecycle
import Telemetry
import Synchronization

/// Set by SIGINT/SIGTERM while `dev` runs, so that it stops everything it started.
private let stopRequested = Atomic<Bool>(false)

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Everything on one machine for a first look: Postgres + mock Kafka + a worker + a load, then a summary.",
        discussion: """
            Starts a throwaway PostgreSQL (initdb in a temp dir, 127.0.0.1, a free port), librdkafka's mock Kafka cluster, one worker and a load of realistic OTLP traffic (with 1 % poison records), waits until every record is committed, checks the ledger against the load's manifest, and prints a summary. Ctrl-C stops all of it cleanly. The HTTP API runs on --http-port (default 9464; 0 = any free port) and the summary prints URLs to open. With --keep, PostgreSQL, the worker and the HTTP server stay up after the summary (until Ctrl-C) so that you can look around with psql and curl.
            """)

    @Option(help: "Spans to generate.") var spans = 1_000_000
    @Option(help: "Record shape: collector or sdk.") var shape: TrafficConfiguration.Shape = .collector
    @Option(help: "Share of poison records.") var poison = 0.01
    @Option(help: "Price catalog.") var pricing = "config/pricing.yaml"
    @Option(help: "Kafka partitions of the mock topic.") var partitions = 12
    @Flag(help: "Keep PostgreSQL, the worker and the HTTP server running after the summary, until Ctrl-C.") var keep = false
    @Option(help: "Port of the HTTP API (0 = any free port).") var httpPort = 9464

    func run() async throws {
        guard FileManager.default.fileExists(atPath: pricing) else {
            throw CLIFailure.report(CLIFailure("price catalog \(pricing) not found: run from the repository root or pass --pricing FILE"))
        }
        let signals = Self.trapSignals()
        defer { _ = signals }
        var logger = makeLogger("traceledger.dev")
        if logger.logLevel < .warning { logger.logLevel = .warning }

        say("dev: starting PostgreSQL …")
        let pg: ThrowawayPostgres
        do {
            pg = try ThrowawayPostgres.start()
        } catch {
            throw CLIFailure.report(error)
        }
        defer { pg.destroy() }
        say("dev: PostgreSQL at \(pg.url)")
        var options = LocalRun.Options(load: LoadPlan(spans: spans, shape: shape, poisonFraction: poison))
        options.pricingFile = pricing
        options.partitions = partitions
        let exporter = MetricsExporter()
        options.metrics = exporter
        say("dev: mock Kafka (\(partitions) partitions), one worker, \(spans) spans of \(shape.rawValue)-shaped load …")
        var httpConfiguration = HTTPServiceConfiguration()
        httpConfiguration.host = "127.0.0.1"
        httpConfiguration.port = httpPort
        let http = HTTPService(
            configuration: httpConfiguration, conninfo: pg.url, schema: .default, readiness: AlwaysReady(),
            metricsText: { exporter.render(openMetrics: $0) }, logger: logger)
        let httpGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: http)], logger: logger))
        let result: LocalRun.Result
        do {
            result = try await Self.runWithHTTP(
                LocalRun(options: options, conninfo: pg.url, logger: logger), http: http, group: httpGroup, keep: keep)
        } catch {
            throw CLIFailure.report(error)
        }
        if stopRequested.load(ordering: .relaxed) && !(keep && result.completed) {
            say("dev: interrupted; stopping the worker, Kafka and PostgreSQL")
            throw ExitCode(130)
        }
        if !result.completed || !result.differences.isEmpty || !result.invariantViolations.isEmpty {
            throw ExitCode(1)
        }
    }

    /// Runs the HTTP server beside the local run; prints the summary (and, with `keep`, the URLs, then
    /// waits for Ctrl-C while everything still runs).
    static func runWithHTTP(_ run: LocalRun, http: HTTPService, group: ServiceGroup, keep: Bool) async throws -> LocalRun.Result {
        let url = run.conninfo
        let serverTask = Task<Void, any Error> { try await group.run() }
        let port = await http.waitUntilListening()
        say("dev: HTTP API at http://127.0.0.1:\(port.map { String($0) } ?? "?")")
        let whileKept: (@Sendable (LocalRun.Result, String) async -> Void)?
        if keep {
            whileKept = { (r: LocalRun.Result, _: String) async -> Void in
                Self.printSummary(r, conninfo: url, httpPort: port)
                say("\ndev: PostgreSQL, the worker and the HTTP server stay up; Ctrl-C to stop them.")
                while !stopRequested.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(200)) }
            }
        } else {
            whileKept = nil
        }
        let result: LocalRun.Result
        do {
            result = try await run.run(
                progress: { say("dev: \($0)") }, shouldStop: { stopRequested.load(ordering: .relaxed) },
                whileKept: whileKept)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await serverTask.value
            throw error
        }
        if !keep || !result.completed { Self.printSummary(result, conninfo: url, httpPort: nil) }
        await group.triggerGracefulShutdown()
        try await serverTask.value
        return result
    }

    /// The summary; with `httpPort`, also the URLs to open while the server runs.
    static func printSummary(_ r: LocalRun.Result, conninfo: String, httpPort: Int?) {
        do {
            try summary(r, conninfo: conninfo, httpPort: httpPort)
        } catch {
            say("dev: cannot print the summary: \(error)")
        }
    }

    static func summary(_ r: LocalRun.Result, conninfo: String, httpPort: Int?) throws {
        let c = try PGConnection.connect(conninfo: conninfo)
        let reader = LedgerReader()
        let seconds = max(r.elapsed.inSeconds, 1e-9)
        say("")
        say("== traceledger dev: summary ==")
        say(
            String(
                format: "%d records, %d spans counted in %.1f s: %.0f spans/s end to end",
                r.recordsProduced, r.spansCounted, seconds, Double(r.spansCounted) / seconds)
                + " (\(r.committedEpochs) \(r.committedEpochs == 1 ? "epoch" : "epochs") committed)")
        say("\ncost per domain (root transaction), all hours:")
        for d in try reader.domains(on: c).prefix(12) {
            say("  \(pad(d.transaction, 28)) \(pad(formatUSD(d.costNanoUSD), 18, left: true)) USD  \(d.traceCount) traces, \(d.spanCount) spans")
        }
        say("\ntop 5 transactions:")
        for t in try reader.topTransactions(limit: 5, on: c) {
            say("  \(t.traceIDHex)  \(pad(t.transaction ?? "?", 24)) \(pad(formatUSD(t.costNanoUSD), 16, left: true)) USD  \(t.spanCount) spans")
        }
        let sessions = try reader.sessions(on: c)
        say("\nsessions: \(sessions.count); top 3:")
        for s in sessions.prefix(3) {
            let agents = s.agentCount == 0
                ? "no agent spans"
                : "\(s.agentCount) agent spans, max depth \(s.depthMax.map { String($0) } ?? "?"), \(s.ceilingHits) ceiling hits"
            say("  \(pad(s.sessionID, 28)) \(pad(formatUSD(s.costNanoUSD), 16, left: true)) USD  \(s.spanCount) spans, \(agents)")
        }
        let rejected = try reader.rejectedByReason(on: c)
        say("\nrejected records: \(rejected.values.reduce(0, +)) (\(rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))); dead-letter copies: \(r.deadLetters)")
        if r.completed && r.differences.isEmpty && r.invariantViolations.isEmpty {
            say("\nverify: the ledger matches the load's manifest exactly (every trace, domain, session and model)")
        } else {
            say("\nverify: \(r.differences.count) differences, invariants: \(r.invariantViolations), completed: \(r.completed)")
            for d in r.differences.prefix(10) { say("  \(d)") }
        }
        if let httpPort {
            let base = "http://127.0.0.1:\(httpPort)"
            say("\nopen (HTTP API, docs/http-api.md):")
            say("  \(base)/metrics")
            say("  \(base)/readyz")
            if let t = try reader.topTransactions(limit: 1, on: c).first { say("  \(base)/v1/transactions/\(t.traceIDHex)") }
            say("  \(base)/v1/domains?window=24h")
            say("  \(base)/v1/models?window=24h")
            if let s = sessions.first {
                let id = s.sessionID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? s.sessionID
                say("  \(base)/v1/sessions/\(id)")
                say("  curl -X POST -d '{\"ceiling_usd\":\"1.00\",\"estimate_usd\":\"0.05\"}' \(base)/v1/sessions/\(id)/precommit")
            }
        } else {
            say("\nHTTP API (with --keep): /metrics, /v1/transactions/{trace_id}, /v1/domains?window=24h, /v1/sessions/{id}")
        }
        say("\nwhere to look (with --keep): psql '\(conninfo)'")
        say("  SELECT * FROM traceledger.domain_costs_24h;")
        say("  SELECT * FROM traceledger.transaction_costs ORDER BY cost_nusd DESC LIMIT 10;")
        say("  SELECT * FROM traceledger.session_costs ORDER BY cost_nusd DESC LIMIT 10;")
        say("  SELECT reason, count(*) FROM traceledger.rejected_records GROUP BY reason;")
    }

    /// SIGINT/SIGTERM set `stopRequested` instead of killing the process (so PostgreSQL is stopped).
    /// A C handler, not SIG_IGN: ignored signals are inherited by child processes (pg_ctl, postgres), a
    /// handler is reset to the default at exec.
    static func trapSignals() -> [Int32] {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in
                if stopRequested.load(ordering: .relaxed) { _exit(130) }  // A second Ctrl-C: leave now.
                stopRequested.store(true, ordering: .relaxed)
            }
        }
        return [SIGINT, SIGTERM]
    }
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let n = s.count
    guard n < width else { return s }
    let spaces = String(repeating: " ", count: width - n)
    return left ? spaces + s : s + spaces
}

/// Writes a line to stdout unbuffered, so progress shows at once even when piped.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
