import Foundation
public import Ledger
public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization

/// The worker's budget guardrail, a swift-service-lifecycle `Service` run beside the pipeline.
///
/// Every `reloadInterval` it polls the budgets file by content hash; valid new content replaces the
/// budgets and is synced into the `budgets` table (what `domain_costs_24h` joins), invalid content is
/// logged once and counted in `traceledger_budgets_reload_failures_total` while the last good budgets stay
/// in force. Every `checkInterval` it reads each budgeted domain's spend over the last 24 hours, updates
/// `traceledger_budget_usd{domain}`, `traceledger_budget_utilization{domain}` and
/// `traceledger_unattributed_share`, and records threshold crossings (`warn_at`, then 100 %) in
/// `budget_alerts` under a schema-wide advisory lock.
///
/// Guarantees:
/// - One webhook notice per crossing, pool-wide: only the worker whose `INSERT … ON CONFLICT DO NOTHING`
///   recorded the crossing sends it; a level re-arms when spend falls back below it (its row is deleted).
///   A jump past several levels in one check sends the highest only.
/// - Never blocks the pipeline or the cooperative pool: libpq runs on the monitor's own
///   `LedgerWorkerThread` (its own connection); notices go through a queue of `webhookQueueCapacity`;
///   when it is full, or a notice fails after `webhookRetries` retries, the notice is dropped and
///   `traceledger_webhook_failures_total` counts it. Delivery is at most once (a crash between the
///   crossing's commit and the POST loses that notice).
/// - A database or file problem never stops the monitor: it logs and tries again at the next tick.
/// - `run()` returns on cancellation or graceful shutdown (queued notices are then dropped).
public final class BudgetMonitor: Service, Sendable {
    private let budgetsFile: String
    private let conninfo: String
    private let store: BudgetStore
    private let checkInterval: Duration
    private let reloadInterval: Duration
    private let webhookTimeout: Duration
    private let webhookRetries: Int
    private let webhookBackoff: Duration
    private let webhookQueueCapacity: Int
    private let session: PGSessionSettings
    private let metrics: any MetricsFactory
    private let logger: Logger
    private let reloadFailures: Counter
    private let webhookFailures: Counter
    private let checks = Atomic<Int>(0)
    private let delivered = Atomic<Int>(0)

    /// - Parameters:
    ///   - budgetsFile: `budgets.file` (format: docs/budgets.md).
    ///   - conninfo: libpq connection string (`PGConnection.conninfo()`).
    ///   - schema: `database.schema`.
    ///   - checkInterval: `budgets.check_interval` (default 10 s).
    ///   - webhookTimeout: `budgets.webhook_timeout`, per attempt (default 5 s).
    ///   - webhookRetries: `budgets.webhook_retries` (default 3).
    ///   - reloadInterval: how often the file is polled for changes (default 5 s).
    ///   - webhookBackoff: the first wait before a retry, doubled per retry (default 500 ms).
    ///   - webhookQueueCapacity: notices waiting for delivery at most (default 64).
    ///   - session: the connection's timeouts (`Configuration.databaseSession`).
    /// - Throws: ``BudgetError`` `.invalidSchema` when `schema` is not a valid schema name.
    public init(
        budgetsFile: String, conninfo: String, schema: String, checkInterval: Duration = .seconds(10),
        webhookTimeout: Duration = .seconds(5), webhookRetries: Int = 3, reloadInterval: Duration = .seconds(5),
        webhookBackoff: Duration = .milliseconds(500), webhookQueueCapacity: Int = 64,
        session: PGSessionSettings = .default, metrics: any MetricsFactory, logger: Logger
    ) throws(BudgetError) {
        let schemaName: SchemaName
        do {
            schemaName = try SchemaName(schema)
        } catch {
            throw BudgetError(code: .invalidSchema, file: "-", line: 0, key: "database.schema", reason: "\(error)")
        }
        self.budgetsFile = budgetsFile
        self.conninfo = conninfo
        store = BudgetStore(schema: schemaName)
        self.checkInterval = max(checkInterval, .milliseconds(10))
        self.reloadInterval = max(reloadInterval, .milliseconds(10))
        self.webhookTimeout = webhookTimeout
        self.webhookRetries = max(0, webhookRetries)
        self.webhookBackoff = webhookBackoff
        self.webhookQueueCapacity = max(1, webhookQueueCapacity)
        self.session = session
        self.metrics = metrics
        self.logger = logger
        reloadFailures = Counter(label: "traceledger_budgets_reload_failures_total", factory: metrics)
        webhookFailures = Counter(label: "traceledger_webhook_failures_total", factory: metrics)
    }

    /// Budget checks completed so far (successful or not): lets tests and health checks see progress.
    public var checksCompleted: Int { checks.load(ordering: .acquiring) }

    /// Webhook notices delivered (2xx) so far.
    public var noticesDelivered: Int { delivered.load(ordering: .acquiring) }

