import Foundation
import Synchronization

/// A bounded pool of read connections for the HTTP API: `connections` dedicated OS threads
/// (``LedgerWorkerThread``), each owning one ``PGConnection``, so that libpq never blocks Swift's
/// cooperative pool or an event loop.
///
/// Guarantees:
/// - At most `connections` statements run at once, at most `connections × queueCapacityPerConnection`
///   wait. When every queue is full, ``read(_:)`` throws `LedgerError.workerBusy` at once (the HTTP layer
///   answers 503); nothing waits unbounded.
/// - Every connection runs with `statement_timeout` = `statementTimeout` and is read-only
///   (`default_transaction_read_only`); a statement over the limit fails with SQLSTATE 57014.
/// - A broken connection is opened again before the next job on its thread (``LedgerWorkerThread``).
/// - ``probe()`` runs `SELECT 1` and records the outcome; ``lastProbeError`` is nil after a good probe.
/// - ``shutdown()`` stops every thread after its queued jobs.
public final class LedgerReadPool: Sendable {
    private let workers: [LedgerWorkerThread]
    private let next = Atomic<Int>(0)
    private let probeState = Mutex<String?>("not probed yet")

    /// - Parameters:
    ///   - conninfo: the connection string (URI, `key=value` or empty for `PG*`), without timeouts applied.
    ///   - session: timeouts of each connection; its `statementTimeout` is replaced by `statementTimeout`.
    ///   - connections: threads and connections (≥ 1).
    ///   - queueCapacityPerConnection: jobs waiting per thread at most (≥ 1).
    public init(
        conninfo: String, session: PGSessionSettings = .default, statementTimeout: Duration,
        connections: Int, queueCapacityPerConnection: Int = 32
    ) {
        var adjusted = session
        adjusted.statementTimeout = statementTimeout
        adjusted.applicationName = "traceledger-api"
        let settings = adjusted
        let timeoutMs = PGSessionSettings.milliseconds(statementTimeout)
        let count = max(1, connections)
        workers = (0..<count).map { i in
            LedgerWorkerThread(name: "tl.api-read.\(i)", queueCapacity: max(1, queueCapacityPerConnection)) {
                let applied = try PGConnection.conninfo(conninfo, applying: settings)
                let c = try PGConnection.connect(conninfo: applied)
                // Also as SET: a conninfo whose own options already named statement_timeout keeps its value
                // in the startup packet; the API's limit is ours to choose.
                _ = try c.execute("SET statement_timeout = \(timeoutMs)")
                _ = try c.execute("SET default_transaction_read_only = on")
                return c
            }
        }
    }

    /// Runs `body` on one of the pool's connections (the first with room in its queue, starting
    /// round-robin) and returns its result.
    ///
    /// - Throws: what `body` throws; `LedgerError` `.workerBusy` when every queue is full,
    ///   `.connectionFailed` when the database cannot be reached, `.workerStopped` after ``shutdown()``.
    public func read<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let start = next.add(1, ordering: .relaxed).oldValue
        var lastBusy: (any Error)?
        for k in 0..<workers.count {
            // Safe: `start` wraps only after 2^63 requests; `&+` and a non-negative modulo keep it in range.
            let index = Int((UInt(bitPattern: start &+ k)) % UInt(workers.count))
            do {
                return try await workers[index].run(body)
            } catch let error as LedgerError where error.code == .workerBusy {
                lastBusy = error
                continue
            }
        }
        throw lastBusy ?? LedgerError(.workerBusy, message: "read pool is full")
    }

    /// Runs `SELECT 1` on the pool and records the result for ``lastProbeError``.
    /// - Returns: nil when the database answered, else why not.
    @discardableResult
    public func probe() async -> String? {
        let outcome: String?
        do {
            _ = try await read { c in try c.execute("SELECT 1") }
            outcome = nil
        } catch let error as LedgerError where error.code == .workerBusy {
            // Every connection is busy answering: the database is reachable.
            outcome = nil
        } catch {
            outcome = "\(error)"
        }
        probeState.withLock { $0 = outcome }
        return outcome
    }

    /// The outcome of the last ``probe()``: nil when it reached the database, else why not.
    public var lastProbeError: String? { probeState.withLock { $0 } }

    /// Stops every thread after its queued jobs; later reads throw `.workerStopped`.
    public func shutdown() {
        for w in workers { w.shutdown() }
    }
}
