/// Exact conversion between USD decimal strings and integer nano-USD, without floating point.
///
/// Guarantees: ``format(nanoUSD:)`` prints every `Int128` exactly, with 9 decimals and a leading `-` for
/// negative amounts; ``parse(_:maxNanoUSD:)`` accepts only plain non-negative decimals (`12`, `0.5`,
/// `0.000000001`: ASCII digits, at most one `.`, at most 9 decimals, no sign, no exponent, no spaces) up
/// to `maxNanoUSD`, and returns the exact nano-USD count; everything else throws.
public enum USDDecimal {
    /// Why a string is not an accepted amount.
    public struct ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The largest amount the API accepts: 1e12 USD.
    public static let maxAcceptedNanoUSD: Int128 = 1_000_000_000_000 * 1_000_000_000

    /// `"0.000123456"` → 123456.
    public static func parse(_ text: String, maxNanoUSD: Int128 = maxAcceptedNanoUSD) throws(ParseError) -> Int128 {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw ParseError(description: "empty amount") }
        guard bytes.count <= 40 else { throw ParseError(description: "amount too long") }
        var whole: Int128 = 0
        var fraction: Int128 = 0
        var fractionDigits = 0
        var wholeDigits = 0
        var seenPoint = false
        for b in bytes {
            switch b {
            case UInt8(ascii: "."):
                guard !seenPoint else { throw ParseError(description: "more than one decimal point in '\(text)'") }
                seenPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = Int128(b - UInt8(ascii: "0"))
                if seenPoint {
                    fractionDigits += 1
                    guard fractionDigits <= 9 else { throw ParseError(description: "more than 9 decimals in '\(text)'") }
                    fraction = fraction * 10 + digit  // Safe: at most 9 digits.
                } else {
                    wholeDigits += 1
                    // Safe: at most 40 digits were checked above, but 40 digits could pass Int128: bound first.
                    guard whole <= maxNanoUSD / 1_000_000_000 else { throw ParseError(description: "amount over the limit") }
                    whole = whole * 10 + digit
                }
            case UInt8(ascii: "-"):
                throw ParseError(description: "negative amount '\(text)'")
            default:
                throw ParseError(description: "not a plain decimal number: '\(text)'")
            }
        }
        guard wholeDigits > 0 else { throw ParseError(description: "no digits before the decimal point in '\(text)'") }
        guard !seenPoint || fractionDigits > 0 else { throw ParseError(description: "no digits after the decimal point in '\(text)'") }
        for _ in fractionDigits..<9 { fraction *= 10 }  // Safe: < 1e9.
        guard whole <= maxNanoUSD / 1_000_000_000 else { throw ParseError(description: "amount over the limit") }
        let nanos = whole * 1_000_000_000 + fraction  // Safe: whole ≤ max/1e9, so ≤ max + 1e9.
        guard nanos <= maxNanoUSD else { throw ParseError(description: "amount over the limit") }
        return nanos
    }

    /// 123456 → `"0.000123456"`; -5 → `"-0.000000005"`.
    public static func format(nanoUSD: Int128) -> String {
        let negative = nanoUSD < 0
        let magnitude = nanoUSD.magnitude  // UInt128: no overflow for Int128.min.
        let whole = magnitude / 1_000_000_000
        let fraction = magnitude % 1_000_000_000
        var fractionText = String(fraction)
        if fractionText.count < 9 { fractionText = String(repeating: "0", count: 9 - fractionText.count) + fractionText }
        return (negative ? "-" : "") + String(whole) + "." + fractionText
    }
}