    public func run() async throws {
        let conninfo = conninfo
        let session = session
        let worker = LedgerWorkerThread(name: "tl.budgets", queueCapacity: 2) {
            try PGConnection.connect(conninfo: conninfo, session: session)
        }
        defer { worker.shutdown() }
        let (notices, queue) = AsyncStream.makeStream(
            of: PendingNotice.self, bufferingPolicy: .bufferingOldest(webhookQueueCapacity))
        _ = await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.deliverLoop(notices) }
                group.addTask {
                    await self.checkLoop(worker: worker, queue: queue)
                    queue.finish()
                }
            }
        }
    }

    /// A notice and the URL it goes to (the file's webhook when the crossing was recorded).
    struct PendingNotice: Sendable {
        var url: URL
        var notice: WebhookNotice
    }

    private func deliverLoop(_ notices: AsyncStream<PendingNotice>) async {
        for await pending in notices {
            let poster = WebhookPoster(url: pending.url, timeout: webhookTimeout, retries: webhookRetries, backoff: webhookBackoff)
            if await poster.deliver(pending.notice, logger: logger) {
                delivered.add(1, ordering: .releasing)
            } else {
                webhookFailures.increment()
            }
        }
    }

    private func checkLoop(worker: LedgerWorkerThread, queue: AsyncStream<PendingNotice>.Continuation) async {
        let clock = ContinuousClock()
        var watcher = BudgetFileWatcher(path: budgetsFile)
        var gauges = BudgetGauges(factory: metrics)
        var current: BudgetFile?
        var needsSync = false
        var nextCheck = clock.now
        var nextReload = clock.now
        let store = store
        while !Task.isCancelled {
            if clock.now >= nextReload {
                nextReload = clock.now.advanced(by: reloadInterval)
                switch watcher.poll() {
                case .unchanged: break
                case .loaded(let file):
                    current = file
                    needsSync = true
                    logger.info(
                        "budgets loaded",
                        metadata: ["file": "\(budgetsFile)", "budgets": "\(file.budgets.count)", "webhook": "\(file.webhook != nil)"])
                case .failed(let error):
                    reloadFailures.increment()
                    logger.error(
                        "budgets file refused; the last good budgets stay in force",
                        metadata: ["error": "\(error.description)", "in_force": "\(current?.budgets.count ?? 0) budgets"])
                }
            }
            if let file = current, needsSync {
                let budgets = file.budgets
                do {
                    try await worker.run { connection in try store.sync(budgets, on: connection) }
                    needsSync = false
                } catch {
                    logger.warning("cannot sync the budgets table; retrying", metadata: ["error": "\(error)"])
                }
            }
            if clock.now >= nextCheck {
                nextCheck = clock.now.advanced(by: checkInterval)
                await check(current, worker: worker, gauges: &gauges, queue: queue)
                checks.add(1, ordering: .releasing)
            }
            let wake = min(nextCheck, nextReload)
            do { try await clock.sleep(until: wake) } catch { break }
        }
    }

    private func check(
        _ file: BudgetFile?, worker: LedgerWorkerThread, gauges: inout BudgetGauges,
        queue: AsyncStream<PendingNotice>.Continuation
    ) async {
        let store = store
        do {
            let share = try await worker.run { connection in try store.unattributedShare(on: connection) }
            gauges.update(unattributedShare: share)
        } catch {
            logger.warning("cannot read the unattributed share", metadata: ["error": "\(error)"])
        }
        // No valid budgets file yet: leave the recorded crossings alone.
        guard let file else { return }
        let budgets = file.budgets
        let outcome: BudgetStore.CheckOutcome
        do {
            outcome = try await worker.run { connection in try store.checkAlerts(budgets, on: connection) }
        } catch {
            logger.warning("budget check failed; retrying at the next interval", metadata: ["error": "\(error)"])
            return
        }
        gauges.update(outcome.statuses)
        for key in outcome.rearmed {
            logger.info("budget level re-armed (spend fell below it)", metadata: ["domain": "\(key.domain)", "level": "\(key.level.rawValue)"])
        }
        let statuses = Dictionary(outcome.statuses.map { ($0.domain, $0) }, uniquingKeysWith: { first, _ in first })
        let now = Date()
        for key in BudgetAlertPlan.notices(armed: outcome.armed) {
            guard let status = statuses[key.domain] else { continue }
            logger.warning(
                "budget threshold crossed",
                metadata: [
                    "domain": "\(key.domain)", "level": "\(key.level.rawValue)",
                    "spend_usd": "\(ExactDecimal.text(billionths: status.spendNano))",
                    "budget_usd": "\(status.budget.usdText)", "utilization": "\(status.utilizationText)",
                ])
            guard let url = file.webhook else { continue }
            let pending = PendingNotice(url: url, notice: WebhookNotice(status: status, level: key.level, at: now))
            if case .dropped = queue.yield(pending) {
                webhookFailures.increment()
                logger.error("budget webhook queue full; notice dropped", metadata: ["domain": "\(key.domain)", "level": "\(key.level.rawValue)"])
            }
        }
    }
}
