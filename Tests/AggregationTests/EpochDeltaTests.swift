import Aggregation
import Pricing
import SpanDecoding
import Testing
import TraceContext
import TestSupport

/// A span description owning its strings, turned into a borrowed `DecodedSpan` for folding.
struct SpanSpec {
    var trace: TraceID
    var span: UInt64
    var parent: UInt64
    var name: String
    var startNanos: UInt64
    var endNanos: UInt64
    var error = false
    var service = "svc"
    var environment: String?
    var session: String?
    var model: String?
    var agentDepth: Int64?
    var cost: SpanCost

    func withDecoded<R>(_ body: (DecodedSpan) -> R) -> R {
        var name = name
        var service = service
        var session = session ?? ""
        var model = model ?? ""
        var environment = environment ?? ""
        return name.withUTF8 { n in
            service.withUTF8 { s in
                session.withUTF8 { sess in
                    model.withUTF8 { m in
                        environment.withUTF8 { env in
                            var attrs = KnownAttributes()
                            attrs.serviceName = ByteView(UnsafeRawBufferPointer(s))
                            if self.environment != nil { attrs.environmentName = ByteView(UnsafeRawBufferPointer(env)) }
                            if self.session != nil { attrs.sessionID = ByteView(UnsafeRawBufferPointer(sess)) }
                            if self.model != nil { attrs.responseModel = ByteView(UnsafeRawBufferPointer(m)) }
                            attrs.agentDepth = agentDepth
                            let d = DecodedSpan(
                                traceID: trace, spanID: SpanID(span), parentSpanID: SpanID(parent),
                                name: ByteView(UnsafeRawBufferPointer(n)), kind: .server,
                                startTimeUnixNano: startNanos, endTimeUnixNano: endNanos,
                                statusCode: error ? .error : .unset, traceState: ByteView(UnsafeRawBufferPointer(start: nil, count: 0)),
                                attributes: attrs)
                            return body(d)
                        }
                    }
                }
            }
        }
    }
}

func randomSpans(seed: UInt64, count: Int) -> [SpanSpec] {
    var rng = SplitMix64(seed: seed)
    let base: UInt64 = 1_795_000_000_000_000_000  // 2026-11
    var specs: [SpanSpec] = []
    for i in 0..<count {
        let trace = TraceID(high: rng.below(40) + 1, low: 7)
        let start = base + rng.below(3 * 3_600_000_000_000) + (rng.below(50) == 0 ? 40 * 86_400_000_000_000 : 0)
        let cost = Int64(rng.below(2_000_000)) - (rng.below(20) == 0 ? 1_500_000 : 0)
        let outcome: PricingOutcome = rng.below(10) == 0 ? .unpriced : (rng.below(15) == 0 ? .excluded : .priced)
        specs.append(
            SpanSpec(
                trace: trace, span: UInt64(i + 1), parent: rng.below(5) == 0 ? 0 : 99, name: "POST /t\(trace.high % 4)",
                startNanos: start, endNanos: start + rng.below(1_000_000_000), error: rng.below(7) == 0,
                session: rng.below(3) == 0 ? "sess-\(rng.below(5))" : nil,
                model: rng.below(4) == 0 ? "gpt-4o-mini" : nil,
                agentDepth: rng.below(5) == 0 ? Int64(rng.below(6)) : nil,
                cost: SpanCost(
                    total: NanoUSD(outcome == .unpriced ? 0 : cost), outcome: outcome,
                    inputTokens: Int64(rng.below(1000)), outputTokens: Int64(rng.below(500)))))
    }
    return specs
}

func fold(_ specs: some Sequence<SpanSpec>) -> EpochDelta {
    var d = EpochDelta()
    for s in specs { s.withDecoded { d.fold($0, cost: s.cost) } }
    return d
}

