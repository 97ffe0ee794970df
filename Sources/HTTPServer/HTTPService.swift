import Foundation
public import Ledger
public import Logging
import Hummingbird
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Settings of the HTTP server (config keys `http.*`).
public struct HTTPServiceConfiguration: Sendable {
    /// Listen address (`http.host`, default `0.0.0.0`).
    public var host = "0.0.0.0"
    /// Port (`http.port`, default 9464; 0 = any free port, see ``HTTPService/boundPort``).
    public var port = 9464
    /// Read connections (threads) of the API (`http.read_connections`, default 4).
    public var readConnections = 4
    /// `statement_timeout` of each API read (`http.statement_timeout`, default 5 s).
    public var statementTimeout = Duration.seconds(5)
    /// `/readyz` is false once ingest has been paused longer than this (`http.ready_max_pause`, 60 s).
    public var readyMaxPause = Duration.seconds(60)
    /// `/readyz` tolerates no assigned partitions this long after start (group join, rebalance).
    public var assignmentGrace = Duration.seconds(30)
    /// How often the read pool probes the database for `/readyz`.
    public var probeInterval = Duration.seconds(2)
    /// Requests waiting per read connection before the API answers 503.
    public var queuePerConnection = 32

    public init() {}
}

/// The one HTTP port of a worker: `/healthz`, `/readyz`, `/metrics` and the read API (`/v1/...`), as a
/// swift-service-lifecycle `Service`.
///
/// Guarantees:
/// - Runs hummingbird on its OWN event loop (``httpEventLoopGroup``: one thread, never the pipeline's
///   threads or Swift's cooperative pool); database reads go to a ``LedgerReadPool`` of dedicated
///   threads with a bounded queue (full → 503) and a statement timeout; no handler blocks an event loop
///   or takes a lock the pipeline holds.
/// - ``run()`` returns after graceful shutdown: the server stops accepting and the pool's threads end.
/// - ``boundPort`` is the port actually listened on once the server runs (useful with port 0).
public final class HTTPService: Service, Sendable {
    private let configuration: HTTPServiceConfiguration
    private let pool: LedgerReadPool
    private let api: LedgerAPI
    private let readiness: ReadinessTracker
    private let metricsText: @Sendable (Bool) -> String
    private let logger: Logger
    private let port = Mutex<Int?>(nil)

    /// - Parameters:
    ///   - conninfo: the database (URI, `key=value`, or empty for `PG*`); the pool adds its timeouts.
    ///   - session: connection timeouts (its statement timeout is replaced by the configuration's).
    ///   - schema: the ledger's schema.
    ///   - readiness: the worker's state for `/readyz`.
    ///   - metricsText: the `/metrics` body; the argument says whether OpenMetrics was asked for.
    public init(
        configuration: HTTPServiceConfiguration, conninfo: String, session: PGSessionSettings = .default,
        schema: SchemaName, readiness: any ReadinessSource,
        metricsText: @escaping @Sendable (_ openMetrics: Bool) -> String, logger: Logger
    ) {
        self.configuration = configuration
        let pool = LedgerReadPool(
            conninfo: conninfo, session: session, statementTimeout: configuration.statementTimeout,
            connections: configuration.readConnections, queueCapacityPerConnection: configuration.queuePerConnection)
        self.pool = pool
        self.api = LedgerAPI(pool: pool, reader: LedgerReader(schema: schema), logger: logger)
        self.readiness = ReadinessTracker(
            source: readiness, maxPause: configuration.readyMaxPause, assignmentGrace: configuration.assignmentGrace)
        self.metricsText = metricsText
        self.logger = logger
    }

    /// The port the server listens on, once it does (nil before).
    public var boundPort: Int? { port.withLock { $0 } }

    /// Waits until the server listens (or `timeout` passes); returns its port.
    public func waitUntilListening(timeout: Duration = .seconds(30)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let p = boundPort { return p }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return boundPort
    }

    public func run() async throws {
        let group = httpEventLoopGroup
        let pool = self.pool
        let router = Routes.build(
            api: api, readiness: readiness, pool: LedgerReadPoolProbe(lastProbeError: { pool.lastProbeError }),
            metricsText: metricsText)
        let logger = self.logger
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { [self] channel in
                let bound = channel.localAddress?.port
                self.port.withLock { $0 = bound }
                logger.info("HTTP server listening", metadata: ["port": "\(bound.map(String.init) ?? "?")"])
            },
            eventLoopGroupProvider: .shared(group),
            logger: quiet(logger))
        let readiness = self.readiness
        let interval = configuration.probeInterval
        do {
            // Child results: true = the server ended. The server ending (its port taken, say) ends the
            // service at once, so the process does not wait for a shutdown signal to report it.
            let (host, port) = (configuration.host, configuration.port)
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                tasks.addTask {
                    do {
                        try await app.run()
                    } catch {
                        logger.error(
                            "HTTP server cannot run on \(host):\(port) (set http.host/http.port, TRACELEDGER_HTTP_HOST/TRACELEDGER_HTTP_PORT; 0 = any free port)",
                            metadata: ["error": "\(error)"])
                        throw error
                    }
                    return true
                }
                tasks.addTask {
                    try? await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            await pool.probe()
                            readiness.sample()
                            try await Task.sleep(for: interval)
                        }
                    }
                    return false
                }
                for try await serverEnded in tasks where serverEnded { tasks.cancelAll() }
            }
        } catch {
            pool.shutdown()
            throw error
        }
        pool.shutdown()
    }
}

/// The event loop of every HTTP server in the process: one thread of its own, started on first use and
/// never shut down (it ends with the process). A group shut down when `Application.run()` returns raced
/// hummingbird's closing of keep-alive connections, and NIO then printed "ERROR: Cannot schedule tasks
/// on an EventLoop that has already shut down" at exit (seen with a Prometheus-style keep-alive poller).
let httpEventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

/// Hummingbird logs every request at debug and server start at info: keep it at warning or above
/// unless the caller asked for debug.
private func quiet(_ logger: Logger) -> Logger {
    var l = logger
    if l.logLevel > .debug { l.logLevel = max(l.logLevel, .warning) }
    return l
}
