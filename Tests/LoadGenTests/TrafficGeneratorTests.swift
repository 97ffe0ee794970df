import Foundation
import OTLPProto
import SwiftProtobuf
import Testing
import TraceContext

@testable import LoadGen

/// "Now" for the tests: shortly after the test catalog's g5.xlarge price change, so both prices occur.
let testNow: UInt64 = priceChangeNanos + 5 * 60 * 1_000_000_000

func generator(
    _ shape: TrafficConfiguration.Shape, seed: UInt64 = 42, poison: Double = 0.05, tooLarge: Int? = 300_000
) throws -> TrafficGenerator {
    var c = TrafficConfiguration(seed: seed, shape: shape, recordTimeNanos: testNow)
    c.poisonFraction = poison
    c.tooLargeLimitBytes = tooLarge
    c.unknownModelFraction = 0.05
    c.upstreamCostFraction = 0.05
    return try TrafficGenerator(configuration: c, pricer: testPricer())
}

@Suite("Traffic generator")
struct TrafficGeneratorTests {
    @Test(
        "decoding the bytes and re-pricing them gives the generation-time manifest",
        arguments: TrafficConfiguration.Shape.allCases)
    func roundTrip(shape: TrafficConfiguration.Shape) throws {
        var g = try generator(shape)
        var records: [GeneratedRecord] = []
        for _ in 0..<3 { records += try g.generate(traces: 250) }
        let expected = g.manifest
        let limits = ReferenceIngest.Limits(maxRecordBytes: 300_000)
        for r in records {
            let reading = ReferenceIngest.read(value: r.value, recordTimeMilliseconds: r.timestampMilliseconds, limits: limits)
            #expect(reading.outcome == r.expected)
        }
        let recomputed = try ReferenceIngest.manifest(
            of: records, pricer: testPricer(), limits: limits, generator: expected.generator)
        #expect(recomputed.totals == expected.totals)
        #expect(recomputed.traces == expected.traces)
        #expect(recomputed.domains == expected.domains)
        #expect(recomputed.sessions == expected.sessions)
        #expect(recomputed.models == expected.models)
        #expect(recomputed.rejectedRecords == expected.rejectedRecords)
        #expect(recomputed.excludedSpans == expected.excludedSpans)
        #expect(recomputed == expected)
        #expect(Verifier.compare(expected, LedgerSnapshot(expectedBy: recomputed)).isEmpty)
    }

    @Test("the traffic covers every case of docs/pricing.md and docs/ledger.md", arguments: TrafficConfiguration.Shape.allCases)
    func coverage(shape: TrafficConfiguration.Shape) throws {
        var g = try generator(shape)
        let records = try g.generate(traces: 1_500)
        let m = g.manifest
        #expect(Set(m.rejectedRecords.keys) == Set(RejectReason.allCases.map(\.rawValue)))
        #expect(Set(m.excludedSpans.keys) == ["ci", "staging"])
        #expect(m.totals.unpricedSpans > 0)
        #expect(m.totals.clampedSpans > 0)
        #expect(m.totals.upstreamCostSpans > 0)
        #expect(m.totals.invalidUpstreamCostSpans > 0)
        #expect(m.domains.count >= 10)
        #expect(m.domains[Verifier.unattributedDomain] == nil)
        #expect(m.sessions.values.contains { $0.agentCount > 0 && $0.parentSession == nil })
        #expect(m.sessions.values.contains { $0.depthMax > 0 })
        #expect(m.sessions.values.contains { $0.parentSession != nil })
        #expect(m.sessions.values.contains { $0.ceilingHits > 0 })
        #expect(m.models.contains { $0.model == "acme-finetune-v2-0017" && $0.costNanoUSD == 0 })
        #expect(m.models.count >= 8)
        #expect(m.traces.values.allSatisfy { $0.transaction != nil && $0.service != nil })
        #expect(m.traces.values.contains { $0.errorCount > 0 })
        #expect(m.totals.records == Int64(records.count))
        #expect(m.totals.spans == Int64(g.spansGenerated))
        #expect(m.totals.costNanoUSD == m.traces.values.reduce(0) { $0 + $1.costNanoUSD })
        #expect(m.totals.costNanoUSD == m.domains.values.reduce(0) { $0 + $1.costNanoUSD })
        let poison = records.filter { if case .rejected = $0.expected { return true } else { return false } }
        let share = Double(poison.count) / Double(records.count)
        #expect(share > 0.03 && share < 0.07, "poison share \(share)")
    }

    @Test("spans: 10–20 attributes, ids of the right length, times inside the window", arguments: [TrafficConfiguration.Shape.collector, .sdk])
    func spanShape(shape: TrafficConfiguration.Shape) throws {
        var g = try generator(shape, poison: 0)
        let records = try g.generate(traces: 200)
        var llmSpans = 0
        var lambdaSpans = 0
        for r in records {
            let req = try OTLPExportTraceServiceRequest(serializedBytes: r.value)
            for rs in req.resourceSpans {
                let isLambda = rs.resource.attributes.contains { $0.key == "cloud.platform" && $0.value.stringValue == "aws_lambda" }
                for ss in rs.scopeSpans {
                    for s in ss.spans {
                        #expect((10...20).contains(s.attributes.count), "\(s.name): \(s.attributes.count) attributes")
                        #expect(s.traceID.count == 16 && s.spanID.count == 8)
                        #expect(s.parentSpanID.isEmpty || s.parentSpanID.count == 8)
                        #expect(s.startTimeUnixNano < testNow && s.startTimeUnixNano > testNow - 20 * 60 * 1_000_000_000)
                        if s.attributes.contains(where: { $0.key == "gen_ai.request.model" }) { llmSpans += 1 }
                        if isLambda { lambdaSpans += 1 }
                    }
                }
            }
        }
        #expect(llmSpans > 0 && lambdaSpans > 0)
    }

