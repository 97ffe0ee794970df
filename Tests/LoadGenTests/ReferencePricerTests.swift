import Testing
import TraceContext

@testable import LoadGen

/// A small catalog in the `config/pricing.yaml` format (docs/pricing.md), used until the real one lands.
let testCatalogYAML = """
    exclude_environments: [ci, staging]
    compute:                       # USD per instance-hour
      - host_type: m5.large
        usd_per_hour: "0.096"
        regions: { eu-west-1: "0.107" }
      - host_type: m5.xlarge
        usd_per_hour: "0.192"
        regions: { eu-west-1: "0.214" }
      - host_type: c5.2xlarge
        usd_per_hour: "0.34"
      - host_type: r5.large
        usd_per_hour: "0.126"
      - host_type: c6g.xlarge
        usd_per_hour: "0.136"
        regions: { eu-west-1: "0.1544" }
      - host_type: g5.xlarge
        usd_per_hour: "1.006"
      - host_type: g5.xlarge
        usd_per_hour: "0.9"
        from: "2026-03-01T12:00:00Z"
      - host_type: m6i.large
        usd_per_hour: "0.096"
      - host_type: t3.medium
        usd_per_hour: "0.0416"
    serverless:
      - platform: aws_lambda
        usd_per_gb_second: "0.0000166667"
        usd_per_invocation: "0.0000002"
    llm:                            # first match wins; glob with * and ?
      - model: "gpt-4o-mini*"
        input_usd_per_mtok: "0.15"
        output_usd_per_mtok: "0.60"
        cached_input_usd_per_mtok: "0.075"
      - model: "gpt-4o*"
        input_usd_per_mtok: "2.50"
        output_usd_per_mtok: "10.00"
        cached_input_usd_per_mtok: "1.25"
      - model: "o3-mini*"
        input_usd_per_mtok: "1.10"
        output_usd_per_mtok: "4.40"
        cached_input_usd_per_mtok: "0.55"
      - model: "claude-3-5-sonnet*"
        input_usd_per_mtok: "3.00"
        output_usd_per_mtok: "15.00"
        cached_input_usd_per_mtok: "0.30"
        cache_write_usd_per_mtok: "3.75"
      - model: "claude-3-5-haiku*"
        input_usd_per_mtok: "0.80"
        output_usd_per_mtok: "4.00"
        cached_input_usd_per_mtok: "0.08"
        cache_write_usd_per_mtok: "1.00"
      - model: "text-embedding-3-small"
        input_usd_per_mtok: "0.02"
      - model: "gemini-1.5-flash-00?"
        input_usd_per_mtok: "0.075"
        output_usd_per_mtok: "0.30"
      - model: "llama-3.1-70b*"
        input_usd_per_mtok: "0.72"
    """

func testPricer() throws -> ReferencePricer {
    ReferencePricer(catalog: try ReferenceCatalog(yaml: testCatalogYAML))
}

/// 2026-03-01T12:00:00Z in Unix ns (the g5.xlarge price change in the test catalog).
let priceChangeNanos: UInt64 = 1_772_366_400 * 1_000_000_000

/// A span on a host (resource: service, host type, region, environment).
func span(
    kind: SpanKind = .server, root: Bool = false, durationNanos: Int64, start: UInt64 = priceChangeNanos + 1_000_000_000,
    host: String? = "m5.large", region: String? = "us-east-1", env: String? = "production",
    spanAttributes: [Attribute] = []
) -> SpanFacts {
    var resource: [Attribute] = [Attribute("service.name", .string("svc"))]
    if let host { resource.append(Attribute("host.type", .string(host))) }
    if let region { resource.append(Attribute("cloud.region", .string(region))) }
    if let env { resource.append(Attribute("deployment.environment.name", .string(env))) }
    let end = UInt64(Int64(start) + durationNanos)
    return SpanFacts(
        traceID: TraceID(high: 1, low: 2), isRoot: root, name: "s", kind: kind, startTimeNanos: start,
        endTimeNanos: end, isError: false, spanAttributes: spanAttributes, resourceAttributes: resource)
}

func lambda(memoryMiB: Int64, durationNanos: Int64, kind: SpanKind = .server) -> SpanFacts {
    let resource: [Attribute] = [
        Attribute("service.name", .string("fn")), Attribute("cloud.platform", .string("aws_lambda")),
        Attribute("faas.max_memory", .int(memoryMiB * 1_048_576)),
    ]
    let start = priceChangeNanos
    return SpanFacts(
        traceID: TraceID(high: 1, low: 2), isRoot: false, name: "fn", kind: kind, startTimeNanos: start,
        endTimeNanos: UInt64(Int64(start) + durationNanos), isError: false, spanAttributes: [],
        resourceAttributes: resource)
}

