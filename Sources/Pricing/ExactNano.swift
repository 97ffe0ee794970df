/// An exact non-negative amount of nano-USD: `whole + fraction / denominator`, with
/// `0 <= fraction < denominator`. The cost components (compute, serverless, LLM) are each added to
/// one of these without rounding; the span's total is rounded ONCE, half to even, at the end
/// (docs/pricing.md).
///
/// `denominator` is a common multiple of every component's divisor (see the `*Divisor` constants), so
/// each component's exact remainder converts to it without loss.
struct ExactNano: Equatable {
    var whole: UInt128
    var fraction: UInt128

    static let zero = ExactNano(whole: 0, fraction: 0)

    /// 2^42 · 3^2 · 5^14 = lcm(computeDivisor, gbSecondDivisor, invocationDivisor, llmDivisor)
    /// = 241,591,910,400,000,000,000,000 (≈ 2.4e23).
    static let denominator: UInt128 = (1 << 42) * 9 * 6_103_515_625

    /// compute: pico-USD/hour × ns → nano-USD: ÷ (3.6e12 ns/h × 1e3 pico/nano) = 3.6e15 = 2^16·3^2·5^14.
    static let computeDivisor: UInt128 = 3_600_000_000_000_000
    /// serverless: pico-USD/GB-s × bytes × ns → nano-USD: ÷ (2^30 B/GB × 1e9 ns/s × 1e3) = 2^42·5^12.
    static let gbSecondDivisor: UInt128 = (1 << 30) * 1_000_000_000_000
    /// invocation: pico-USD → nano-USD: ÷ 1e3.
    static let invocationDivisor: UInt128 = 1_000
    /// LLM: tokens × pico-USD/Mtok → nano-USD: ÷ (1e6 tok/Mtok × 1e3) = 1e9.
    static let llmDivisor: UInt128 = 1_000_000_000

    /// `numerator / divisor` exactly. `divisor` must divide `denominator`.
    init(numerator: UInt128, divisor: UInt128) {
        assert(Self.denominator % divisor == 0)
        let (q, r) = numerator.quotientAndRemainder(dividingBy: divisor)
        // Safe: r < divisor, so r × (denominator / divisor) < denominator ≈ 2.4e23.
        self.init(whole: q, fraction: r * (Self.denominator / divisor))
    }

    init(whole: UInt128, fraction: UInt128) {
        assert(fraction < Self.denominator)
        self.whole = whole
        self.fraction = fraction
    }

    /// Exact sum. Safe: fractions are < 2.4e23 each, so their sum cannot wrap; wholes are bounded by
    /// the callers' proofs (each component < 2^125, at most four components are added).
    static func + (a: ExactNano, b: ExactNano) -> ExactNano {
        var whole = a.whole + b.whole
        var fraction = a.fraction + b.fraction
        if fraction >= denominator {
            fraction -= denominator
            whole += 1
        }
        return ExactNano(whole: whole, fraction: fraction)
    }

    /// Rounded half to even to an integer number of nano-USD.
    var roundedHalfEven: UInt128 {
        let twice = fraction << 1  // Safe: fraction < 2.4e23.
        if twice > Self.denominator { return whole + 1 }
        if twice == Self.denominator { return whole & 1 == 1 ? whole + 1 : whole }
        return whole
    }
}

/// Half-even rounding of a signed integer count of nano-USD from digit-level facts: `magnitude` is the
/// truncated magnitude, `roundDigit` the first dropped digit, `sticky` whether any later dropped digit is
/// non-zero.
@inline(__always)
func roundHalfEven(magnitude: UInt64, roundDigit: UInt8, sticky: Bool) -> UInt64 {
    if roundDigit > 5 || (roundDigit == 5 && sticky) { return magnitude + 1 }
    if roundDigit == 5 && !sticky { return magnitude & 1 == 1 ? magnitude + 1 : magnitude }
    return magnitude
}

/// Reading of an upstream `cost.usd` value (rule 1).
enum UpstreamCost {
    /// 1e9 USD in nano-USD: a larger magnitude is invalid.
    static let magnitudeMaxNano: UInt64 = 1_000_000_000_000_000_000

