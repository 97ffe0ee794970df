/// The price of one span by the reference pricer.
public struct ReferencePrice: Sendable, Hashable {
    /// How the span was priced (docs/pricing.md).
    public enum Outcome: Sendable, Hashable {
        /// Rule 1: a valid upstream `cost.usd`.
        case upstream
        /// Rule 2 with at least one matching component.
        case priced
        /// Rule 2, nothing matched: cost 0.
        case unpriced
        /// Rule 3: excluded environment (not in any cost table).
        case excluded
    }

    /// Integer nano-USD, rounded once (half to even) from the exact sum.
    public var costNanoUSD: Int64
    public var outcome: Outcome
    /// end < start: priced with duration 0 (rule 4).
    public var clamped: Bool
    /// A `cost.usd` was present but invalid and was ignored.
    public var invalidUpstreamCost: Bool

    public init(costNanoUSD: Int64, outcome: Outcome, clamped: Bool = false, invalidUpstreamCost: Bool = false) {
        self.costNanoUSD = costNanoUSD
        self.outcome = outcome
        self.clamped = clamped
        self.invalidUpstreamCost = invalidUpstreamCost
    }
}

/// Prices spans by docs/pricing.md with exact rationals, rounding once per span half to even to integer
/// nano-USD. Written independently of the `Pricing` module on purpose: it is the oracle that the load
/// test's manifest is built with. A value type; safe to share across tasks.
public struct ReferencePricer: Sendable {
    public let catalog: ReferenceCatalog
    /// A pricer over one catalog (small; lookups are linear scans, kept simple on purpose).
    public init(catalog: ReferenceCatalog) {
        self.catalog = catalog
    }

    /// Parses a `cost.usd` value: nano-USD, or nil when invalid (NaN, ±inf, non-decimal string,
    /// |v| > 1e9 USD, or a non-numeric type).
    public static func upstreamNanoUSD(_ value: AttributeValue) -> Int64? {
        switch value {
        case .int(let v):
            guard v.magnitude <= 1_000_000_000 else { return nil }
            return v * 1_000_000_000
        case .double(let v):
            guard v.isFinite else { return nil }
            // Shortest round-trip decimal (Swift's `description`), then exact half-even rounding.
            return ExactDecimal(v.description)?.nanoUnitsHalfEven()
        case .string(let s):
            return ExactDecimal(s)?.nanoUnitsHalfEven()
        case .bool, .other:
            return nil
        }
    }