func llm(_ model: String, _ attrs: [(String, Int64)]) -> SpanFacts {
    span(
        kind: .client, durationNanos: 1_000_000_000,
        spanAttributes: [Attribute("gen_ai.request.model", .string(model))] + attrs.map { Attribute($0.0, .int($0.1)) })
}

@Suite("Reference pricer (docs/pricing.md), hand-computed cases")
struct ReferencePricerTests {
    @Test("compute: USD/h × duration on an entry span, region price when the entry has one")
    func compute() throws {
        let p = try testPricer()
        // 0.096 × 1.5 s / 3600 s = 0.00004 USD
        #expect(try p.price(span(durationNanos: 1_500_000_000)) == ReferencePrice(costNanoUSD: 40_000, outcome: .priced))
        // 0.107 × 1.5 / 3600 = 0.0000445833… USD → 44583 nano
        #expect(try p.price(span(durationNanos: 1_500_000_000, region: "eu-west-1")).costNanoUSD == 44_583)
        // A region the entry does not list → default price.
        #expect(try p.price(span(durationNanos: 1_500_000_000, region: "ap-south-1")).costNanoUSD == 40_000)
        // Span attribute first, then resource: the span's region wins.
        let overridden = span(
            durationNanos: 1_500_000_000, region: "us-east-1",
            spanAttributes: [Attribute("cloud.region", .string("eu-west-1"))])
        #expect(try p.price(overridden).costNanoUSD == 44_583)
    }

    @Test("one half-to-even rounding per span: 0.5 → 0, 1.5 → 2, 2.5 → 2 nano")
    func halfEven() throws {
        let p = try testPricer()
        // m5.large: 0.096 USD/h = 1/37500 nano per ns.
        #expect(try p.price(span(durationNanos: 18_750)).costNanoUSD == 0)
        #expect(try p.price(span(durationNanos: 56_250)).costNanoUSD == 2)
        #expect(try p.price(span(durationNanos: 93_750)).costNanoUSD == 2)
        #expect(try p.price(span(durationNanos: 18_751)).costNanoUSD == 1)
    }

    @Test("entry spans only: nested INTERNAL/CLIENT/PRODUCER get no compute; roots and CONSUMERs do")
    func entrySpans() throws {
        let p = try testPricer()
        for kind in [SpanKind.internal, .client, .producer] {
            // Nested on a priced host: priced at 0 (its entry span pays for the time), not unpriced.
            #expect(try p.price(span(kind: kind, durationNanos: 1_500_000_000)) == ReferencePrice(costNanoUSD: 0, outcome: .priced))
            #expect(try p.price(span(kind: kind, root: true, durationNanos: 1_500_000_000)).costNanoUSD == 40_000)
        }
        #expect(try p.price(span(kind: .consumer, durationNanos: 1_500_000_000)).costNanoUSD == 40_000)
    }

    @Test("unknown host type and no host type → 0, unpriced")
    func unknownHost() throws {
        let p = try testPricer()
        #expect(try p.price(span(durationNanos: 1_000_000_000, host: "x9.mega")) == ReferencePrice(costNanoUSD: 0, outcome: .unpriced))
        #expect(try p.price(span(durationNanos: 1_000_000_000, host: nil)) == ReferencePrice(costNanoUSD: 0, outcome: .unpriced))
    }

    @Test("`from` picks the latest entry not after the span's start")
    func effectiveDates() throws {
        let p = try testPricer()
        let hour: Int64 = 3_600_000_000_000
        #expect(try p.price(span(durationNanos: hour, start: priceChangeNanos - 1, host: "g5.xlarge")).costNanoUSD == 1_006_000_000)
        #expect(try p.price(span(durationNanos: hour, start: priceChangeNanos, host: "g5.xlarge")).costNanoUSD == 900_000_000)
    }

    @Test("end < start: duration 0 and clamped")
    func clamped() throws {
        let p = try testPricer()
        #expect(try p.price(span(durationNanos: -5_000)) == ReferencePrice(costNanoUSD: 0, outcome: .priced, clamped: true))
    }