    /// A decimal text (`[+-]digits[.digits][(e|E)[+-]digits]`, at least one digit in the mantissa),
    /// exactly, rounded half to even to 9 decimals, in nano-USD. nil when it is not a decimal number or
    /// its magnitude is over 1e9 USD. Works for any length of text without overflow.
    static func nanoUSD(decimalText bytes: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        let n = bytes.count
        var negative = false
        if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        // Pass 1: find the mantissa's extent and the exponent.
        let mantissaStart = i
        var intDigits = 0
        var fracDigits = 0
        var seenPoint = false
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: ".") {
                if seenPoint { return nil }
                seenPoint = true
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if seenPoint { fracDigits += 1 } else { intDigits += 1 }
            } else {
                break
            }
            i += 1
        }
        let mantissaEnd = i
        guard intDigits + fracDigits > 0 else { return nil }
        var exponent = 0
        if i < n {
            guard bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return nil }
            i += 1
            var expNegative = false
            if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < n else { return nil }
            while i < n {
                let b = bytes[i]
                guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
                // Saturate: beyond 1e6 the value is 0 or out of range whatever the digits are.
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(b &- UInt8(ascii: "0")) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }
        // The value × 1e9 has its decimal point after `pointPosition` mantissa digits.
        // Safe: |exponent| <= 1e7 and intDigits <= bytes.count, far from Int.max.
        let pointPosition = intDigits + exponent + 9
        // Pass 2: walk the digits (skipping the '.'), k = index among digits.
        var magnitude: UInt64 = 0
        var roundDigit: UInt8 = 0
        var sticky = false
        var k = 0
        var significantIntegerDigits = 0
        var j = mantissaStart
        while j < mantissaEnd {
            let b = bytes[j]
            j += 1
            if b == UInt8(ascii: ".") { continue }
            let d = b &- UInt8(ascii: "0")
            if k < pointPosition {
                if magnitude != 0 || d != 0 { significantIntegerDigits += 1 }
                // 20 significant digits is >= 1e19 > 1e18: out of range.
                if significantIntegerDigits > 19 { return nil }
                // Safe: at most 19 significant digits, so magnitude < 1e19 < UInt64.max (1.8e19).
                magnitude = magnitude * 10 + UInt64(d)
            } else if k == pointPosition {
                roundDigit = d
            } else if d != 0 {
                sticky = true
            }
            k += 1
        }
        // Implicit zeros when the point lies right of the last digit. (When it lies left of the first
        // digit, k never meets it: the first dropped digit is an implicit 0 and the value rounds down.)
        if k < pointPosition && magnitude != 0 {
            var zeros = pointPosition - k
            while zeros > 0 {
                // Leaves the loop within 19 steps: magnitude >= 1 grows tenfold each time.
                if magnitude > magnitudeMaxNano / 10 + 1 { return nil }
                magnitude *= 10  // Safe: magnitude <= 1e17 + 1 before.
                zeros -= 1
            }
        }
        if magnitude > magnitudeMaxNano { return nil }
        if magnitude == magnitudeMaxNano && (roundDigit != 0 || sticky) { return nil }
        let rounded = roundHalfEven(magnitude: magnitude, roundDigit: roundDigit, sticky: sticky)
        // Safe: rounded <= 1e18 < Int64.max.
        return negative ? -Int64(rounded) : Int64(rounded)
    }

    static func nanoUSD(decimalText text: String) -> Int64? {
        var text = text
        return text.withUTF8 { nanoUSD(decimalText: UnsafeRawBufferPointer($0)) }
    }

    /// A double through its shortest round-trip decimal form (Swift's `description`), exactly.
    static func nanoUSD(double value: Double) -> Int64? {
        guard value.isFinite else { return nil }
        // Cheap pre-check: far outside the range, no need to format.
        guard value.magnitude <= 2e9 else { return nil }
        return nanoUSD(decimalText: value.description)
    }

    /// An integer number of USD.
    static func nanoUSD(int value: Int64) -> Int64? {
        guard value.magnitude <= 1_000_000_000 else { return nil }
        // Safe: |value| <= 1e9, so |value × 1e9| <= 1e18 < Int64.max.
        return value * 1_000_000_000
    }
}
