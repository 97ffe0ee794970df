public import Foundation

/// One threshold crossing as the webhook receives it: a JSON object
/// `{"domain", "level": "warn|breach", "spend_usd", "budget_usd", "utilization", "window": "24h", "at"}`.
///
/// Guarantees: money fields are exact decimal strings in USD with 9 decimals (`"12.000000000"`),
/// `utilization` a JSON number with 6 decimals rounded toward zero, `at` RFC 3339 UTC; the body is valid
/// UTF-8 JSON whatever the domain name holds.
public struct WebhookNotice: Sendable, Equatable {
    public var domain: String
    public var level: BudgetLevel
    public var spendNano: Int128
    public var budgetNano: Int64
    public var utilizationText: String
    public var at: Date

    public init(status: BudgetStatus, level: BudgetLevel, at: Date) {
        domain = status.domain
        self.level = level
        spendNano = status.spendNano
        budgetNano = status.budget.usdPer24hNano
        utilizationText = status.utilizationText
        self.at = at
    }

    /// The POST body.
    public var json: Data {
        let fields: [(String, String)] = [
            ("domain", Self.quoted(domain)),
            ("level", Self.quoted(level.rawValue)),
            ("spend_usd", Self.quoted(ExactDecimal.text(billionths: spendNano))),
            ("budget_usd", Self.quoted(ExactDecimal.text(billionths: Int128(budgetNano)))),
            ("utilization", utilizationText),
            ("window", Self.quoted("24h")),
            ("at", Self.quoted(Self.rfc3339(at))),
        ]
        return Data(("{" + fields.map { "\(Self.quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}").utf8)
    }

    /// A JSON string literal: `"` and `\` escaped, control characters as `\u00XX`.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
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
        return out + "\""
    }

    static func rfc3339(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ v: Int?) -> String { let s = String(v ?? 0); return s.count < 2 ? "0" + s : s }
        return "\(c.year ?? 1970)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))Z"
    }
}
