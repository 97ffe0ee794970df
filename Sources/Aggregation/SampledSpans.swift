public import TraceContext

/// How many spans one stored span stands for under OpenTelemetry consistent-probability sampling
/// (`ot=th:<hex>` in `tracestate`; see docs/ledger.md, "Sampling").
///
/// Guarantees: the adjusted count `2^56 / (2^56 − T)` is computed exactly in integers and rounded ONCE
/// per span, half to even, to millionths of a span (`micro`) or to a whole span (`whole`); a span
/// without a threshold stands for exactly 1. A single span's adjusted count is capped at 2^32 (a
/// sampling probability below 2.3e-10 is not a real configuration), so that per-span values stay far
/// inside `Int64` and sums are bounded by the epoch's slice budget. Never traps on any threshold.
public enum SampledSpans {
    /// Micro-spans per span.
    public static let microPerSpan: Int64 = 1_000_000
    /// The largest adjusted count one span may claim.
    public static let maxAdjustedCount: UInt64 = 1 << 32

    /// The adjusted count in millionths of a span, rounded half to even (1 000 000 without a threshold).
    public static func micro(_ threshold: OTelThreshold?) -> Int64 {
        guard let threshold else { return microPerSpan }
        return Int64(rounded(threshold, scale: UInt64(microPerSpan)))
    }

    /// The adjusted count rounded half to even to a whole span (1 without a threshold).
    public static func whole(_ threshold: OTelThreshold?) -> Int64 {
        guard let threshold else { return 1 }
        return Int64(rounded(threshold, scale: 1))
    }

    /// round_half_even(scale × 2^56 / (2^56 − T)), capped at scale × 2^32. Safe: with the cap the
    /// denominator is ≥ 2^24, so the quotient ≤ scale × 2^32 ≤ 2^52 fits; `scale` ≤ 2^20.
    static func rounded(_ threshold: OTelThreshold, scale: UInt64) -> UInt64 {
        let (numerator, denominator) = threshold.adjustedCountRatio
        if denominator < numerator / maxAdjustedCount { return scale * maxAdjustedCount }
        let product = scale.multipliedFullWidth(by: numerator)
        let (q, r) = denominator.dividingFullWidth(product)
        // Half to even: compare 2r with the denominator (2r < 2^58, no overflow).
        if 2 * r > denominator || (2 * r == denominator && q & 1 == 1) { return q + 1 }
        return q
    }
}
