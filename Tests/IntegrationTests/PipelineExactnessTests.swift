import DevHarness
import LoadGen
import Foundation
import Logging
import Pipeline
import Testing
import TestSupport

@Suite("pipeline exactness (real Postgres + mock Kafka)", .serialized)
struct PipelineExactnessTests {
    func run(spans: Int, shape: TrafficConfiguration.Shape, poison: Double, schema: String) async throws -> LocalRun.Result {
        var options = LocalRun.Options(load: LoadPlan(spans: spans, shape: shape, poisonFraction: poison, seed: 7))
        options.schema = uniqueSchemaName(schema)
        options.group = "it-\(options.schema)"
        options.pricingFile = shippedPricingFile.path
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