    @Test("collector shape: one trace per record, key = its 32-hex trace id, no headers")
    func collectorShape() throws {
        var g = try generator(.collector, poison: 0)
        for r in try g.generate(traces: 100) {
            #expect(r.headers.isEmpty)
            let req = try OTLPExportTraceServiceRequest(serializedBytes: r.value)
            let ids = Set(req.resourceSpans.flatMap { $0.scopeSpans.flatMap { $0.spans.map(\.traceID) } })
            #expect(ids.count == 1)
            let hex = ids.first.map { $0.map { String(format: "%02x", $0) }.joined() }
            #expect(r.key.map { String(decoding: $0, as: UTF8.self) } == hex)
        }
    }

    @Test("SDK shape: traceparent header, no key, traces split, some roots after their children")
    func sdkShape() throws {
        var g = try generator(.sdk, poison: 0)
        let records = try g.generate(traces: 200)
        var recordsPerTrace: [Data: Int] = [:]
        var rootRecord: [Data: Int] = [:]
        var firstRecord: [Data: Int] = [:]
        var mixed = 0
        for (i, r) in records.enumerated() {
            #expect(r.key == nil)
            let tp = r.headers.first { $0.name == "traceparent" }.map { String(decoding: $0.value, as: UTF8.self) }
            #expect(tp?.count == 55 && tp?.hasPrefix("00-") == true && tp?.hasSuffix("-01") == true)
            let req = try OTLPExportTraceServiceRequest(serializedBytes: r.value)
            let spans = req.resourceSpans.flatMap { $0.scopeSpans.flatMap(\.spans) }
            let first = spans[0].traceID.map { String(format: "%02x", $0) }.joined()
            #expect(tp?.dropFirst(3).prefix(32) == Substring(first))
            var ids = Set<Data>()
            for s in spans {
                ids.insert(s.traceID)
                if firstRecord[s.traceID] == nil { firstRecord[s.traceID] = i }
                if s.parentSpanID.isEmpty { rootRecord[s.traceID] = i }
            }
            for id in ids { recordsPerTrace[id, default: 0] += 1 }
            if ids.count > 1 { mixed += 1 }
        }
        #expect(recordsPerTrace.values.contains { $0 > 1 })
        #expect(rootRecord.contains { id, i in i > firstRecord[id]! })
        #expect(rootRecord.count == 200)
        #expect(mixed > 0)
    }

    @Test("same seed → same bytes and manifest; another seed → other bytes")
    func determinism() throws {
        for shape in TrafficConfiguration.Shape.allCases {
            var a = try generator(shape)
            var b = try generator(shape)
            var c = try generator(shape, seed: 43)
            let ra = try a.generate(traces: 300)
            let rb = try b.generate(traces: 300)
            let rc = try c.generate(traces: 300)
            #expect(ra == rb)
            #expect(a.manifest == b.manifest)
            #expect(try a.manifest.jsonData() == b.manifest.jsonData())
            #expect(ra != rc)
        }
    }

    @Test("manifest JSON round-trips and uses the ledger's column names")
    func manifestJSON() throws {
        var g = try generator(.collector)
        _ = try g.generate(traces: 100)
        let data = try g.manifest.jsonData()
        #expect(try Manifest(jsonData: data) == g.manifest)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"cost_nusd\""))
        #expect(text.contains("\"rejected_records\""))
        #expect(text.contains("\"POST /checkout\""))
    }

    @Test("configuration is validated")
    func configuration() throws {
        var c = TrafficConfiguration(seed: 1, shape: .sdk, recordTimeNanos: testNow)
        c.tooLargeLimitBytes = 1000
        #expect(throws: LoadGenError.self) { try TrafficGenerator(configuration: c, pricer: testPricer()) }
        c = TrafficConfiguration(seed: 1, shape: .sdk, recordTimeNanos: 5)
        #expect(throws: LoadGenError.self) { try TrafficGenerator(configuration: c, pricer: testPricer()) }
    }

    @Test("throughput (informational; run in release for the real number)")
    func throughput() throws {
        var g = try generator(.collector, poison: 0.01, tooLarge: nil)
        let clock = ContinuousClock()
        // LOADGEN_BENCH_TRACES (default 2000) sizes the run; records are dropped as they are made, as a
        // producer would.
        let traces = ProcessInfo.processInfo.environment["LOADGEN_BENCH_TRACES"].flatMap { Int($0) } ?? 2_000
        var bytes = 0
        let elapsed = try clock.measure {
            for _ in 0..<(traces / 100) { bytes += try g.generate(traces: 100).reduce(0) { $0 + $1.value.count } }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("LoadGen throughput: \(g.spansGenerated) spans in \(elapsed) = \(Int(Double(g.spansGenerated) / seconds)) spans/s, \(bytes / max(1, g.spansGenerated)) bytes/span")
    }
}
