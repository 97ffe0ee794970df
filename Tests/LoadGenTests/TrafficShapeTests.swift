import Foundation
import OTLPProto
import SwiftProtobuf
import Testing
import TraceContext

@testable import LoadGen

/// One accepted record as decoded from its bytes (independently of the generator's own bookkeeping).
private struct DecodedRecord {
    var key: String?
    var services: Set<String>
    /// (trace id hex, span id hex, is root)
    var spans: [(trace: String, span: String, root: Bool)]
    var bytes: Int
}

private func decode(_ records: [GeneratedRecord]) throws -> [DecodedRecord] {
    try records.compactMap { r -> DecodedRecord? in
        guard case .accepted = r.expected else { return nil }
        let req = try OTLPExportTraceServiceRequest(serializedBytes: r.value)
        var d = DecodedRecord(key: r.key.map { String(decoding: $0, as: UTF8.self) }, services: [], spans: [], bytes: r.value.count)
        for rs in req.resourceSpans {
            if let name = rs.resource.attributes.first(where: { $0.key == "service.name" }) {
                d.services.insert(name.value.stringValue)
            }
            for ss in rs.scopeSpans {
                for s in ss.spans {
                    d.spans.append(
                        (s.traceID.map { String(format: "%02x", $0) }.joined(),
                         s.spanID.map { String(format: "%02x", $0) }.joined(), s.parentSpanID.isEmpty))
                }
            }
        }
        return d
    }
}

private func shapeGenerator(
    _ shape: TrafficConfiguration.Shape, spansPerTrace: Int? = nil, repeatFraction: Double = 0, seed: UInt64 = 7,
    configure: (inout TrafficConfiguration) -> Void = { _ in }
) throws -> TrafficGenerator {
    var c = TrafficConfiguration(seed: seed, shape: shape, recordTimeNanos: testNow)
    c.poisonFraction = 0.02
    c.spansPerTrace = spansPerTrace
    c.repeatFraction = repeatFraction
    configure(&c)
    return try TrafficGenerator(configuration: c, pricer: testPricer())
}

/// The manifest recomputed by decoding and re-pricing the bytes must equal the generation-time one.
private func expectExact(_ records: [GeneratedRecord], _ g: TrafficGenerator) throws {
    let expected = g.manifest
    let recomputed = try ReferenceIngest.manifest(
        of: records, pricer: testPricer(), limits: ReferenceIngest.Limits(), generator: expected.generator)
    #expect(recomputed == expected)
    #expect(Verifier.compare(expected, LedgerSnapshot(expectedBy: recomputed)).isEmpty)
}

@Suite("Traffic shapes for the benchmark matrix")
struct TrafficShapeTests {
    @Test("collector-split: one service's 4–5 spans a record keyed by trace id, 40–60 spans a trace, small spans")
    func collectorSplitLayout() throws {
        var g = try shapeGenerator(.collectorSplit)
        let records = try g.generate(traces: 400)
        try expectExact(records, g)
        let decoded = try decode(records)
        var perTrace: [String: Int] = [:]
        var bytes = 0
        var spans = 0
        for d in decoded {
            #expect(d.services.count == 1)
            #expect((1...5).contains(d.spans.count))
            let traces = Set(d.spans.map(\.trace))
            #expect(traces.count == 1 && d.key == traces.first)
            for s in d.spans { perTrace[s.trace, default: 0] += 1 }
            bytes += d.bytes
            spans += d.spans.count
        }
        #expect(perTrace.count == 400)
        #expect(perTrace.values.allSatisfy { (40...60).contains($0) })
        let spansPerRecord = Double(spans) / Double(decoded.count)
        #expect(spansPerRecord > 3.5 && spansPerRecord < 5, "\(spansPerRecord) spans a record")
        let bytesPerSpan = Double(bytes) / Double(spans)
        // ~420 bytes a span on the wire: ~330 of span and ~90 of the record's share of its resource.
        #expect(bytesPerSpan > 300 && bytesPerSpan < 500, "\(bytesPerSpan) bytes a span")
        #expect(Int64(spans) == g.manifest.totals.spans)
    }

    @Test("collector-split: ~20 % of spans are in excluded environments, counted as excluded")
    func collectorSplitExcludedShare() throws {
        var g = try shapeGenerator(.collectorSplit)
        let records = try g.generate(traces: 2_000)
        try expectExact(records, g)
        let m = g.manifest
        let share = Double(m.totals.excludedSpans) / Double(m.totals.spans)
        #expect(share > 0.17 && share < 0.23, "excluded share \(share)")
        #expect(Set(m.excludedSpans.keys) == ["ci", "staging"])
        #expect(m.excludedSpans.values.reduce(0, +) == m.totals.excludedSpans)
    }

