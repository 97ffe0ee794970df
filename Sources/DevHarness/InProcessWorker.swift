import Foundation
import Ledger
public import Logging
public import Pipeline
import ServiceLifecycle
public import Telemetry

/// One worker (`PipelineService`) running in this process against a given PostgreSQL, started and
/// stopped on demand (graceful shutdown, as on SIGTERM). For tests and `LocalRun`.
public final class InProcessWorker: Sendable {
    public let pipeline: PipelineService
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// - Parameter metrics: the exporter whose factory the worker's series go to (and its cost by domain);
    ///   nil: `MetricsSystem.factory`.
    public init(configuration: Configuration, conninfo: String, logger: Logger, metrics: MetricsExporter? = nil) {
        let (schema, grace, session) = (configuration.databaseSchema, configuration.attributionGrace, configuration.databaseSession)
        let pipeline = PipelineService(
            configuration: configuration,
            makeStore: { () throws(EpochStoreError) in
                let withTimeouts: String
                do {
                    withTimeouts = try PGConnection.conninfo(conninfo, applying: session)
                } catch {
                    throw EpochStoreError(.rejected, "connection string: \(error)")
                }
                return try LedgerEpochStore(conninfo: withTimeouts, schema: schema, attributionGrace: grace)
            },
            logger: logger, metrics: metrics?.factory, costExporter: metrics)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: pipeline.companions.map { .init(service: $0) } + [.init(service: pipeline)], logger: logger))
        self.pipeline = pipeline
        self.group = group
        self.task = Task { try await group.run() }
    }

    /// Graceful shutdown: seal, write, commit, leave the group.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// Migrates `schema` (idempotent).
    public static func migrate(schema: String, conninfo: String) throws {
        let c = try PGConnection.connect(conninfo: conninfo)
        _ = try LedgerSchema(schema: try SchemaName(schema)).migrate(on: c)
    }

    /// Waits until Σ next_offset of `group` reaches `records` (every partition started at 0), or the
    /// timeout passes. Returns whether it did.
    public static func waitCommitted(
        records: Int64, group: String, schema: String, conninfo: String, timeout: Duration = .seconds(120)
    ) async throws -> Bool {
        let c = try PGConnection.connect(conninfo: conninfo)
        let reader = LedgerReader(schema: try SchemaName(schema))
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try reader.offsetsTotal(group: group, on: c) >= records { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
