import Aggregation
import Pricing
import SpanDecoding
import Testing
import TraceContext
import TestSupport

@Suite("hostile values in the fold")
struct HostileValueTests {
    /// Spans whose costs and tokens are the largest values Pricing can produce, and random signs.
    func extremeSpans(seed: UInt64, count: Int) -> [SpanSpec] {
        var rng = SplitMix64(seed: seed)
        let base: UInt64 = 1_795_000_000_000_000_000
        return (0..<count).map { i in
            let trace = TraceID(high: rng.below(3) + 1, low: 9)
            let big = Int64.max - Int64(rng.below(1000))
            let cost = rng.below(2) == 0 ? PriceCatalog.spanCostMaxNanoUSD : -PriceCatalog.spanCostMaxNanoUSD
            return SpanSpec(
                trace: trace, span: UInt64(i + 1), parent: 0, name: "POST /x", startNanos: base, endNanos: base + 1,
                session: "s", model: "m", agentDepth: rng.below(2) == 0 ? .max : .min,
                cost: SpanCost(
                    total: NanoUSD(cost), compute: NanoUSD(cost.magnitude > 0 && cost > 0 ? cost : 0), outcome: .priced,
                    inputTokens: big, outputTokens: Int64(rng.below(2)) * big))
        }
    }

    @Test("folding values whose sums pass Int64 never traps; the slices add up exactly (Int128 oracle) and keep the invariants")
    func slicesAreExact() {
        for seed in UInt64(1)...5 {
            let specs = extremeSpans(seed: seed, count: 300)
            let d = fold(specs)
            #expect(d.slices.count > 1, "absurd values needed more than one slice")
            let expectedCost = specs.reduce(Int128(0)) { $0 + Int128($1.cost.total.value) }
            let expectedInput = specs.reduce(Int128(0)) { $0 + Int128($1.cost.inputTokens) }
            #expect(d.totalCostNanoUSD == expectedCost)
            var input = Int128(0)
            var sessionInput = Int128(0)
            var modelInput = Int128(0)
            for s in d.slices {
                for v in s.transactions.values { input += Int128(v.inputTokens) }
                for v in s.sessions.values { sessionInput += Int128(v.inputTokens) }
                for v in s.models.values { modelInput += Int128(v.inputTokens) }
            }
            #expect(input == expectedInput)
            #expect(sessionInput == expectedInput)
            #expect(modelInput == expectedInput)
            #expect(d.invariantViolations().isEmpty, "\(d.invariantViolations())")
        }
    }

    @Test("merging two deltas whose budgets together overflow keeps them as separate slices, exactly")
    func mergeKeepsSlices() {
        let a = fold(extremeSpans(seed: 11, count: 40))
        let b = fold(extremeSpans(seed: 12, count: 40))
        var m = a
        m.merge(b)
        #expect(m.totalCostNanoUSD == a.totalCostNanoUSD + b.totalCostNanoUSD)
        #expect(m.invariantViolations().isEmpty)
    }

    @Test("ordinary values stay in one slice")
    func ordinaryValuesOneSlice() {
        #expect(fold(randomSpans(seed: 3, count: 500)).slices.count == 1)
    }
}

@Suite("bounded key text")
struct BoundedTextTests {
    func key(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { BoundedText.key($0) } }

    @Test("values within 256 bytes are unchanged")
    func shortUnchanged() {
        #expect(key(Array("GET /checkout".utf8)) == "GET /checkout")
        let s = String(repeating: "é", count: 128)  // exactly 256 bytes
        #expect(BoundedText.key(s) == s)
    }

    @Test("long values are cut at a UTF-8 boundary to at most 256 bytes with a hash, and distinct long values stay distinct")
    func longBounded() {
        for unit in ["a", "é", "€", "𝄞"] {
            let a = String(repeating: unit, count: 5000)
            let b = a + "x"
            let ka = BoundedText.key(a)
            let kb = BoundedText.key(b)
            #expect(ka.utf8.count <= 256 && ka.utf8.count > 200)
            #expect(ka != kb)
            #expect(ka.hasPrefix(String(repeating: unit, count: 10)))
            #expect(String(validatingCString: Array(ka.utf8CString)) == ka)
            #expect(BoundedText.key(a) == ka, "deterministic")
        }
    }

    @Test("a Swift string gives the same key as its UTF-8 bytes (short, long, multi-byte, with NUL)")
    func stringSameAsBytes() {
        var rng = SplitMix64(seed: 12)
        let units = ["a", "é", "€", "𝄞", "\u{0}", "-", "sess"]
        for _ in 0..<2_000 {
            let s = (0..<Int(rng.below(300))).map { _ in units[Int(rng.below(UInt64(units.count)))] }.joined()
            #expect(BoundedText.key(s) == key(Array(s.utf8)), "\(Array(s.utf8))")
        }
    }

    @Test("NUL bytes and invalid UTF-8 never reach a key")
    func nulAndInvalid() {
        let k = key([0x61, 0x00, 0x62, 0xFF, 0xC3])
        #expect(!k.utf8.contains(0))
        #expect(k.hasPrefix("a\u{FFFD}b"))
        let long = key([UInt8](repeating: 0xFF, count: 300))  // repairs to 900 bytes
        #expect(long.utf8.count <= 256)
    }
}