    @Test("--spans-per-trace N: every trace holds exactly N spans", arguments: [1, 10, 100])
    func exactSpansPerTrace(n: Int) throws {
        for shape in TrafficConfiguration.Shape.allCases {
            var g = try shapeGenerator(shape, spansPerTrace: n)
            let records = try g.generate(traces: 150)
            try expectExact(records, g)
            var perTrace: [String: Int] = [:]
            for d in try decode(records) { for s in d.spans { perTrace[s.trace, default: 0] += 1 } }
            #expect(perTrace.count == 150, "\(shape)")
            #expect(perTrace.values.allSatisfy { $0 == n }, "\(shape): \(Set(perTrace.values))")
            #expect(g.spansGenerated == 150 * n)
            // Manifest rows: non-excluded traces with exactly N spans each.
            #expect(g.manifest.traces.values.allSatisfy { $0.spanCount == Int64(n) }, "\(shape)")
        }
    }

    @Test("--repeat: traces arrive again with new span ids and no root; the manifest counts both arrivals", arguments: TrafficConfiguration.Shape.allCases)
    func repeatedTraces(shape: TrafficConfiguration.Shape) throws {
        let n = 10
        var g = try shapeGenerator(shape, spansPerTrace: n, repeatFraction: 0.5)
        let records = try g.generate(traces: 600)
        try expectExact(records, g)
        var spanIDs: [String: Set<String>] = [:]
        var roots: [String: Int] = [:]
        var perTrace: [String: Int] = [:]
        for d in try decode(records) {
            for s in d.spans {
                perTrace[s.trace, default: 0] += 1
                spanIDs[s.trace, default: []].insert(s.span)
                if s.root { roots[s.trace, default: 0] += 1 }
            }
        }
        // Exactly N spans (first arrival) or 2N − 1 (again without the root); span ids never repeat.
        #expect(perTrace.values.allSatisfy { $0 == n || $0 == 2 * n - 1 })
        #expect(perTrace.allSatisfy { spanIDs[$0.key]?.count == $0.value })
        #expect(roots.count == 600 && roots.values.allSatisfy { $0 == 1 })
        let repeated = perTrace.values.filter { $0 == 2 * n - 1 }.count
        // ~50 % chosen, of which all but the last 64 still waiting have been sent again.
        #expect(repeated > 170 && repeated < 300, "\(repeated) traces sent again")
        #expect(g.spansGenerated == 600 * n + repeated * (n - 1))
        let m = g.manifest
        let twice = m.traces.values.filter { $0.spanCount == Int64(2 * n - 1) }
        #expect(!twice.isEmpty && twice.allSatisfy { $0.transaction != nil })
    }

    @Test("sdk --sdk-batch-max 3: records of 1–3 spans (one in ten merges two chunks), traceparent header, no key")
    func sdkSmallBatches() throws {
        var g = try shapeGenerator(.sdk) { $0.sdkSpansPerRecordMax = 3 }
        let records = try g.generate(traces: 300)
        try expectExact(records, g)
        let decoded = try decode(records)
        var small = 0
        for (r, d) in zip(records.filter { if case .accepted = $0.expected { true } else { false } }, decoded) {
            #expect(r.key == nil)
            #expect(r.headers.first?.name == "traceparent")
            #expect((1...6).contains(d.spans.count))
            small += d.spans.count <= 3 ? 1 : 0
        }
        #expect(Double(small) / Double(decoded.count) > 0.85)
    }

    @Test("default knobs draw nothing extra: the classic shapes are unchanged by the new knobs' defaults")
    func defaultsUnchanged() throws {
        for shape in [TrafficConfiguration.Shape.collector, .sdk] {
            var a = try shapeGenerator(shape)
            // Explicit values equal to the defaults must give the same bytes as leaving them unset.
            var b = try shapeGenerator(shape) {
                $0.excludedTraceFraction = nil
                $0.sdkSpansPerRecordMax = 8
                $0.attributesPerSpan = 10...20
            }
            #expect(try a.generate(traces: 100) == b.generate(traces: 100))
            #expect(a.manifest == b.manifest)
        }
    }

    @Test("new knobs are validated")
    func validation() throws {
        #expect(throws: LoadGenError.self) { _ = try shapeGenerator(.collector, spansPerTrace: 0) }
        #expect(throws: LoadGenError.self) { _ = try shapeGenerator(.collector, spansPerTrace: 1_001) }
        #expect(throws: LoadGenError.self) { _ = try shapeGenerator(.collector, repeatFraction: 1.5) }
        #expect(throws: LoadGenError.self) { _ = try shapeGenerator(.sdk) { $0.sdkSpansPerRecordMax = 0 } }
        #expect(throws: LoadGenError.self) { _ = try shapeGenerator(.sdk) { $0.excludedTraceFraction = -0.1 } }
    }
}
