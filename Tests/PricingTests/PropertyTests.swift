import Pricing
import PropertyBased
import SpanDecoding
import Testing
import TestSupport

/// A random span of every shape the cost model knows, from one seed.
func randomSpanAttributes(_ seed: UInt64) -> (kind: SpanKind, root: Bool, durationNanos: UInt64, endBeforeStart: Bool, attributes: TestAttributes) {
    var r = SplitMix64(seed: seed)
    let kinds: [SpanKind] = [.server, .client, .internal, .producer, .consumer]
    var a = TestAttributes()
    a.host = [nil, "m5.large", "g5.xlarge", "unknown.type"].randomElement(using: &r)!
    a.region = [nil, "eu-west-1", "us-east-1"].randomElement(using: &r)!
    if Int.random(in: 0..<4, using: &r) == 0 {
        a.platform = "aws_lambda"
        a.faasMemory = Int64.random(in: 0...(1 << 34), using: &r)
    }
    a.requestModel = [nil, "gpt-4o", "gpt-4o-mini-2024-07-18", "claude-3-5-sonnet", "model-x", "llama", "half"].randomElement(using: &r)!
    a.input = Int64.random(in: 0...2_000_000, using: &r)
    a.output = Int64.random(in: 0...200_000, using: &r)
    a.cacheRead = Bool.random(using: &r) ? Int64.random(in: 0...2_000_000, using: &r) : nil
    a.cacheWrite = Bool.random(using: &r) ? Int64.random(in: 0...100_000, using: &r) : nil
    switch Int.random(in: 0..<10, using: &r) {
    case 0: a.cost = .string("-0.00000000\(Int.random(in: 0...99, using: &r))5")
    case 1: a.cost = .double(Double(Int.random(in: -1000...1000, using: &r)) * 1.5e-9)
    case 2: a.env = "ci"
    default: break
    }
    return (kinds.randomElement(using: &r)!, Bool.random(using: &r), UInt64.random(in: 0...(3_600 * second), using: &r),
            Int.random(in: 0..<20, using: &r) == 0, a)
}

@Suite("pricing properties")
struct PropertyTests {
    @Test("the sum of per-span costs does not depend on order or grouping")
    func orderAndGroupingIndependent() async throws {
        let catalog = try testCatalog()
        await propertyCheck(count: 200, input: Gen.uint64().array(of: 1...60), Gen.uint64()) { seeds, shuffleSeed in
            let arena = ByteArena()
            let spans = seeds.map { seed -> DecodedSpan in
                let s = randomSpanAttributes(seed)
                return makeSpan(arena, kind: s.kind, root: s.root, start: jan2026,
                                end: s.endBeforeStart ? jan2026 - 1 : nil, durationNanos: s.durationNanos, attributes: s.attributes)
            }
            let costs = spans.map { catalog.price($0).total }
            let inOrder = costs.reduce(NanoUSD.zero, +)
            var rng = SplitMix64(seed: shuffleSeed)
            // Another order, priced again through a shard's cached pricer (its cache sees a different history).
            var pricer = SpanPricer(catalog: catalog)
            let order = Array(spans.indices).shuffled(using: &rng)
            let shuffledCosts = order.map { pricer.price(spans[$0]).total }
            #expect(shuffledCosts.reduce(NanoUSD.zero, +) == inOrder)
            #expect(order.map { costs[$0] } == shuffledCosts)
            // Random grouping into "epochs"/"shards", summed per group, then the group sums summed.
            var groups: [NanoUSD] = []
            var i = 0
            while i < order.count {
                let size = Int.random(in: 1...max(1, order.count - i), using: &rng)
                groups.append(order[i..<i + size].map { costs[$0] }.reduce(.zero, +))
                i += size
            }
            #expect(groups.reversed().reduce(NanoUSD.zero, +) == inOrder)
            withExtendedLifetime(arena) {}
        }
    }

    /// The test's own copy of the catalog's prices (as decimal strings) for the oracle.
    static let llmPrices: [String: (input: String, output: String, cached: String, write: String)] = [
        "gpt-4o": ("2.50", "10.00", "1.25", "2.50"),
        "gpt-4o-mini-2024-07-18": ("0.15", "0.60", "0.075", "0.15"),
        "claude-3-5-sonnet": ("3.00", "15.00", "0.30", "3.75"),
        "model-x": ("1", "1", "1", "1"),
        "half": ("0.0005", "0.0005", "0.0005", "0.0005"),
    ]

