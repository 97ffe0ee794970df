/// Exact decimal text ↔ integer billionths (nano-USD for money, billionths for a ratio), with no floating
/// point anywhere.
///
/// Guarantees: ``billionths(_:)`` accepts exactly `DIGITS[.DIGITS]` with 1...9 fractional digits (a
/// non-negative decimal, no sign, no exponent, no spaces) whose value is at most ``maxUnits`` units, and
/// returns `value × 10⁹` exactly; anything else is nil. ``text(billionths:)`` is its inverse for every
/// value it accepts (up to trailing zeros).
public enum ExactDecimal {
    /// The largest accepted whole part: 10⁹ (one billion USD; nano-USD of it fit an `Int64`).
    public static let maxUnits: Int64 = 1_000_000_000

    /// `"15.00"` → 15_000_000_000; nil for anything that is not an exact non-negative decimal of at most
    /// 9 fractional digits and at most ``maxUnits``.
    public static func billionths(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = bytes[..<(dot ?? bytes.endIndex)]
        let fraction = dot.map { bytes[($0 + 1)...] } ?? []
        guard !whole.isEmpty, whole.count <= 10, fraction.count <= 9 else { return nil }
        if dot != nil, fraction.isEmpty { return nil }
        guard whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else { return nil }
        // Safe: at most 10 digits (< 10¹⁰) times 10⁹ is below 2⁶³ (≈ 9.22 × 10¹⁸).
        var units: Int64 = 0
        for digit in whole { units = units * 10 + Int64(digit - UInt8(ascii: "0")) }
        guard units <= maxUnits else { return nil }
        var fractional: Int64 = 0
        for position in 0..<9 {
            let digit = position < fraction.count ? Int64(fraction[fraction.startIndex + position] - UInt8(ascii: "0")) : 0
            fractional = fractional * 10 + digit
        }
        let value = units * 1_000_000_000 + fractional
        // Past the whole-part bound only by a fraction: 1000000000.5 is refused too.
        guard value <= maxUnits * 1_000_000_000 else { return nil }
        return value
    }

    /// 15_000_000_000 → `"15.000000000"`; a negative value gets a leading `-`. Exact for any `Int128`.
    public static func text(billionths value: Int128) -> String {
        let negative = value < 0
        let magnitude = negative ? UInt128(bitPattern: 0 &- value) : UInt128(value)
        let whole = magnitude / 1_000_000_000
        let fraction = String(magnitude % 1_000_000_000)
        let padded = String(repeating: "0", count: 9 - fraction.count) + fraction
        return (negative ? "-" : "") + "\(whole).\(padded)"
    }

    /// `text(billionths:)` without trailing fractional zeros (`"15"`, `"0.8"`), for people.
    public static func shortText(billionths value: Int128) -> String {
        var text = Self.text(billionths: value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A decimal integer text (as PostgreSQL prints a `numeric` sum) → `Int128`, saturating beyond its
    /// range; nil when not an optionally signed run of digits.
    public static func integer(_ text: String) -> Int128? {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") { negative = true; bytes = bytes.dropFirst() }
        guard !bytes.isEmpty, bytes.allSatisfy(isDigit) else { return nil }
        var value: Int128 = 0
        for digit in bytes {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.addingReportingOverflow(Int128(digit - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return negative ? Int128.min : Int128.max }
            value = next
        }
        return negative ? -value : value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
