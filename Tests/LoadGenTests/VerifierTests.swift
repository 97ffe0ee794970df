import Testing

@testable import LoadGen

@Suite("Verifier: manifest vs ledger snapshot")
struct VerifierTests {
    func sample() throws -> Manifest {
        var g = try generator(.sdk, poison: 0.05)
        _ = try g.generate(traces: 200)
        return g.manifest
    }

    @Test("a manifest compared with itself is exact")
    func exact() throws {
        let m = try sample()
        #expect(Verifier.compare(m, LedgerSnapshot(expectedBy: m)).isEmpty)
    }

    @Test("every single-nano-dollar (or single-count) difference is reported, once")
    func singleDifferences() throws {
        let m = try sample()
        let base = LedgerSnapshot(expectedBy: m)
        let trace = try #require(m.traces.keys.sorted().first)
        let domain = try #require(m.domains.keys.sorted().first)
        let session = try #require(m.sessions.keys.sorted().first)
        let reason = try #require(m.rejectedRecords.keys.sorted().first)
        #expect(!m.models.isEmpty)

        var cases: [(String, String, String, (inout LedgerSnapshot) -> Void)] = [
            ("traces", trace, "cost_nusd", { $0.traces[trace]!.costNanoUSD += 1 }),
            ("traces", trace, "span_count", { $0.traces[trace]!.spanCount -= 1 }),
            ("traces", trace, "error_count", { $0.traces[trace]!.errorCount += 1 }),
            ("traces", trace, "unpriced_count", { $0.traces[trace]!.unpricedCount += 1 }),
            ("traces", trace, "input_tokens", { $0.traces[trace]!.inputTokens += 1 }),
            ("traces", trace, "output_tokens", { $0.traces[trace]!.outputTokens += 1 }),
            ("traces", trace, "transaction", { $0.traces[trace]!.transaction = nil }),
            ("traces", trace, "service", { $0.traces[trace]!.service = "other" }),
            ("traces", trace, "sampled_spans", { $0.traces[trace]!.sampledSpans = "0.000001" }),
            ("traces", trace, "row", { $0.traces[trace] = nil }),
            ("traces", "00000000000000000000000000000001", "row", { $0.traces["00000000000000000000000000000001"] = TraceTotals() }),
            ("domains", domain, "cost_nusd", { $0.domains[domain]!.costNanoUSD -= 1 }),
            ("domains", domain, "span_count", { $0.domains[domain]!.spanCount += 1 }),
            ("domains", domain, "trace_count", { $0.domains[domain]!.traceCount += 1 }),
            ("domains", Verifier.unattributedDomain, "row", { $0.domains[Verifier.unattributedDomain] = DomainTotals() }),
            ("sessions", session, "cost_nusd", { $0.sessions[session]!.costNanoUSD += 1 }),
            ("sessions", session, "input_tokens", { $0.sessions[session]!.inputTokens += 1 }),
            ("sessions", session, "output_tokens", { $0.sessions[session]!.outputTokens += 1 }),
            ("sessions", session, "span_count", { $0.sessions[session]!.spanCount += 1 }),
            ("sessions", session, "depth_max", { $0.sessions[session]!.depthMax += 1 }),
            ("sessions", session, "agent_count", { $0.sessions[session]!.agentCount += 1 }),
            ("sessions", session, "ceiling_hits", { $0.sessions[session]!.ceilingHits += 1 }),
            ("sessions", session, "parent_session", { $0.sessions[session]!.parentSession = "x-other" }),
            ("sessions", session, "row", { $0.sessions[session] = nil }),
            ("rejected_records", reason, "count", { $0.rejectedRecords[reason]! += 1 }),
            ("rejected_records", "too_large", "count", { $0.rejectedRecords["too_large"] = 99 }),
        ]
        let model = m.models[0]
        let modelKey = "\(model.model)|\(model.service)"
        cases += [
            ("models", modelKey, "cost_nusd", { $0.models[0].costNanoUSD += 1 }),
            ("models", modelKey, "input_tokens", { $0.models[0].inputTokens += 1 }),
            ("models", modelKey, "output_tokens", { $0.models[0].outputTokens += 1 }),
            ("models", modelKey, "calls", { $0.models[0].calls += 1 }),
            ("models", modelKey, "row", { $0.models.removeFirst() }),
        ]
        for (table, key, field, mutate) in cases {
            var ledger = base
            mutate(&ledger)
            let diffs = Verifier.compare(m, ledger)
            #expect(diffs.count == 1, "\(table).\(field): \(diffs)")
            #expect(diffs.first?.table == table)
            #expect(diffs.first?.key == key)
            #expect(diffs.first?.field == field)
            #expect(diffs.first?.description.contains(key) == true)
        }
    }
}

