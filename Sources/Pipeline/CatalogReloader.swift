import Logging
import Pricing
public import ServiceLifecycle

/// Re-reads the price catalog file every `pricing.reload_interval` (a `Service` beside the worker in its
/// `ServiceGroup`). A changed file that parses comes into force for the next records each shard
/// processes; a refused one leaves the last good catalog in force, is logged at error level and counted
/// (`traceledger_catalog_reload_failures_total`). Ends on graceful shutdown or cancellation; never throws.
public struct CatalogReloader: Service {
    let source: PriceCatalogSource
    let interval: Duration
    let metrics: PipelineMetrics
    let logger: Logger

    init(source: PriceCatalogSource, interval: Duration, metrics: PipelineMetrics, logger: Logger) {
        self.source = source
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async {
        metrics.catalogVersion.record(source.version)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                pollOnce()
            }
        }
    }

    /// One check of the file (also what tests call).
    func pollOnce() {
        let outcome = source.poll()
        metrics.catalogVersion.record(source.version)
        switch outcome {
        case .failed(let error):
            metrics.catalogReloadFailures.increment()
            logger.error("price catalog refused; keeping the last good one", metadata: ["error": "\(error)"])
        case .reloaded:
            logger.notice("price catalog reloaded", metadata: ["version": "\(source.version)"])
        case .unchanged:
            break
        }
    }
}
