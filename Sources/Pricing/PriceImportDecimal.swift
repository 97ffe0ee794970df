/// Why `traceledger pricing import` refused an input file: the file and the reason (with a byte offset
/// or a key where known).
public struct PriceImportError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// Exact conversion of a decimal number's TEXT (JSON number grammar, exponent allowed: `2.5e-06`) into
/// a ``DecimalPrice``, optionally scaled by a power of ten (per token → per million tokens is `+6`).
///
/// Guarantees: no floating point anywhere: the digits are moved, never computed; a value that would
/// need more than ``DecimalPrice/fractionDigitsMax`` fractional digits, is negative or is above the
/// catalog's bound is refused (thrown), never rounded.
enum ExactDecimalText {
    /// Why a number text cannot become a price.
    enum Failure: Error, Equatable, CustomStringConvertible {
        case notANumber(String)
        case negative(String)
        case price(String, DecimalPrice.ParseFailure)

        var description: String {
            switch self {
            case let .notANumber(t): "\(t.debugDescription) is not a decimal number"
            case let .negative(t): "\(t) is negative"
            case let .price(t, why): "\(t): \(why)"
            }
        }
    }

    /// The largest exponent magnitude considered; anything beyond is far outside a price's range.
    static let exponentMax = 400

    /// `text` × 10^`shift` as a plain decimal string (no exponent), e.g. (`2.5e-06`, 6) → `2.5`.
    static func plainDecimal(_ text: String, shift: Int) throws(Failure) -> String {
        var bytes = Array(text.utf8)[...]
        guard !bytes.isEmpty else { throw .notANumber(text) }
        if bytes.first == UInt8(ascii: "-") {
            // "-0", "-0.0", "-0e5" are zero; any other negative value is refused.
            bytes = bytes.dropFirst()
            let mantissa = bytes.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
            if mantissa.contains(where: { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }) { throw .negative(text) }
        }
        var digits: [UInt8] = []
        var pointPosition: Int?  // digits before the point
        var exponent = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let b = bytes[index]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digits.append(b)
            } else if b == UInt8(ascii: ".") {
                guard pointPosition == nil else { throw .notANumber(text) }
                pointPosition = digits.count
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                let rest = bytes[bytes.index(after: index)...]
                var sign = 1
                var expDigits = rest
                if let first = rest.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                    sign = first == UInt8(ascii: "-") ? -1 : 1
                    expDigits = rest.dropFirst()
                }
                guard !expDigits.isEmpty, expDigits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                    throw .notANumber(text)
                }
                var value = 0
                for d in expDigits {
                    value = value * 10 + Int(d - UInt8(ascii: "0"))
                    guard value <= exponentMax else { throw .price(text, .tooLarge) }
                }
                exponent = sign * value
                break
            } else {
                throw .notANumber(text)
            }
            index = bytes.index(after: index)
        }
        guard !digits.isEmpty else { throw .notANumber(text) }
        // value = 0.digits... : digits × 10^(exponent + shift − fractional digit count)
        let fractional = digits.count - (pointPosition ?? digits.count)
        let power = exponent + shift - fractional
        if !digits.contains(where: { $0 != UInt8(ascii: "0") }) { return "0" }
        while let first = digits.first, first == UInt8(ascii: "0"), digits.count > 1 { digits.removeFirst() }
        if power >= 0 {
            guard digits.count + power <= 40 else { throw .price(text, .tooLarge) }
            return String(decoding: digits + Array(repeating: UInt8(ascii: "0"), count: power), as: UTF8.self)
        }
        let fractionCount = -power
        guard fractionCount <= exponentMax + 40 else { throw .price(text, .tooManyFractionDigits) }
        if digits.count > fractionCount {
            let whole = digits.prefix(digits.count - fractionCount)
            let fraction = digits.suffix(fractionCount)
            return String(decoding: whole, as: UTF8.self) + "." + String(decoding: fraction, as: UTF8.self)
        }
        let zeros = Array(repeating: UInt8(ascii: "0"), count: fractionCount - digits.count)
        return "0." + String(decoding: zeros + digits, as: UTF8.self)
    }

    /// `text` × 10^`shift` as a price (trailing zeros beyond 12 fractional digits are accepted, any
    /// other digit there is refused).
    static func price(_ text: String, shift: Int) throws(Failure) -> DecimalPrice {
        let plain = try plainDecimal(text, shift: shift)
        do {
            return try DecimalPrice(parsing: plain)
        } catch {
            throw .price(text, error)
        }
    }
}