    @Test("a span is rounded once, half to even, from the exact rational sum of its components")
    func singleHalfEvenRounding() async throws {
        let catalog = try testCatalog()
        let models = Array(Self.llmPrices.keys).sorted()
        await propertyCheck(
            count: 300,
            input: Gen.uint64(in: 0...1_000_000_000_000_000), Gen.int(in: 0...3), Gen.uint64(in: 0...(1 << 40)),
            Gen.int(in: 0...(models.count - 1)), Gen.uint64(in: 0...1_000_000_000_000).array(of: 4)
        ) { duration, shape, memory, modelIndex, tokens in
            let region: String? = shape == 1 ? "eu-west-1" : nil
            let serverless = shape == 2
            let model = models[modelIndex]
            var a = TestAttributes(host: "m5.large", region: region, requestModel: model)
            if serverless {
                a.platform = "aws_lambda"
                a.faasMemory = Int64(memory)
            }
            (a.input, a.output, a.cacheRead, a.cacheWrite) = (Int64(tokens[0]), Int64(tokens[1]), Int64(tokens[2] / 3), Int64(tokens[3] / 3))
            let arena = ByteArena()
            let span = makeSpan(arena, kind: .server, durationNanos: duration, attributes: a)
            let cost = catalog.price(span)
            withExtendedLifetime(arena) {}

            // Oracle: exact rationals in nano-USD, computed with the test's own big integers.
            var compute = BigRational.zero
            var lambda = BigRational.zero
            if serverless {
                // price × (bytes / 2^30) × (ns / 1e9) USD × 1e9 nano/USD = price × bytes × ns / 2^30.
                lambda = BigRational(decimal: "0.0000166667").times(memory).times(duration).over(1 << 30)
                    + BigRational(decimal: "0.0000002").times(1_000_000_000)
            } else {
                // price/h × ns / 3.6e12 ns/h × 1e9 nano/USD.
                compute = BigRational(decimal: region == nil ? "0.096" : "0.107").times(duration).times(1_000_000_000).over(3_600_000_000_000)
            }
            let p = Self.llmPrices[model]!
            let read = tokens[2] / 3, write = tokens[3] / 3
            let rest = tokens[0] >= read + write ? tokens[0] - read - write : 0
            // tokens × USD/Mtok / 1e6 × 1e9 = tokens × price × 1000.
            let llm = BigRational(decimal: p.input).times(rest).times(1000)
                + BigRational(decimal: p.cached).times(read).times(1000)
                + BigRational(decimal: p.write).times(write).times(1000)
                + BigRational(decimal: p.output).times(tokens[1]).times(1000)
            let total = compute + lambda + llm

            #expect(cost.outcome == .priced)
            #expect(total.isRoundedHalfEven(to: UInt64(cost.total.value)), "total \(cost.total.value)")
            // The oracle is not vacuous: the neighbours are refused.
            #expect(!total.isRoundedHalfEven(to: UInt64(cost.total.value) + 1))
            #expect(cost.total.value == 0 || !total.isRoundedHalfEven(to: UInt64(cost.total.value) - 1))
            #expect(compute.isRoundedHalfEven(to: UInt64(cost.compute.value)))
            #expect(lambda.isRoundedHalfEven(to: UInt64(cost.serverless.value)))
            #expect(llm.isRoundedHalfEven(to: UInt64(cost.llm.value)))
        }
    }

    @Test("cost.usd strings round half to even to 9 decimals, checked against the digits")
    func upstreamRounding() async {
        // n nano-USD plus a tail t of 10 extra digits: value = (n·1e10 + t) / 1e19 USD.
        await propertyCheck(count: 300, input: Gen.uint64(in: 0...999_999_999_999), Gen.uint64(in: 0...9_999_999_999), Gen.bool()) { n, t, negative in
            let units = n / 1_000_000_000, nanos = n % 1_000_000_000
            let nanoDigits = String(nanos), tailDigits = String(t)
            let text = (negative ? "-" : "") + "\(units)."
                + String(repeating: "0", count: 9 - nanoDigits.count) + nanoDigits
                + String(repeating: "0", count: 10 - tailDigits.count) + tailDigits
            let expectedMagnitude: UInt64 = t > 5_000_000_000 || (t == 5_000_000_000 && n % 2 == 1) ? n + 1 : n
            let arena = ByteArena()
            let span = makeSpan(arena, attributes: .init(cost: .string(text)))
            let cost = (try? testCatalog())?.price(span)
            withExtendedLifetime(arena) {}
            #expect(cost?.total.value == (negative ? -Int64(expectedMagnitude) : Int64(expectedMagnitude)), "\(text)")
        }
    }
}
