/// An exact, non-negative price in USD, parsed from a decimal string (docs/pricing.md: prices are
/// decimal STRINGS). Stored as an integer count of pico-USD (1e-12 USD).
///
/// Guarantees: `0 <= picoUSD <= maxPicoUSD` (at most 100,000 USD per unit, at most 12 fractional
/// digits). Both bounds are what the cost arithmetic's `// Safe:` proofs rely on (see `ExactNano`).
/// A string with more fractional digits is refused, never rounded: a catalog price is taken as written.
public struct DecimalPrice: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The price in units of 1e-12 USD.
    public let picoUSD: Int64

    /// Fractional digits kept exactly.
    public static let fractionDigitsMax = 12
    /// 100,000 USD in pico-USD: the largest price a catalog may carry.
    public static let maxPicoUSD: Int64 = 100_000 * 1_000_000_000_000
    public static let zero = DecimalPrice(uncheckedPicoUSD: 0)

    init(uncheckedPicoUSD: Int64) {
        assert(uncheckedPicoUSD >= 0 && uncheckedPicoUSD <= Self.maxPicoUSD)
        self.picoUSD = uncheckedPicoUSD
    }

    /// Why a string is not a valid price.
    public enum ParseFailure: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case negative
        case notDecimal
        case tooManyFractionDigits
        case tooLarge

        public var description: String {
            switch self {
            case .empty: "empty price"
            case .negative: "price must not be negative"
            case .notDecimal: "not a decimal number (expected digits with an optional '.' fraction, e.g. \"0.096\")"
            case .tooManyFractionDigits: "more than \(DecimalPrice.fractionDigitsMax) fractional digits"
            case .tooLarge: "price above 100000 USD"
            }
        }
    }

    /// Parses `[+]digits[.digits]` (also `.5` and `5.`). No exponent, no spaces, no sign but `+`.
    public init(parsing text: some StringProtocol) throws(ParseFailure) {
        var utf8 = Array(text.utf8)[...]
        guard !utf8.isEmpty else { throw .empty }
        if utf8.first == UInt8(ascii: "-") { throw .negative }
        if utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var digits = 0
        var seenPoint = false
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { throw .notDecimal }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .notDecimal }
            let digit = Int64(byte &- UInt8(ascii: "0"))
            digits += 1
            if seenPoint {
                fractionDigits += 1
                guard fractionDigits <= Self.fractionDigitsMax else {
                    // Trailing zeros beyond 12 digits change nothing: accept them.
                    if digit == 0 { fractionDigits -= 1; continue }
                    throw .tooManyFractionDigits
                }
                // Safe: fraction < 10^12 before, so < 10^13 after.
                fraction = fraction * 10 + digit
            } else {
                // Leading zeros aside, more than 6 whole digits is above the 100,000 USD bound.
                guard whole <= 100_000 else { throw .tooLarge }
                // Safe: whole <= 100,000 before, so <= 1,000,009 after.
                whole = whole * 10 + digit
            }
        }
        guard digits > 0 else { throw .notDecimal }
        var scale: Int64 = 1
        for _ in fractionDigits..<Self.fractionDigitsMax { scale *= 10 }
        guard whole <= 100_000 else { throw .tooLarge }
        // Safe: whole <= 1e5 and fraction * scale < 1e12, so the sum <= 1.000001e17 < Int64.max.
        let pico = whole * 1_000_000_000_000 + fraction * scale
        guard pico <= Self.maxPicoUSD else { throw .tooLarge }
        self.picoUSD = pico
    }

    public static func < (a: DecimalPrice, b: DecimalPrice) -> Bool { a.picoUSD < b.picoUSD }

    /// Shortest exact decimal form, e.g. `0.096`, `15`, `0.0000166667`.
    public var description: String {
        let whole = picoUSD / 1_000_000_000_000
        var fraction = picoUSD % 1_000_000_000_000
        if fraction == 0 { return String(whole) }
        var digits = 12
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }
}
