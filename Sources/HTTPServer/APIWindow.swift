/// A look-back window of the read API (`?window=24h`): `N` + `m`, `h` or `d`, 1 minute ... 31 days.
///
/// Guarantees: ``minutes`` is in 1...44640; ``hours`` is the number of whole hour buckets the window
/// covers (rounded up, the current hour included), in 1...744; ``text`` is the canonical spelling.
public struct APIWindow: Sendable, Equatable {
    public let minutes: Int
    public var hours: Int { (minutes + 59) / 60 }  // Safe: minutes ≤ 44640.
    public let text: String

    /// 31 days in minutes.
    public static let maxMinutes = 31 * 24 * 60

    public struct ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Parses `30m`, `24h`, `7d`. Throws for anything else, zero, or more than 31 days.
    public init(parsing text: String) throws(ParseError) {
        let bytes = Array(text.utf8)
        guard let unit = bytes.last, bytes.count >= 2, bytes.count <= 7 else {
            throw ParseError(description: "window must look like 30m, 24h or 7d (at most 31d), got '\(text)'")
        }
        let digits = bytes.dropLast()
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let n = Int(String(decoding: digits, as: UTF8.self)) else {
            throw ParseError(description: "window must look like 30m, 24h or 7d (at most 31d), got '\(text)'")
        }
        let perUnit: Int
        switch unit {
        case UInt8(ascii: "m"): perUnit = 1
        case UInt8(ascii: "h"): perUnit = 60
        case UInt8(ascii: "d"): perUnit = 1440
        default: throw ParseError(description: "window unit must be m, h or d, got '\(text)'")
        }
        // Safe: n < 10^6 (≤ 6 digits), × 1440 < 2^31.
        let minutes = n * perUnit
        guard minutes >= 1, minutes <= Self.maxMinutes else {
            throw ParseError(description: "window must be 1m ... 31d, got '\(text)'")
        }
        self.minutes = minutes
        self.text = "\(n)\(String(decoding: [unit], as: UTF8.self))"
    }
}
