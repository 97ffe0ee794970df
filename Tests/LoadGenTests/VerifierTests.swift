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