    /// The cost of one span.
    /// - Throws: `LoadGenError.Code.arithmeticOverflow` only for values far outside anything realistic
    ///   (e.g. durations of centuries times enormous prices); never for ordinary bad input.
    public func price(_ span: SpanFacts) throws(LoadGenError) -> ReferencePrice {
        if let env = span.environment, catalog.excludedEnvironments.contains(env) {
            return ReferencePrice(costNanoUSD: 0, outcome: .excluded)
        }
        let clamped = span.endTimeNanos < span.startTimeNanos
        var invalidUpstream = false
        if let upstream = span.upstreamCost {
            if let nano = Self.upstreamNanoUSD(upstream) {
                return ReferencePrice(costNanoUSD: nano, outcome: .upstream, clamped: clamped)
            }
            invalidUpstream = true
        }
        let durationNanos = Int128(clamped ? 0 : span.endTimeNanos - span.startTimeNanos)
        let start = span.startTimeNanos > UInt64(Int64.max) ? Int64.max : Int64(span.startTimeNanos)
        // Every component is an exact numerator over the ONE denominator D = 3600 × 2^30 × 10^scale
        // nano-USD (prices are integers of 10^-scale USD):
        //   compute    USD/h × ns / 3.6e12 USD            = p × ns / 3600 nano     → p × ns × 2^30 / D
        //   serverless USD/GB-s × bytes/2^30 × ns/1e9 USD = p × bytes × ns / 2^30 → p × bytes × ns × 3600 / D
        //   invocation USD                                = p × 1e9 nano          → p × 1e9 × 3600 × 2^30 / D
        //   LLM        tokens × USD/Mtok                  = tokens × p × 1000     → … × 1000 × 3600 × 2^30 / D
        let twoPow30: Int128 = 1 << 30
        var pow10: Int128 = 1
        for _ in 0..<catalog.scale { pow10 *= 10 }
        let denominator = 3600 * twoPow30 * pow10
        var numerator: Int128 = 0

        // Unpriced means: the catalog has no price for what the span is charged for. A resource entry
        // counts for any span (a nested span is priced at 0) unless the span names a model with no price
        // and nothing else charged it. Only entry spans are charged for instance or serverless time.
        var resourceMatched = false
        var llmMatched = false
        if span.isServerless {
            if let platform = span.cloudPlatform,
                let entry = ReferenceCatalog.effective(
                    catalog.serverlessByPlatform[platform] ?? [], from: \.fromNanos, at: start)
            {
                resourceMatched = true
                if span.isEntry {
                    let bytes = Int128(max(0, span.faasMaxMemoryBytes ?? 0))
                    numerator = try Exact.add(numerator, Exact.mul(entry.usdPerGBSecond, bytes, durationNanos, 3600))
                    numerator = try Exact.add(
                        numerator, Exact.mul(entry.usdPerInvocation, 1_000_000_000, 3600, twoPow30))
                }
            }
        } else if let hostType = span.hostType,
            let entry = ReferenceCatalog.effective(
                catalog.computeByHostType[hostType] ?? [], from: \.fromNanos, at: start)
        {
            resourceMatched = true
            if span.isEntry {
                // Region price if the chosen entry has one for the span's region, else its default.
                let perHour = span.cloudRegion.flatMap { entry.regions[$0] } ?? entry.usdPerHour
                numerator = try Exact.add(numerator, Exact.mul(perHour, durationNanos, twoPow30))
            }
        }

        if let model = span.model, let entry = llmEntry(model: model, at: start) {
            llmMatched = true
            let input = Int128(span.inputTokens ?? 0)
            let output = Int128(span.outputTokens ?? 0)
            let cacheRead = Int128(span.cacheReadTokens ?? 0)
            let cacheWrite = Int128(span.cacheCreationTokens ?? 0)
            // input_tokens includes the cached ones; the rest is never below 0.
            let plainInput = max(0, input - cacheRead - cacheWrite)
            var perMillion = try Exact.mul(entry.input, plainInput)
            perMillion = try Exact.add(perMillion, Exact.mul(entry.cachedInput, cacheRead))
            perMillion = try Exact.add(perMillion, Exact.mul(entry.cacheWrite, cacheWrite))
            perMillion = try Exact.add(perMillion, Exact.mul(entry.output, output))
            numerator = try Exact.add(numerator, Exact.mul(perMillion, 1000, 3600, twoPow30))
        }

        let matched = llmMatched || (resourceMatched && (span.isEntry || span.model == nil))
        let rounded = Exact.divideHalfEven(numerator, by: denominator)
        // The same bound as Pricing (README, decisions): a computed cost over 1e9 USD (absurd duration or
        // token counts) charges nothing and the span is unpriced.
        if matched, rounded > 1_000_000_000_000_000_000 {
            return ReferencePrice(costNanoUSD: 0, outcome: .unpriced, clamped: clamped, invalidUpstreamCost: invalidUpstream)
        }
        guard rounded >= Int128(Int64.min), rounded <= Int128(Int64.max) else {
            throw LoadGenError(.arithmeticOverflow, "span cost does not fit in Int64 nano-USD")
        }
        return ReferencePrice(
            costNanoUSD: Int64(rounded), outcome: matched ? .priced : .unpriced, clamped: clamped,
            invalidUpstreamCost: invalidUpstream)
    }

    /// The first glob (file order) matching the whole model name; among the entries with that same glob,
    /// the one effective at `start`. A glob whose entries all start later does not match.
    func llmEntry(model: String, at start: Int64) -> ReferenceCatalog.LLM? {
        var tried: Set<String> = []
        for e in catalog.llm where !tried.contains(e.glob) {
            tried.insert(e.glob)
            guard Glob.matches(e.glob, model) else { continue }
            if let chosen = ReferenceCatalog.effective(
                catalog.llm.filter { $0.glob == e.glob }, from: \.fromNanos, at: start)
            {
                return chosen
            }
        }
        return nil
    }
}