    @Test("serverless: GB-seconds × price + invocation, entry spans only, no compute")
    func serverless() throws {
        let p = try testPricer()
        // 1 GiB × 2 s × 0.0000166667 = 0.0000333334 USD + 0.0000002 = 33533.4 nano → 33533
        #expect(try p.price(lambda(memoryMiB: 1024, durationNanos: 2_000_000_000)).costNanoUSD == 33_533)
        // 0.125 GiB × 0.1 s × 0.0000166667 = 208.333375 nano + 200 → 408
        #expect(try p.price(lambda(memoryMiB: 128, durationNanos: 100_000_000)).costNanoUSD == 408)
        #expect(try p.price(lambda(memoryMiB: 128, durationNanos: 100_000_000, kind: .client)) == ReferencePrice(costNanoUSD: 0, outcome: .priced))
    }

    @Test("LLM: first glob in file order; cached reads/writes; prices left out fall back to input")
    func llmTokens() throws {
        let p = try testPricer()
        // gpt-4o-mini: 600 × 0.15 + 400 × 0.075 + 500 × 0.60 = 420 µUSD·Mtok⁻¹… = 0.00042 USD
        let mini = llm(
            "gpt-4o-mini-2024-07-18",
            [("gen_ai.usage.input_tokens", 1000), ("gen_ai.usage.cache_read.input_tokens", 400), ("gen_ai.usage.output_tokens", 500)])
        #expect(try p.price(mini) == ReferencePrice(costNanoUSD: 420_000, outcome: .priced))
        #expect(mini.inputTokens == 1000 && mini.outputTokens == 500)
        // gpt-4o-… matches "gpt-4o*", not the mini entry: 100 × 2.5 + 10 × 10 = 350 µUSD… → 0.00035 USD
        #expect(try p.price(llm("gpt-4o-2024-08-06", [("gen_ai.usage.input_tokens", 100), ("gen_ai.usage.output_tokens", 10)])).costNanoUSD == 350_000)
        // Sonnet: 500 × 3 + 1000 × 0.30 + 500 × 3.75 + 100 × 15 = 5175 → 0.005175 USD
        let sonnet = llm(
            "claude-3-5-sonnet-20241022",
            [("gen_ai.usage.input_tokens", 2000), ("gen_ai.usage.cache_read.input_tokens", 1000),
             ("gen_ai.usage.cache_creation.input_tokens", 500), ("gen_ai.usage.output_tokens", 100)])
        #expect(try p.price(sonnet).costNanoUSD == 5_175_000)
        // Deprecated names; no output price → input price: (1000 + 100) × 0.72 = 792 → 0.000792 USD
        #expect(try p.price(llm("llama-3.1-70b-instruct", [("gen_ai.usage.prompt_tokens", 1000), ("gen_ai.usage.completion_tokens", 100)])).costNanoUSD == 792_000)
        // Cache reads beyond input_tokens: the plain rest is 0, not negative. 300 × 0.075 = 22.5 µ… → 22500 nano
        #expect(try p.price(llm("gpt-4o-mini", [("gen_ai.usage.input_tokens", 100), ("gen_ai.usage.cache_read.input_tokens", 300)])).costNanoUSD == 22_500)
        // `?` matches exactly one character.
        #expect(try p.price(llm("gemini-1.5-flash-002", [("gen_ai.usage.input_tokens", 1)])).costNanoUSD == 75)
        #expect(try p.price(llm("gemini-1.5-flash-0021", [("gen_ai.usage.input_tokens", 1)])).outcome == .unpriced)
        // The response model wins over the request model.
        var both = llm("gpt-4o", [("gen_ai.usage.input_tokens", 1000)])
        both = SpanFacts(
            traceID: both.traceID, isRoot: false, name: "chat", kind: .client, startTimeNanos: both.startTimeNanos,
            endTimeNanos: both.endTimeNanos, isError: false,
            spanAttributes: [
                Attribute("gen_ai.request.model", .string("gpt-4o")),
                Attribute("gen_ai.response.model", .string("gpt-4o-mini-2024-07-18")),
                Attribute("gen_ai.usage.input_tokens", .int(1000)),
            ], resourceAttributes: [])
        #expect(try p.price(both).costNanoUSD == 150_000)
    }

    @Test("LLM tokens are added to an entry span's compute, then rounded once")
    func computePlusLLM() throws {
        let p = try testPricer()
        // 18750 ns of m5.large = 0.5 nano; + 7 tokens × 0.02 = 140 nano → 140.5 → 140 (even)
        let s = span(
            durationNanos: 18_750,
            spanAttributes: [Attribute("gen_ai.request.model", .string("text-embedding-3-small")), Attribute("gen_ai.usage.input_tokens", .int(7))])
        #expect(try p.price(s).costNanoUSD == 140)
        let s2 = span(
            durationNanos: 56_250,
            spanAttributes: [Attribute("gen_ai.request.model", .string("text-embedding-3-small")), Attribute("gen_ai.usage.input_tokens", .int(7))])
        #expect(try p.price(s2).costNanoUSD == 142)
    }