@Suite("Verifier: sampled spans and consumption progress")
struct SampledAndProgressTests {
    @Test("the generated load carries ot=th thresholds: some traces' sampled_spans exceed their span count, none is below")
    func sampledTraffic() throws {
        for shape in TrafficConfiguration.Shape.allCases {
            var g = try generator(shape, poison: 0)
            _ = try g.generate(traces: 400)
            let m = g.manifest
            var sampled = 0
            for t in m.traces.values {
                let text = try #require(t.sampledSpans)
                let parts = text.split(separator: ".")
                let micro = try #require(Int64(parts[0])) * 1_000_000 + (try #require(Int64(parts[1])))
                #expect(micro >= t.spanCount * 1_000_000, "\(text) for \(t.spanCount) spans")
                if micro > t.spanCount * 1_000_000 { sampled += 1 }
            }
            #expect(sampled > 0, "\(shape): no sampled trace")
        }
    }

    @Test("reference adjusted counts: power-of-two thresholds exact, others half to even at 6 decimals, no threshold = 1")
    func referenceSampling() {
        #expect(ReferenceSampling.micro(traceState: "") == 1_000_000)
        #expect(ReferenceSampling.micro(traceState: "ot=th:8") == 2_000_000)
        #expect(ReferenceSampling.micro(traceState: "vendor=x,ot=th:c;rv:0123456789abcd") == 4_000_000)
        #expect(ReferenceSampling.micro(traceState: "ot=th:4") == 1_333_333)  // 4/3
        #expect(ReferenceSampling.micro(traceState: "ot=th:fd70a4") == 100_000_095)  // 2^56/(2^56 − 0xfd70a4·2^32) = 100.0000953…
        #expect(ReferenceSampling.micro(traceState: "ot=th:XYZ") == 1_000_000)
        #expect(ReferenceSampling.text(micro: 1_333_333) == "1.333333")
        #expect(ReferenceSampling.text(micro: 7_000_050) == "7.000050")
    }

    @Test("a manifest without sampled_spans (older format) does not compare the column")
    func olderManifest() throws {
        var g = try generator(.collector, poison: 0)
        _ = try g.generate(traces: 20)
        var m = g.manifest
        let ledger = LedgerSnapshot(expectedBy: m)
        for k in m.traces.keys { m.traces[k]?.sampledSpans = nil }
        #expect(Verifier.compare(m, ledger).isEmpty)
    }

    @Test("consumption progress: complete only when every partition's stored offset reaches the load's end")
    func progress() {
        let ends: [Int32: Int64] = [0: 10, 1: 5, 2: 0]
        let none = ConsumptionProgress(expected: ends, stored: [:])
        #expect(none.consumed == 0 && none.produced == 15 && none.behind == [0, 1] && !none.isComplete)
        let part = ConsumptionProgress(expected: ends, stored: [0: 10, 1: 2])
        #expect(part.consumed == 12 && part.behind == [1])
        #expect(part.description.contains("12 of 15"))
        let done = ConsumptionProgress(expected: ends, stored: [0: 12, 1: 5])
        #expect(done.isComplete && done.consumed == 15)
        #expect(!ConsumptionProgress(records: 100, storedTotal: 99).isComplete)
        #expect(ConsumptionProgress(records: 100, storedTotal: 100).isComplete)
    }

    @Test("the manifest round-trips its produced end offsets through JSON")
    func producedRoundTrip() throws {
        var m = Manifest()
        m.produced = Manifest.ProducedOffsets(topic: "otlp_spans", endOffsets: [0: 3, 11: 7])
        let back = try Manifest(jsonData: try m.jsonData())
        #expect(back.produced?.partitions == [0: 3, 11: 7])
        #expect(back.produced?.topic == "otlp_spans")
    }
}
