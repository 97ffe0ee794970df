/// An integer amount of nano-USD (1e-9 USD). Sums trap on overflow (±9.2e9 USD per value).
/// All money in traceledger is this type or a plain `Int64` of nano-USD at a storage boundary.
public struct NanoUSD: Hashable, Comparable, Sendable, AdditiveArithmetic, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static let zero = NanoUSD(0)
    public static func + (a: NanoUSD, b: NanoUSD) -> NanoUSD { NanoUSD(a.value + b.value) }
    public static func - (a: NanoUSD, b: NanoUSD) -> NanoUSD { NanoUSD(a.value - b.value) }
    public static func < (a: NanoUSD, b: NanoUSD) -> Bool { a.value < b.value }
    /// Exact decimal USD with 9 fractional digits, e.g. `-0.000001234`.
    public var description: String {
        let neg = value < 0
        let mag = value.magnitude
        let units = mag / 1_000_000_000
        let frac = String(mag % 1_000_000_000)
        return (neg ? "-" : "") + "\(units)." + String(repeating: "0", count: 9 - frac.count) + frac
    }
}

/// How a span was priced (docs/pricing.md).
public enum PricingOutcome: UInt8, Sendable {
    /// Priced from an upstream `cost.usd` attribute (rule 1).
    case upstream
    /// Priced by the catalog (rule 2) with at least one matching component.
    case priced
    /// Nothing matched: cost 0, counted as unpriced.
    case unpriced
    /// Excluded environment (rule 3): not priced and not written to the cost tables.
    case excluded
}

/// The price of one span. `total` is rounded ONCE, half to even, from the exact sum of the components;
/// each component is that component's exact value rounded half to even on its own, so the components
/// may differ from `total` by a few nano-USD (they are for breakdowns; `total` is the ledger's cost).
public struct SpanCost: Sendable, Equatable {
    public var total: NanoUSD
    public var compute: NanoUSD
    public var serverless: NanoUSD
    public var llm: NanoUSD
    public var outcome: PricingOutcome
    /// end < start: priced with duration 0 (rule 4).
    public var clamped: Bool
    /// A `cost.usd` attribute was present but invalid (NaN, ±inf, not a decimal, |v| > 1e9): ignored.
    public var invalidUpstreamCost: Bool
    /// Tokens as read for the LLM component (0 when absent): input includes cached tokens.
    public var inputTokens: Int64
    public var outputTokens: Int64
    /// Rule 2 computed more than 1e9 USD for this one span (absurd duration or token counts): nothing
    /// was charged and the outcome is `unpriced`. (Added by Pricing; false everywhere else.)
    public var outOfRange: Bool

    public init(
        total: NanoUSD = .zero, compute: NanoUSD = .zero, serverless: NanoUSD = .zero, llm: NanoUSD = .zero,
        outcome: PricingOutcome, clamped: Bool = false, invalidUpstreamCost: Bool = false,
        inputTokens: Int64 = 0, outputTokens: Int64 = 0, outOfRange: Bool = false
    ) {
        self.total = total
        self.compute = compute
        self.serverless = serverless
        self.llm = llm
        self.outcome = outcome
        self.clamped = clamped
        self.invalidUpstreamCost = invalidUpstreamCost
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.outOfRange = outOfRange
    }
}
