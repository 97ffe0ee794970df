import DevHarness
import LoadGen
import Foundation
import Logging
import Pipeline
import Testing

/// The repository root (for config/pricing.yaml).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func databaseURL() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
        throw LocalRun.Failure(description: "DATABASE_URL is not set: run the tests with scripts/test.sh")
    }
    return url
}

/// A worker configuration for tests: the mock cluster, one topic, fast epochs, the shipped catalog.
func testWorkerConfiguration(brokers: String, topic: String, group: String, schema: String) -> Configuration {
    var config = Configuration()
    config.kafkaBrokers = brokers
    config.kafkaTopics = [topic]
    config.kafkaGroup = group
    config.kafkaProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
    config.pricingFile = repositoryRoot.appendingPathComponent("config/pricing.yaml").path
    config.flushInterval = .milliseconds(200)
    config.databaseSchema = schema
    return config
}

func uniqueSchema(_ prefix: String) -> String {
    "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
}

@Suite("pipeline exactness (real Postgres + mock Kafka)", .serialized)
struct PipelineExactnessTests {
    func run(spans: Int, shape: TrafficConfiguration.Shape, poison: Double, schema: String) async throws -> LocalRun.Result {
        var options = LocalRun.Options(load: LoadPlan(spans: spans, shape: shape, poisonFraction: poison, seed: 7))
        options.schema = uniqueSchema(schema)
        options.group = "it-\(options.schema)"
        options.pricingFile = repositoryRoot.appendingPathComponent("config/pricing.yaml").path
        var logger = Logger(label: "it")
        logger.logLevel = .warning
        return try await LocalRun(options: options, conninfo: try databaseURL(), logger: logger).run()
    }

    @Test("Collector-shaped load with 1 % poison: every trace, domain, session and model is exact; rejected = DLQ = poison")
    func collectorShapeIsExact() async throws {
        let r = try await run(spans: 200_000, shape: .collector, poison: 0.01, schema: "it_collector")
        #expect(r.completed)
        #expect(r.differences.count == 0, "\(r.differences.count) differences, first: \(r.differences.prefix(10).map(\.description))")
        #expect(r.invariantViolations.isEmpty, "\(r.invariantViolations)")
        let poison = r.manifest.rejectedRecords.values.reduce(0, +)
        #expect(poison > 0)
        #expect(r.rejectedRows == poison)
        #expect(r.deadLetters == poison)
    }

    @Test("SDK-shaped load (traceparent headers, roots after children, mixed traces) is exact")
    func sdkShapeIsExact() async throws {
        let r = try await run(spans: 100_000, shape: .sdk, poison: 0.01, schema: "it_sdk")
        #expect(r.completed)
        #expect(r.differences.count == 0, "\(r.differences.count) differences, first: \(r.differences.prefix(10).map(\.description))")
        #expect(r.invariantViolations.isEmpty, "\(r.invariantViolations)")
        let poison = r.manifest.rejectedRecords.values.reduce(0, +)
        #expect(r.rejectedRows == poison)
        #expect(r.deadLetters == poison)
    }
}
