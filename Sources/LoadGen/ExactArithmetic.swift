/// Exact integer arithmetic of the reference pricer: every amount is an `Int128` numerator over ONE fixed
/// denominator per catalog (see `ReferencePricer`), so a span's cost is a sum of exact products and a
/// single division, rounded half to even. Every operation checks for overflow and throws.
enum Exact {
    static func mul(_ a: Int128, _ b: Int128) throws(LoadGenError) -> Int128 {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        guard !o else { throw LoadGenError(.arithmeticOverflow, "\(a) × \(b)") }
        return r
    }

    static func mul(_ values: Int128...) throws(LoadGenError) -> Int128 {
        var r: Int128 = 1
        for v in values { r = try mul(r, v) }
        return r
    }

    static func add(_ a: Int128, _ b: Int128) throws(LoadGenError) -> Int128 {
        let (r, o) = a.addingReportingOverflow(b)
        guard !o else { throw LoadGenError(.arithmeticOverflow, "\(a) + \(b)") }
        return r
    }

    /// `numerator / denominator` rounded to the nearest integer, ties to even. `denominator` > 0.
    static func divideHalfEven(_ numerator: Int128, by denominator: Int128) -> Int128 {
        precondition(denominator > 0, "the pricer's denominator is a positive constant")
        var q = numerator / denominator
        var r = numerator % denominator
        if r < 0 {  // make it a floor division
            q -= 1
            r += denominator
        }
        // 0 <= r < d: compare r with d - r (no overflow, unlike 2r).
        let rest = denominator - r
        if r > rest { return q + 1 }
        if r < rest { return q }
        return q & 1 == 0 ? q : q + 1
    }
}

/// An exact decimal read from text: `digits × 10^exponent`, with a sign. Parses
/// `[+-]?digits[.digits]?([eE][+-]?digits)?` (at least one digit in the mantissa), which covers plain
/// decimal strings and Swift's shortest round-trip `Double.description` (e.g. `1e-05`, `1.5e+20`).
/// Rejects everything else (`nan`, `inf`, `0x1p3`, empty, spaces, `1,5`).
struct ExactDecimal: Equatable, Sendable {
    var negative: Bool
    /// Significant digits, no leading zeros (empty = zero).
    var digits: [UInt8]
    var exponent: Int

    init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        guard !bytes.isEmpty else { return nil }
        negative = false
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
            negative = bytes.first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var mantissa: [UInt8] = []
        var fractionDigits = 0
        var sawDot = false
        var sawDigit = false
        while let c = bytes.first, c != UInt8(ascii: "e"), c != UInt8(ascii: "E") {
            if c == UInt8(ascii: ".") {
                guard !sawDot else { return nil }
                sawDot = true
            } else if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                sawDigit = true
                mantissa.append(c - UInt8(ascii: "0"))
                if sawDot { fractionDigits += 1 }
            } else {
                return nil
            }
            bytes = bytes.dropFirst()
        }
        guard sawDigit else { return nil }
        var exp = 0
        if !bytes.isEmpty {
            bytes = bytes.dropFirst()  // e / E
            var expNegative = false
            if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
                expNegative = bytes.first == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty else { return nil }
            for c in bytes {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                // Clamp huge exponents: anything past ±100000 is already far outside every range we use.
                exp = min(exp * 10 + Int(c - UInt8(ascii: "0")), 1_000_000)
            }
            if expNegative { exp = -exp }
        }
        let firstNonZero = mantissa.firstIndex { $0 != 0 } ?? mantissa.count
        digits = Array(mantissa[firstNonZero...])
        exponent = exp - fractionDigits
        while digits.last == 0 {
            digits.removeLast()
            exponent += 1
        }
        if digits.isEmpty {
            exponent = 0
            negative = false
        }
    }

    var isZero: Bool { digits.isEmpty }

    /// The value in units of 10^-9 (nano), rounded half to even; nil when |value| > 1e9 (i.e. > 1e18 nano).
    func nanoUnitsHalfEven() -> Int64? {
        if digits.isEmpty { return 0 }
        // value × 1e9 = digits × 10^(exponent + 9)
        let shift = exponent + 9
        // Number of integer digits of value × 1e9:
        let integerDigitCount = digits.count + shift
        // |value| > 1e9 USD  ⇔  |nano| > 1e18. A 20+-digit integer part is always over.
        if integerDigitCount > 19 { return nil }
        var integerPart: UInt64 = 0
        var rest: ArraySlice<UInt8> = []
        if shift >= 0 {
            for d in digits { integerPart = integerPart * 10 + UInt64(d) }
            for _ in 0..<shift { integerPart *= 10 }
        } else if integerDigitCount > 0 {
            for d in digits[..<integerDigitCount] { integerPart = integerPart * 10 + UInt64(d) }
            rest = digits[integerDigitCount...]
        } else {
            // All digits are below 1 nano; `-integerDigitCount` zeros come first.
            rest = integerDigitCount == 0 ? digits[...] : []
            if integerDigitCount < 0 {
                // 0.000…0ddd nano: strictly below 0.5 → rounds to 0.
                return 0
            }
        }
        // |value| > 1e9 USD is refused; exactly 1e9 is allowed (rest has no trailing zeros, so non-empty
        // means non-zero).
        if integerPart > 1_000_000_000_000_000_000 || (integerPart == 1_000_000_000_000_000_000 && !rest.isEmpty) {
            return nil
        }
        // Round the fraction `rest` (digits after the nano point) half to even.
        if let first = rest.first {
            let roundUp: Bool
            if first > 5 {
                roundUp = true
            } else if first < 5 {
                roundUp = false
            } else if rest.dropFirst().contains(where: { $0 != 0 }) {
                roundUp = true
            } else {
                roundUp = integerPart & 1 == 1
            }
            if roundUp { integerPart += 1 }
        }
        let magnitude = Int64(integerPart)
        return negative ? -magnitude : magnitude
    }

    /// Number of digits after the decimal point (0 for integers).
    var fractionDigits: Int { max(0, -exponent) }

    /// The value × 10^scale as an exact integer; nil if it is not an integer at that scale or too large.
    func scaled(by scale: Int) -> Int128? {
        let shift = exponent + scale
        guard shift >= 0, digits.count + shift <= 36 else { return digits.isEmpty ? 0 : nil }
        var n: Int128 = 0
        for d in digits { n = n * 10 + Int128(d) }
        for _ in 0..<shift { n *= 10 }
        return negative ? -n : n
    }
}
