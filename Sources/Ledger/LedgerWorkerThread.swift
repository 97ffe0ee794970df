import DedicatedThread
import Foundation
import Synchronization

/// A dedicated OS thread that owns one ``PGConnection`` and runs blocking database jobs on it, so that
/// libpq never blocks Swift's cooperative pool.
///
/// Guarantees:
/// - Jobs run one at a time, in submission order, on the worker's own `Thread`; the connection is touched
///   by that thread only.
/// - The job queue is bounded by `queueCapacity`: when full, ``run(_:)`` throws `LedgerError.workerBusy`
///   at once (the caller slows down, nothing is dropped silently).
/// - The connection is opened lazily by `connect` on the worker thread, and opened again before the next
///   job after it broke. A job that leaves a transaction open is rolled back after it.
/// - ``shutdown()`` stops accepting jobs; queued jobs still run; then the connection is closed and the
///   thread ends. Jobs submitted after it throw `LedgerError.workerStopped`.
/// - Cancellation of the awaiting task does not interrupt a running statement, but the caller stops
///   waiting for it: ``run(_:)`` throws `CancellationError` at once (a job not yet started is skipped),
///   so a service can stop on time while the database does not answer.
public final class LedgerWorkerThread: Sendable {
    private let queue: JobQueue

    /// - Parameters:
    ///   - name: the thread's name (logs, debuggers).
    ///   - queueCapacity: jobs waiting at most (≥ 1).
    ///   - connect: opens the connection; runs on the worker thread.
    public init(
        name: String = "tl.ledger", queueCapacity: Int = 16,
        connect: @escaping @Sendable () throws -> PGConnection
    ) {
        let queue = JobQueue(capacity: max(1, queueCapacity))
        self.queue = queue
        DedicatedThread.start(name: name) {
            Thread.current.threadDictionary[Self.threadKey] = name
            Self.loop(queue: queue, connect: connect)
        }
    }

    /// A worker whose connection comes from `DATABASE_URL` / `PG*` (see `PGConnection.conninfo`).
    public convenience init(name: String = "tl.ledger", queueCapacity: Int = 16, conninfo: String) {
        self.init(name: name, queueCapacity: queueCapacity) { try PGConnection.connect(conninfo: conninfo) }
    }

    deinit {
        queue.close()
    }

    /// Runs `body` with the worker's connection on the worker thread and returns its result.
    ///
    /// - Throws: what `body` throws; `LedgerError` `.connectionFailed` when the connection cannot be opened,
    ///   `.workerBusy` when the queue is full, `.workerStopped` after ``shutdown()``.
    @discardableResult
    public func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let waiter = JobWaiter<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                guard waiter.attach(continuation) else { return }  // Cancelled already: resumed.
                let job: Job = { connection in
                    guard !waiter.isFinished else { return }  // The caller stopped waiting: skip.
                    switch connection {
                    case .success(let connection):
                        do { waiter.finish(.success(try body(connection))) } catch { waiter.finish(.failure(error)) }
                    case .failure(let error):
                        waiter.finish(.failure(error))
                    }
                }
                if let refusal = queue.push(job) {
                    waiter.finish(.failure(refusal))
                }
            }
        } onCancel: {
            waiter.finish(.failure(CancellationError()))
        }
    }

    /// Stops accepting jobs; the thread finishes the queued ones, closes the connection and exits.
    public func shutdown() {
        queue.close()
    }

    /// The name of the worker thread the caller runs on, nil elsewhere (assertions, tests). Foundation's
    /// `Thread.name` is not reliable on Linux, hence a thread-dictionary marker.
    public static var currentWorkerName: String? {
        Thread.current.threadDictionary[threadKey] as? String
    }

    private static let threadKey = "traceledger.LedgerWorkerThread"

    typealias Job = @Sendable (Result<PGConnection, any Error>) -> Void

    private static func loop(queue: JobQueue, connect: @Sendable () throws -> PGConnection) {
        var connection: PGConnection?
        while let job = queue.pop() {
            if connection.map({ !$0.isHealthy }) ?? true {
                connection = nil
                do { connection = try connect() } catch {
                    job(.failure(error))
                    continue
                }
            }
            guard let current = connection else { continue }
            job(.success(current))
            current.rollbackIfNeeded()
        }
        connection = nil  // PQfinish on the worker thread, in deinit.
    }

    /// The bounded FIFO between submitters and the worker thread, guarded by an `NSCondition`.
    private final class JobQueue: @unchecked Sendable {  // Safe: all state is touched under `condition`.
        private let condition = NSCondition()
        private var jobs: [Job] = []
        private var head = 0
        private var closed = false
        private let capacity: Int

        init(capacity: Int) { self.capacity = capacity }

        /// Nil when queued, else the error to report.
        func push(_ job: @escaping Job) -> LedgerError? {
            condition.lock()
            defer { condition.unlock() }
            if closed { return LedgerError(.workerStopped, message: "ledger worker thread is shut down") }
            if jobs.count - head >= capacity {
                return LedgerError(.workerBusy, message: "ledger worker queue is full (\(capacity) jobs)")
            }
            jobs.append(job)
            condition.signal()
            return nil
        }

        /// The next job, waiting for one; nil once closed and drained.
        func pop() -> Job? {
            condition.lock()
            defer { condition.unlock() }
            while head == jobs.count && !closed { condition.wait() }
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            return job
        }

        func close() {
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// The continuation of one ``LedgerWorkerThread/run(_:)`` call, resumed exactly once: by the job's
/// result, a refusal, or the caller's cancellation, whichever comes first.
private final class JobWaiter<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?)>((nil, nil))

    /// Whether the call already finished (its result was delivered or is waiting for the continuation).
    var isFinished: Bool { state.withLock { $0.result != nil } }

    /// Attaches the continuation; false when it was resumed at once because the call finished before.
    func attach(_ c: CheckedContinuation<T, any Error>) -> Bool {
        let early = state.withLock { s -> Result<T, any Error>? in
            if let r = s.result { return r }
            s.continuation = c
            return nil
        }
        if let early { c.resume(with: early); return false }
        return true
    }

    /// Delivers the result; every later call is ignored.
    func finish(_ r: Result<T, any Error>) {
        let c = state.withLock { s -> CheckedContinuation<T, any Error>? in
            guard s.result == nil else { return nil }
            s.result = r
            defer { s.continuation = nil }
            return s.continuation
        }
        c?.resume(with: r)
    }
}
