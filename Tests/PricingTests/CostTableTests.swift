import Pricing
import SpanDecoding
import Testing

/// One hand-computed case: the expected integers are written by hand, with the arithmetic beside them.
struct CostCase: Sendable, CustomTestStringConvertible {
    var name: String
    var kind: SpanKind = .server
    var root = false
    var start: UInt64 = jan2026
    var durationNanos: UInt64 = 0
    var endBeforeStart = false
    var attributes: TestAttributes
    var total: Int64
    var outcome: PricingOutcome = .priced
    var compute: Int64? = nil
    var serverless: Int64? = nil
    var llm: Int64? = nil
    var clamped = false
    var invalidUpstream = false
    var testDescription: String { name }
}

let second: UInt64 = 1_000_000_000
let hour: UInt64 = 3_600 * second
let MiB: Int64 = 1_048_576

let costCases: [CostCase] = [
    // --- compute ---
    // 0.096 USD/h × 1 s = 0.096 / 3600 USD = 26,666.666… nano → 26,667.
    CostCase(name: "compute m5.large, 1 s", durationNanos: second, attributes: .init(host: "m5.large"), total: 26_667, compute: 26_667),
    // Region override: 0.107 / 3600 USD = 29,722.22… nano → 29,722.
    CostCase(name: "compute region override eu-west-1", durationNanos: second, attributes: .init(host: "m5.large", region: "eu-west-1"), total: 29_722, compute: 29_722),
    // Unknown region → default price: 26,667 as above.
    CostCase(name: "compute unknown region uses default", durationNanos: second, attributes: .init(host: "m5.large", region: "mars-1"), total: 26_667),
    // Date override: before 2026-07-01 the entry without `from` applies: 1.006 USD × 1 h = 1,006,000,000 nano.
    CostCase(name: "compute g5.xlarge 1 h before its dated price", start: jul2026 - 1, durationNanos: hour, attributes: .init(host: "g5.xlarge"), total: 1_006_000_000),
    // At exactly `from` (not after the start) the dated entry applies: 2.000 USD × 1 h.
    CostCase(name: "compute g5.xlarge 1 h at its from instant", start: jul2026, durationNanos: hour, attributes: .init(host: "g5.xlarge"), total: 2_000_000_000),
    // Ties. 0.096 USD/h over d ns = 96,000,000 nano × d / 3.6e12 = d / 37,500 nano.
    // d = 18,750 → 0.5 → 0 (even, down).
    CostCase(name: "tie 0.5 rounds down to 0", durationNanos: 18_750, attributes: .init(host: "m5.large"), total: 0, compute: 0),
    // d = 56,250 → 1.5 → 2 (even, up).
    CostCase(name: "tie 1.5 rounds up to 2", durationNanos: 56_250, attributes: .init(host: "m5.large"), total: 2),
    // d = 93,750 → 2.5 → 2 (even, down).
    CostCase(name: "tie 2.5 rounds down to 2", durationNanos: 93_750, attributes: .init(host: "m5.large"), total: 2),
    // d = 18,751 → 0.500026… → 1 (not a tie).
    CostCase(name: "just over a tie rounds up", durationNanos: 18_751, attributes: .init(host: "m5.large"), total: 1),
    // --- entry vs nested spans ---
    CostCase(name: "nested INTERNAL gets no compute", kind: .internal, durationNanos: second, attributes: .init(host: "m5.large"), total: 0, compute: 0),
    CostCase(name: "nested CLIENT gets no compute", kind: .client, durationNanos: second, attributes: .init(host: "m5.large"), total: 0),
    CostCase(name: "nested PRODUCER gets no compute", kind: .producer, durationNanos: second, attributes: .init(host: "m5.large"), total: 0),
    CostCase(name: "root INTERNAL is an entry span", kind: .internal, root: true, durationNanos: second, attributes: .init(host: "m5.large"), total: 26_667),
    CostCase(name: "nested CONSUMER is an entry span", kind: .consumer, durationNanos: second, attributes: .init(host: "m5.large"), total: 26_667),
    // Nested CLIENT still gets its LLM tokens: 1000 × 0.15 + 500 × 0.60 = 450 USD-per-Mtok-tokens
    // = 0.00045 USD = 450,000 nano; no compute.
    CostCase(name: "nested CLIENT still gets LLM", kind: .client, durationNanos: second,
             attributes: .init(host: "m5.large", requestModel: "gpt-4o-mini", input: 1000, output: 500), total: 450_000, compute: 0, llm: 450_000),
    // --- serverless ---
    // 512 MiB = 0.5 GB × 1 s = 0.5 GB-s × 0.0000166667 = 0.00000833335 USD = 8,333.35 nano;
    // + 0.0000002 USD = 200 nano per invocation → 8,533.35 → 8,533.
    CostCase(name: "lambda 512 MiB, 1 s", durationNanos: second, attributes: .init(platform: "aws_lambda", faasMemory: 512 * MiB), total: 8_533, serverless: 8_533),
    // 128 MiB × 100 ms = 0.0125 GB-s × 0.0000166667 = 2.0833375e-7 USD = 208.33375 nano; + 200 → 408.33375 → 408.
    CostCase(name: "lambda 128 MiB, 100 ms", durationNanos: second / 10, attributes: .init(platform: "aws_lambda", faasMemory: 128 * MiB), total: 408),
    // No faas.max_memory: GB-s = 0, the invocation price only: 200 nano.
    CostCase(name: "lambda without memory: invocation only", durationNanos: second, attributes: .init(platform: "aws_lambda"), total: 200),
    // A serverless resource gets no compute charge even with a host.type: 8,533 as above, compute 0.
    CostCase(name: "serverless resource gets no compute", durationNanos: second,
             attributes: .init(host: "m5.large", platform: "aws_lambda", faasMemory: 512 * MiB), total: 8_533, compute: 0, serverless: 8_533),
    // Nested span on Lambda: no serverless charge, but the platform matched: priced at 0.
    CostCase(name: "nested span on lambda: no serverless", kind: .internal, durationNanos: second,
             attributes: .init(platform: "aws_lambda", faasMemory: 512 * MiB), total: 0, serverless: 0),
    // faas.* without cloud.platform: serverless (so no compute for m5.large), no platform entry → unpriced.
    CostCase(name: "faas attribute without platform: no compute, unpriced", durationNanos: second,
             attributes: .init(host: "m5.large", faas: true), total: 0, outcome: .unpriced),
    // --- LLM ---
    // gpt-4o-2024-08-06 matches gpt-4o* (not gpt-4o-mini*): input 2000 of which 1000 cache reads:
    // rest 1000 × 2.50 + 1000 × 1.25 + output 100 × 10.00 = 2500 + 1250 + 1000 = 4750 → 0.00475 USD = 4,750,000.
    CostCase(name: "llm gpt-4o with cached reads", kind: .client,
             attributes: .init(requestModel: "gpt-4o-2024-08-06", input: 2000, output: 100, cacheRead: 1000), total: 4_750_000),
    // Claude: input 10000 = 1000 rest + 6000 read + 3000 write; output 200:
    // 1000 × 3 + 6000 × 0.30 + 3000 × 3.75 + 200 × 15 = 3000 + 1800 + 11250 + 3000 = 19050 → 0.01905 USD.
    CostCase(name: "llm claude cache read + write + rest", kind: .client,
             attributes: .init(requestModel: "claude-3-5-sonnet-20241022", input: 10_000, output: 200, cacheRead: 6000, cacheWrite: 3000), total: 19_050_000, llm: 19_050_000),
    // Rest never below 0: input 100 < 80 read + 50 write → rest 0: 80 × 0.30 + 50 × 3.75 = 24 + 187.5
    // = 211.5 → 0.0002115 USD = 211,500 nano.
    CostCase(name: "llm rest of input never below 0", kind: .client,
             attributes: .init(requestModel: "claude-3-5-sonnet", input: 100, cacheRead: 80, cacheWrite: 50), total: 211_500),
    // gpt-4o-mini has no cache_write price: writes fall back to the input price 0.15:
    // rest 0 (1000 − 1000), 1000 × 0.15 = 150 → 150,000 nano.
    CostCase(name: "llm missing cache_write price falls back to input", kind: .client,
             attributes: .init(requestModel: "gpt-4o-mini", input: 1000, cacheWrite: 1000), total: 150_000),
    // "m?del-x" has only an input price (1): output falls back: (1000 + 1000) × 1 = 2000 → 2,000,000.
    CostCase(name: "llm ? glob and output fallback", kind: .client,
             attributes: .init(requestModel: "model-x", input: 1000, output: 1000), total: 2_000_000),
    // `?` is one character, also a two-byte one ("ö").
    CostCase(name: "llm ? matches one non-ASCII character", kind: .client,
             attributes: .init(requestModel: "mödel-x", input: 1000, output: 1000), total: 2_000_000),
    CostCase(name: "llm ? needs exactly one character", kind: .client,
             attributes: .init(requestModel: "mdel-x", input: 1000), total: 0, outcome: .unpriced),
    // "*-exact": input 2, output 4: 1000 × 2 + 1000 × 4 = 6000 → 6,000,000.
    CostCase(name: "llm leading * glob", kind: .client,
             attributes: .init(requestModel: "foo-bar-exact", input: 1000, output: 1000), total: 6_000_000),
    // First match wins: gpt-4o-mini-2024-07-18 matches gpt-4o-mini* (listed first) and gpt-4o*:
    // 1000 × 0.15 = 150 → 150,000 (gpt-4o* would give 2,500,000).
    CostCase(name: "llm first matching glob wins", kind: .client,
             attributes: .init(requestModel: "gpt-4o-mini-2024-07-18", input: 1000), total: 150_000),
    // Response model over request model: mini price 150,000 rather than gpt-4o's 2,500,000.
    CostCase(name: "llm response model preferred", kind: .client,
             attributes: .init(requestModel: "gpt-4o", responseModel: "gpt-4o-mini", input: 1000), total: 150_000),
    // Deprecated names: prompt 1000, completion 500 → 450,000 as above.
    CostCase(name: "llm deprecated token names", kind: .client,
             attributes: .init(requestModel: "gpt-4o-mini", prompt: 1000, completion: 500), total: 450_000),
    // New names win over deprecated ones: input 2000 × 0.15 = 300 → 300,000 (not prompt 1000).
    CostCase(name: "llm new token names win", kind: .client,
             attributes: .init(requestModel: "gpt-4o-mini", input: 2000, prompt: 1000), total: 300_000),
    // Dated LLM entries of one glob: before 2026-07-01 price 1, from then 3: 1000 tokens → 1,000,000 / 3,000,000.
    CostCase(name: "llm dated glob before from", kind: .client, start: jul2026 - 1,
             attributes: .init(requestModel: "dated-model", input: 1000), total: 1_000_000),
    CostCase(name: "llm dated glob at from", kind: .client, start: jul2026,
             attributes: .init(requestModel: "dated-model", input: 1000), total: 3_000_000),
    // The first glob decides: "dated-special" matches "dated*" first, its own entry (100) is never used.
    CostCase(name: "llm first glob decides, later literal ignored", kind: .client,
             attributes: .init(requestModel: "dated-special", input: 1000), total: 1_000_000),
    // Only entry starts in 2030: nothing in force in 2026 → unpriced.
    CostCase(name: "llm entry not yet in force: unpriced", kind: .client,
             attributes: .init(requestModel: "future-only", input: 1000), total: 0, outcome: .unpriced),
    // --- one rounding per span ---
    // compute 18,750 ns = 0.5 nano, LLM 1 token × 0.0005 USD/Mtok = 0.5 nano. Exact sum 1.0 → 1, while
    // each component alone rounds to 0.
    CostCase(name: "components summed exactly before the one rounding", durationNanos: 18_750,
             attributes: .init(host: "m5.large", requestModel: "half", input: 1), total: 1, compute: 0, llm: 0),
    // compute + serverless-free + LLM: 26,666.67 + 450,000 = 476,666.67 → 476,667.
    CostCase(name: "compute + LLM on an entry span", durationNanos: second,
             attributes: .init(host: "m5.large", requestModel: "gpt-4o-mini", input: 1000, output: 500), total: 476_667, compute: 26_667, llm: 450_000),
    // --- rule 1: cost.usd ---
    // Double 1.2345e-06 → "1.2345e-06" → 1234.5 nano → half-even → 1234.
    CostCase(name: "cost.usd double 1.2345e-06", attributes: .init(host: "m5.large", cost: .double(1.2345e-06)), total: 1234, outcome: .upstream),
    // Double 0.1 → "0.1" → 100,000,000 exactly (not 0.1000000000000000055…).
    CostCase(name: "cost.usd double 0.1 is exact", attributes: .init(cost: .double(0.1)), total: 100_000_000, outcome: .upstream),
    // Int 2 → 2 USD = 2,000,000,000.
    CostCase(name: "cost.usd int", attributes: .init(cost: .int(2)), total: 2_000_000_000, outcome: .upstream),
    // Decimal string 12.3456789015 → 12,345,678,901.5 → 12,345,678,902 (1 odd → up to even).
    CostCase(name: "cost.usd decimal string, tie up", attributes: .init(cost: .string("12.3456789015")), total: 12_345_678_902, outcome: .upstream),
    // Ties of credits: −2.5 → −2, −3.5 → −4 (half to even is symmetric).
    CostCase(name: "credit tie -2.5 → -2", attributes: .init(cost: .string("-0.0000000025")), total: -2, outcome: .upstream),
    CostCase(name: "credit tie -3.5 → -4", attributes: .init(cost: .string("-0.0000000035")), total: -4, outcome: .upstream),
    // Negative double: −0.5 USD credit.
    CostCase(name: "cost.usd negative double is a credit", attributes: .init(cost: .double(-0.5)), total: -500_000_000, outcome: .upstream),
    // Exponent in a string: 1.5e-9 USD = 1.5 nano → 2.
    CostCase(name: "cost.usd string with exponent", attributes: .init(cost: .string("1.5e-9")), total: 2, outcome: .upstream),
    // Exactly 1e9 USD is allowed: 1e18 nano.
    CostCase(name: "cost.usd exactly 1e9", attributes: .init(cost: .int(1_000_000_000)), total: 1_000_000_000_000_000_000, outcome: .upstream),
    // Upstream cost is the span's whole cost: nothing else added (compute would be 26,667).
    CostCase(name: "cost.usd replaces compute and LLM", durationNanos: second,
             attributes: .init(host: "m5.large", requestModel: "gpt-4o-mini", input: 1000, cost: .string("0.000000007")), total: 7, outcome: .upstream),
    // Invalid values are ignored and the span is priced by rule 2 (26,667 for 1 s of m5.large).
    CostCase(name: "cost.usd NaN ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .double(.nan)), total: 26_667, invalidUpstream: true),
    CostCase(name: "cost.usd +inf ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .double(.infinity)), total: 26_667, invalidUpstream: true),
    CostCase(name: "cost.usd -inf ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .double(-.infinity)), total: 26_667, invalidUpstream: true),
    CostCase(name: "cost.usd garbage string ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .string("12 USD")), total: 26_667, invalidUpstream: true),
    CostCase(name: "cost.usd double 1e10 ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .double(1e10)), total: 26_667, invalidUpstream: true),
    CostCase(name: "cost.usd string 1e10 ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .string("1e10")), total: 26_667, invalidUpstream: true),
    CostCase(name: "cost.usd int over 1e9 ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .int(1_000_000_001)), total: 26_667, invalidUpstream: true),
    CostCase(name: "cost.usd just over 1e9 ignored", attributes: .init(cost: .string("1000000000.000000001")), total: 0, outcome: .unpriced, invalidUpstream: true),
    CostCase(name: "cost.usd bool ignored", durationNanos: second, attributes: .init(host: "m5.large", cost: .bool), total: 26_667, invalidUpstream: true),
    // --- rule 3: excluded environments ---
    CostCase(name: "excluded by deployment.environment.name", durationNanos: second, attributes: .init(host: "m5.large", env: "ci"), total: 0, outcome: .excluded),
    CostCase(name: "excluded by legacy deployment.environment", durationNanos: second, attributes: .init(host: "m5.large", envLegacy: "staging"), total: 0, outcome: .excluded),
    CostCase(name: "environment.name wins over the legacy name", durationNanos: second,
             attributes: .init(host: "m5.large", env: "production", envLegacy: "ci"), total: 26_667),
    CostCase(name: "excluded even with cost.usd", attributes: .init(env: "staging", cost: .int(5)), total: 0, outcome: .excluded),
    // --- rule 4: end < start ---
    CostCase(name: "end before start: duration 0, clamped", endBeforeStart: true, attributes: .init(host: "m5.large"), total: 0, clamped: true),
    // Clamped with LLM: tokens still priced (450,000), compute 0.
    CostCase(name: "end before start still prices tokens", endBeforeStart: true,
             attributes: .init(host: "m5.large", requestModel: "gpt-4o-mini", input: 1000, output: 500), total: 450_000, compute: 0, clamped: true),
    // --- unpriced ---
    CostCase(name: "unknown host type: unpriced", durationNanos: second, attributes: .init(host: "z9.mega"), total: 0, outcome: .unpriced),
    CostCase(name: "no attributes at all: unpriced", durationNanos: second, attributes: .init(), total: 0, outcome: .unpriced),
    CostCase(name: "unknown model: unpriced", kind: .client, attributes: .init(requestModel: "llama-3", input: 1000), total: 0, outcome: .unpriced),
    // A nested span on a known host is priced at 0 (its entry span pays for the time) ...
    CostCase(name: "nested span on a known host: priced at 0", kind: .internal, durationNanos: second, attributes: .init(host: "m5.large"), total: 0, outcome: .priced),
    // ... but an unknown model on it is not hidden by the host: nothing charged it, so unpriced.
    CostCase(name: "nested span on a known host with an unknown model: unpriced", kind: .client, durationNanos: second,
             attributes: .init(host: "m5.large", requestModel: "llama-3", input: 1000), total: 0, outcome: .unpriced),
    // An entry span with an unknown model still pays for its host: priced (docs/pricing.md: unpriced only if nothing else priced it).
    CostCase(name: "entry span on a known host with an unknown model: compute only", kind: .server, durationNanos: second,
             attributes: .init(host: "m5.large", requestModel: "llama-3", input: 1000), total: 26_667, outcome: .priced),
]

@Suite("hand-computed span costs")
struct CostTableTests {
    @Test("each case costs what the hand arithmetic says", arguments: costCases)
    func handComputed(_ c: CostCase) throws {
        let catalog = try testCatalog()
        let arena = ByteArena()
        let span = makeSpan(
            arena, kind: c.kind, root: c.root, start: c.start,
            end: c.endBeforeStart ? c.start - 1 : nil, durationNanos: c.durationNanos, attributes: c.attributes)
        let cost = catalog.price(span)
        #expect(cost.total == NanoUSD(c.total))
        #expect(cost.outcome == c.outcome)
        #expect(cost.clamped == c.clamped)
        #expect(cost.invalidUpstreamCost == c.invalidUpstream)
        if let v = c.compute { #expect(cost.compute == NanoUSD(v)) }
        if let v = c.serverless { #expect(cost.serverless == NanoUSD(v)) }
        if let v = c.llm { #expect(cost.llm == NanoUSD(v)) }
        // The cached pricer agrees with the pure function.
        var pricer = SpanPricer(catalog: catalog)
        #expect(pricer.price(span) == cost)
        #expect(pricer.price(span) == cost)  // second time from the model cache
        withExtendedLifetime(arena) {}
    }

    @Test("tokens are reported as read, input including cached tokens")
    func tokensReported() throws {
        let arena = ByteArena()
        let span = makeSpan(arena, kind: .client, attributes: .init(requestModel: "claude-3-5-sonnet", input: 10_000, output: 200, cacheRead: 6000))
        let cost = try testCatalog().price(span)
        #expect(cost.inputTokens == 10_000)
        #expect(cost.outputTokens == 200)
        withExtendedLifetime(arena) {}
    }

    @Test("absurd durations and token counts never trap and are flagged out of range")
    func absurdInputs() throws {
        let catalog = try testCatalog()
        let arena = ByteArena()
        // Longest possible duration on the priciest host: 2 USD/h × 584 years ≈ 1.0e7 USD: fits, priced.
        let long = makeSpan(arena, start: jul2026, end: UInt64.max, attributes: .init(host: "g5.xlarge"))
        #expect(catalog.price(long).outcome == .priced)
        // Int64.max tokens × 15 USD/Mtok ≈ 1.4e14 USD > 1e9 USD: out of range, not charged.
        let tokens = makeSpan(arena, kind: .client, attributes: .init(requestModel: "claude-3-5-sonnet", input: .max, output: .max, cacheRead: .max, cacheWrite: .max))
        let c = catalog.price(tokens)
        #expect(c.outOfRange && c.outcome == .unpriced && c.total == .zero)
        // Int64.max bytes of memory for the longest duration: the overflow path of the GB-s product.
        let lambda = makeSpan(arena, start: 0, end: UInt64.max, attributes: .init(platform: "aws_lambda", faasMemory: .max))
        #expect(catalog.price(lambda).outOfRange)
        // Negative token counts count as 0.
        let negative = makeSpan(arena, kind: .client, attributes: .init(requestModel: "gpt-4o-mini", input: -5, output: -5))
        #expect(catalog.price(negative).total == .zero)
        withExtendedLifetime(arena) {}
    }

    @Test("the pricer's model cache agrees with the pure function under collisions, overflow and eviction")
    func modelCacheAgrees() throws {
        let catalog = try testCatalog()
        let arena = ByteArena()
        // Two names that share a home slot (FNV-1a 64 & 63 == 15), then far more names than the cache
        // holds (64 slots), some matching a glob and some not, in several interleaved rounds.
        var models = ["gpt-4o-mini-2024-07-18", "claude-haiku-4-5-20251001"]
        for i in 0..<150 {
            models.append(["gpt-4o-mini-\(i)", "claude-3-5-sonnet-\(i)", "no-such-model-\(i)"][i % 3])
        }
        let spans = models.map {
            makeSpan(arena, kind: .client, attributes: .init(responseModel: $0, input: 12_345, output: 678, cacheRead: 1_000))
        }
        var pricer = SpanPricer(catalog: catalog)
        for round in 0..<4 {
            for (i, span) in spans.enumerated() where (i + round) % (round + 1) == 0 || i < 2 {
                #expect(pricer.price(span) == catalog.price(span))
                #expect(pricer.price(spans[i % 2]) == catalog.price(spans[i % 2]))
            }
        }
        withExtendedLifetime(arena) {}
    }
}
