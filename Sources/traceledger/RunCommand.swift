import ArgumentParser
import Foundation
import HTTPServer
import Budgets
import Ledger
import Logging
import Pipeline
import ServiceLifecycle
import Telemetry

/// Reads the configuration the way `run` and `dev` do: the file (if any), then `TRACELEDGER_*`.
func loadConfiguration(file: String?) throws -> Configuration {
    do {
        return try Configuration.load(file: file, environment: ProcessInfo.processInfo.environment)
    } catch {
        throw CLIFailure("configuration: \(error)")
    }
}

/// Logger for the CLI: stderr, level from `TRACELEDGER_LOG_LEVEL` (default info).
func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    let raw = ProcessInfo.processInfo.environment["TRACELEDGER_LOG_LEVEL"] ?? "info"
    logger.logLevel = Logger.Level(rawValue: raw) ?? .info
    return logger
}

/// Migrates the schema (idempotent, under an advisory lock) on one short-lived connection.
func migrateSchema(_ schema: String, conninfo: String) throws {
    let connection: PGConnection
    do {
        connection = try PGConnection.connect(conninfo: conninfo)
    } catch let error as LedgerError {
        throw CLIFailure(
            "cannot connect to PostgreSQL (\(error.message)): set DATABASE_URL=postgresql://user@host:port/db "
                + "or PGHOST/PGPORT/PGUSER/PGDATABASE")
    }
    _ = try LedgerSchema(schema: try SchemaName(schema)).migrate(on: connection)
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a worker: consume OTLP spans from Kafka and write the cost ledger to PostgreSQL, exactly once.",
        discussion: """
            Configuration: defaults, then --config FILE (see config/traceledger.yaml for every key), then TRACELEDGER_* environment variables (kafka.brokers -> TRACELEDGER_KAFKA_BROKERS). The database is DATABASE_URL or the PG* variables; the schema is migrated at start (idempotent). SIGTERM/SIGINT: stop fetching, write the open epoch, commit, leave the group, exit 0 within shutdown.timeout.
            """)

    @Option(name: .long, help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    var config: String?

    func run() async throws {
        let configuration = try loadConfiguration(file: config)
        let logger = makeLogger("traceledger.worker")
        let conninfo: String
        do {
            // The configured database.* timeouts travel in the connection string, so every connection
            // the worker opens (migration, epoch writer, offset reads) has them.
            conninfo = try PGConnection.conninfo(PGConnection.conninfo(), applying: configuration.databaseSession)
        } catch let error as LedgerError {
            throw CLIFailure("DATABASE_URL: \(error.message)")
        }
        do {
            try migrateSchema(configuration.databaseSchema, conninfo: conninfo)
        } catch {
            throw CLIFailure.report(error)
        }
        // One exporter per process: the pipeline's and the budget monitor's series, and cost by domain.
        let exporter = MetricsExporter()
        let pipeline = PipelineService(
            configuration: configuration,
            makeStore: { () throws(EpochStoreError) in
                try LedgerEpochStore(
                    conninfo: conninfo, schema: configuration.databaseSchema,
                    attributionGrace: configuration.attributionGrace)
            },
            logger: logger, metrics: exporter.factory, costExporter: exporter)
        let http = HTTPService(
            configuration: configuration.httpService, conninfo: PGConnection.conninfo(),
            session: configuration.databaseSession, schema: try SchemaName(configuration.databaseSchema),
            readiness: PipelineReadiness(status: pipeline.status),
            metricsText: { exporter.render(openMetrics: $0) },
            logger: logger)
        let budgets: BudgetMonitor
        do {
            budgets = try BudgetMonitor(
                budgetsFile: configuration.budgetsFile, conninfo: conninfo, schema: configuration.databaseSchema,
                checkInterval: configuration.budgetsCheckInterval, webhookTimeout: configuration.budgetsWebhookTimeout,
                webhookRetries: configuration.budgetsWebhookRetries, session: configuration.databaseSession,
                metrics: exporter.factory, logger: logger)
        } catch {
            throw CLIFailure("\(error)")
        }
        // Services stop in reverse order: the pipeline first (it has `shutdown.timeout` to seal, write,
        // commit and leave the group), then its companions (progress reporter, catalog reloader), then the
        // budget monitor, then the HTTP server (/healthz answers
        // while the worker drains). The HTTP server or the budget monitor ending early (a port already
        // taken, say) shuts the worker down gracefully; it never cancels it.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(
                    service: http, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(
                    service: budgets, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup),
            ] + pipeline.companions.map { .init(service: $0) } + [.init(service: pipeline)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // A backstop only: the pipeline keeps its own deadline, and the other services stop waiting for a
        // database that does not answer (their blocked statements are left to their threads).
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout + .seconds(2)
        groupConfiguration.maximumCancellationDuration = .seconds(1)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            throw CLIFailure.report(error)
        }
    }
}

/// `/readyz` from the worker's `PipelineStatus` (HTTPServer does not depend on the Pipeline).
struct PipelineReadiness: ReadinessSource {
    let status: PipelineStatus
    var notReadyReason: String? { status.notReadyReason }
    var isPaused: Bool { status.isPaused }
    var assignedPartitions: Int? { status.assignedPartitions }
}

extension Configuration {
    /// The `http.*` keys as the HTTP server's settings.
    var httpService: HTTPServiceConfiguration {
        var c = HTTPServiceConfiguration()
        c.host = httpHost
        c.port = httpPort
        c.readConnections = httpReadConnections
        c.statementTimeout = httpStatementTimeout
        c.readyMaxPause = httpReadyMaxPause
        return c
    }
}
