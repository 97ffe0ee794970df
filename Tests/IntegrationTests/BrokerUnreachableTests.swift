import DevHarness
import Foundation
import Kafka
import Logging
import Pipeline
import Synchronization
import Testing
import TestSupport

@Suite("no Kafka broker reachable", .serialized)
struct BrokerUnreachableTests {
    @Test("a worker whose brokers are all down says so once, naming the brokers and the key, and is not ready; librdkafka's repeated lines stay at debug")
    func saysOnceAndNotReady() async throws {
        let conninfo = try databaseURL()
        let schema = uniqueSchemaName("it_nobroker")
        try InProcessWorker.migrate(schema: schema, conninfo: conninfo)
        // A port nothing listens on: every connection attempt is refused at once.
        let brokers = "127.0.0.1:1"
        let config = testWorkerConfiguration(brokers: brokers, topic: "nobroker", group: "g_\(schema)", schema: schema)
        let logs = CapturedLogs()
        let worker = InProcessWorker(configuration: config, conninfo: conninfo, logger: logs.logger("it.nobroker"))
        let deadline = ContinuousClock.now + .seconds(30)
        var reason: String?
        while ContinuousClock.now < deadline {
            reason = worker.pipeline.status.notReadyReason
            if reason?.contains("no Kafka broker reachable") == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Let librdkafka retry a few more times: the clear line must still be said once.
        try await Task.sleep(for: .seconds(3))
        try await worker.stop()
        let lines = logs.lines
        let clear = lines.filter { $0.message.contains("no Kafka broker reachable") }
        #expect(reason?.contains(brokers) == true, "not-ready reason: \(reason ?? "nil")")
        #expect(reason?.contains("kafka.brokers") == true && reason?.contains("TRACELEDGER_KAFKA_BROKERS") == true)
        #expect(clear.count == 1, "\(clear.map(\.message))")
        #expect(clear.first?.level == .error)
        #expect(clear.first?.message.contains(brokers) == true)
        // Nothing else at warning or above talks about brokers or connections.
        let noisy = lines.filter {
            $0.level >= .warning && !$0.message.contains("no Kafka broker reachable")
                && ($0.message.contains("brokers are down") || $0.message.contains("Connect to") || $0.message.contains("Connection refused")
                    || $0.allMetadata.contains("brokers are down") || $0.allMetadata.contains("Connection refused"))
        }
        #expect(noisy.isEmpty, "\(noisy.prefix(5).map { "\($0.level) \($0.message) \($0.allMetadata)" })")
        // librdkafka's own lines were kept, at debug.
        #expect(lines.contains { $0.level == .debug && ($0.message.contains("brokers are down") || $0.message.contains("Connect to")) })
    }
}
