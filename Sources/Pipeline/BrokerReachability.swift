import Kafka
import Logging

/// Whether the worker can reach a Kafka broker, said ONCE and clearly: one error line naming the
/// configured brokers and the key that sets them (`kafka.brokers` / `TRACELEDGER_KAFKA_BROKERS`) when
/// librdkafka reports that all brokers are down, and the same text as the not-ready reason (`/readyz`)
/// until something arrives from the cluster again (records or an assignment), which is logged once too.
/// librdkafka's own repeated connection lines are demoted to debug in the Kafka module.
///
/// A value owned by the ingest thread; no I/O but the log lines and the status it is given.
struct BrokerReachability {
    let brokers: String
    private(set) var unreachable = false

    init(brokers: String) { self.brokers = brokers }

    /// The not-ready reason while no broker answers.
    var reason: String {
        "no Kafka broker reachable at \(brokers) (set kafka.brokers or TRACELEDGER_KAFKA_BROKERS)"
    }

    /// librdkafka reported that all brokers are down (`detail`: its own words).
    mutating func allBrokersDown(detail: String, stopping: Bool, status: PipelineStatus, logger: Logger) {
        // At shutdown the cluster going away is expected (the dev harness stops it): not an error.
        if stopping {
            logger.debug("kafka brokers down while stopping", metadata: ["detail": "\(detail)"])
            return
        }
        guard !unreachable else { return }
        unreachable = true
        status.setKafkaUnreachable(reason)
        logger.error(
            "\(reason); the worker keeps retrying and consumes nothing until one answers",
            metadata: ["brokers": "\(brokers)", "detail": "\(detail)"])
    }

    /// A consumer error event: true when it is about reachability (handled here, logged at debug or
    /// turned into the one clear line), false for anything else.
    mutating func handle(_ error: KafkaError, stopping: Bool, status: PipelineStatus, logger: Logger) -> Bool {
        switch error.code {
        case .allBrokersDown:
            allBrokersDown(detail: "\(error)", stopping: stopping, status: status, logger: logger)
            return true
        case .transport:
            logger.debug("kafka transport error", metadata: ["error": "\(error)"])
            return true
        default:
            return false
        }
    }

    /// Something came from the cluster: a broker answers.
    mutating func reachable(status: PipelineStatus, logger: Logger) {
        guard unreachable else { return }
        unreachable = false
        status.setKafkaUnreachable(nil)
        logger.notice("kafka brokers reachable again", metadata: ["brokers": "\(brokers)"])
    }
}
