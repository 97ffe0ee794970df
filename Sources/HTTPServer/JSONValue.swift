/// A JSON value the API writes, with object keys in the order given (stable, readable output).
///
/// Guarantees: ``serialized`` is valid JSON (RFC 8259): strings escaped (quote, backslash, control
/// characters as `\u00XX`); an ``integer(_:)`` within ±2^53 is written as a JSON number, beyond that as a
/// decimal string, so that no JSON reader loses a digit.
enum JSONValue: Sendable, Equatable {
    case string(String)
    case integer(Int128)
    /// A number literal already in JSON syntax (e.g. a ratio with 6 decimals).
    case numberLiteral(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized == b.serialized }

    /// 2^53: the largest integer every JSON reader (IEEE doubles) holds exactly.
    static let exactIntegerLimit: Int128 = 9_007_199_254_740_992

    static func optionalString(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    var serialized: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        switch self {
        case .string(let s): Self.writeString(s, into: &out)
        case .integer(let v):
            if v.magnitude <= Self.exactIntegerLimit.magnitude { out += String(v) } else { out += "\"\(v)\"" }
        case .numberLiteral(let s): out += s
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