@Suite("epoch deltas")
struct EpochDeltaTests {
    @Test("folding is additive: any split over shards and epochs gives the same totals to the nano-dollar")
    func splitInvariance() {
        for seed in UInt64(1)...20 {
            let specs = randomSpans(seed: seed, count: 400)
            let whole = fold(specs)
            // Independent expectation: sum costs straight from the specs.
            let expected = specs.filter { $0.cost.outcome != .excluded }.reduce(Int64(0)) { $0 + $1.cost.total.value }
            #expect(whole.totalCostNanoUSD == expected)
            #expect(whole.invariantViolations().isEmpty)

            var rng = SplitMix64(seed: seed &* 31)
            var merged = EpochDelta()
            var shards = [[SpanSpec]](repeating: [], count: 3)
            for s in specs.shuffled(using: &rng) { shards[Int(rng.below(3))].append(s) }
            for shard in shards {
                var cut = shard.count / 2
                if !shard.isEmpty { cut = Int(rng.below(UInt64(shard.count))) }
                merged.merge(fold(shard[..<cut]))
                merged.merge(fold(shard[cut...]))
            }
            #expect(merged.invariantViolations().isEmpty)
            #expect(merged.transactions.mapValues { $0.costNanoUSD } == whole.transactions.mapValues { $0.costNanoUSD })
            #expect(merged.transactions.mapValues { $0.spanCount } == whole.transactions.mapValues { $0.spanCount })
            #expect(merged.sessions == whole.sessions)
            #expect(merged.models == whole.models)
            #expect(merged.traceHours == whole.traceHours)
            #expect(merged.counters == whole.counters)
        }
    }

    @Test("a delta sized like the last epoch's starts empty, with room for its rows up to the cap, and folds the same")
    func sizedLikePrevious() {
        let specs = randomSpans(seed: 7, count: 400)
        let previous = fold(specs)
        let sized = EpochDelta(sizedLike: previous, maxRowsPerMap: 1_000_000)
        #expect(sized.isEmpty && sized.openRowCount == 0)
        #expect(sized.transactions.capacity >= previous.transactions.count)
        #expect(sized.traceHours.capacity >= previous.traceHours.count)
        #expect(sized.sessions.capacity >= previous.sessions.count)
        let capped = EpochDelta(sizedLike: previous, maxRowsPerMap: 2)
        #expect(capped.traceHours.capacity < previous.traceHours.count)
        var refolded = sized
        for s in specs { s.withDecoded { refolded.fold($0, cost: s.cost) } }
        #expect(refolded.transactions.mapValues { $0.costNanoUSD } == previous.transactions.mapValues { $0.costNanoUSD })
        #expect(refolded.traceHours == previous.traceHours)
        #expect(refolded.counters == previous.counters)
    }

    @Test("a root sets the transaction name and service; children leave them nil")
    func rootNames() {
        let t = TraceID(high: 1, low: 2)
        let child = SpanSpec(
            trace: t, span: 2, parent: 1, name: "db", startNanos: 1_795_000_000_000_000_000,
            endNanos: 1_795_000_001_000_000_000, service: "db-svc", cost: SpanCost(total: NanoUSD(5), outcome: .priced))
        var d = fold([child])
        #expect(d.transactions.values.first?.transaction == nil)
        #expect(d.roots.isEmpty)
        var root = child
        root.parent = 0
        root.name = "POST /checkout"
        root.service = "shop"
        d.merge(fold([root]))
        #expect(d.transactions.values.first?.transaction == "POST /checkout")
        #expect(d.transactions.values.first?.service == "shop")
        #expect(d.roots[t]?.transaction == "POST /checkout")
        #expect(d.transactions.values.first?.costNanoUSD == 10)
    }

    @Test("excluded spans are counted per environment and reach no cost table")
    func excluded() {
        let s = SpanSpec(
            trace: TraceID(high: 1, low: 1), span: 1, parent: 0, name: "x", startNanos: 1, endNanos: 2,
            session: "s", model: "m", cost: SpanCost(outcome: .excluded))
        let d = fold([s])
        #expect(d.transactions.isEmpty && d.sessions.isEmpty && d.models.isEmpty && d.traceHours.isEmpty)
        #expect(d.counters.spansExcluded.values.reduce(0, +) == 1)
    }

    @Test("month and hour buckets are UTC calendar boundaries")
    func buckets() {
        // 2026-11-30T23:59:59.999999999Z and one nanosecond later.
        let lastNano: UInt64 = 1_796_083_199_999_999_999
        #expect(Month(unixNanos: lastNano).description == "2026-11")
        #expect(Month(unixNanos: lastNano + 1).description == "2026-12")
        #expect(Month(unixNanos: 0).description == "1970-01")
        #expect(Month(unixNanos: 951_782_400_000_000_000).description == "2000-02")  // 2000-02-29
        #expect(UTCHour(unixNanos: lastNano + 1).hoursSinceEpoch == 498_912)
    }
}