    @Test("cost.usd: taken as is (shortest round-trip decimal of doubles, half-even at 9 decimals)")
    func upstream() throws {
        let p = try testPricer()
        func cost(_ v: AttributeValue) throws -> ReferencePrice {
            try p.price(span(kind: .internal, durationNanos: 1_000_000_000, spanAttributes: [Attribute("cost.usd", v)]))
        }
        #expect(try cost(.double(0.1)) == ReferencePrice(costNanoUSD: 100_000_000, outcome: .upstream))
        #expect(try cost(.double(0.1 + 0.2)).costNanoUSD == 300_000_000)  // "0.30000000000000004"
        #expect(try cost(.double(1.5e-9)).costNanoUSD == 2)
        #expect(try cost(.double(2.5e-9)).costNanoUSD == 2)
        #expect(try cost(.double(1.0000000005)).costNanoUSD == 1_000_000_000)
        #expect(try cost(.double(1.0000000015)).costNanoUSD == 1_000_000_002)
        #expect(try cost(.double(-0.25)).costNanoUSD == -250_000_000)  // a credit
        #expect(try cost(.double(1e-12)).costNanoUSD == 0)
        #expect(try cost(.int(-1)).costNanoUSD == -1_000_000_000)
        #expect(try cost(.int(1_000_000_000)).costNanoUSD == 1_000_000_000_000_000_000)
        #expect(try cost(.string("0.0000000025")).costNanoUSD == 2)
        #expect(try cost(.string("0.0000000035")).costNanoUSD == 4)
        #expect(try cost(.string("-0.00042")).costNanoUSD == -420_000)
        // The upstream cost replaces everything else, even on an entry span.
        #expect(try p.price(span(durationNanos: 1_500_000_000, spanAttributes: [Attribute("cost.usd", .string("0.5"))])).costNanoUSD == 500_000_000)
    }

    @Test("invalid cost.usd is ignored (rule 2 applies) and flagged")
    func invalidUpstream() throws {
        let p = try testPricer()
        let invalid: [AttributeValue] = [
            .double(.nan), .double(.infinity), .double(-.infinity), .double(2.5e9), .int(1_000_000_001),
            .string("n/a"), .string("NaN"), .string(""), .string("1,5"), .string("0x1p-3"), .string("1000000000.5"),
        ]
        for v in invalid {
            let priced = try p.price(span(durationNanos: 1_500_000_000, spanAttributes: [Attribute("cost.usd", v)]))
            #expect(priced == ReferencePrice(costNanoUSD: 40_000, outcome: .priced, invalidUpstreamCost: true), "\(v)")
        }
    }

    @Test("excluded environments: new name, else the deprecated one")
    func excluded() throws {
        let p = try testPricer()
        #expect(try p.price(span(durationNanos: 1, env: "staging")).outcome == .excluded)
        #expect(try p.price(span(durationNanos: 1, env: "production")).outcome == .priced)
        let old = span(durationNanos: 1, env: nil, spanAttributes: [Attribute("deployment.environment", .string("ci"))])
        #expect(try p.price(old).outcome == .excluded)
    }

    @Test("catalog validation: prices must be decimal strings, dates RFC 3339")
    func catalogValidation() {
        #expect(throws: LoadGenError.self) { try ReferenceCatalog(yaml: "compute: [{host_type: a, usd_per_hour: \"-1\"}]") }
        #expect(throws: LoadGenError.self) { try ReferenceCatalog(yaml: "compute: [{host_type: a, usd_per_hour: \"1e3\"}]") }
        #expect(throws: LoadGenError.self) { try ReferenceCatalog(yaml: "llm: [{model: a, input_usd_per_mtok: \"1\", from: \"yesterday\"}]") }
        #expect(throws: LoadGenError.self) { try ReferenceCatalog(yaml: "compute: {") }
        #expect(RFC3339.nanoseconds("2026-03-01T12:00:00Z") == Int64(priceChangeNanos))
        #expect(RFC3339.nanoseconds("2026-03-01T14:00:00.5+02:00") == Int64(priceChangeNanos) + 500_000_000)
    }
}
