public import Pricing

/// A calendar month in UTC: the month key of the epoch's rows and the unit of the ledger's partitions.
///
/// Guarantees: `year` is in 1970...9999 and `month` in 1...12 for every value, whichever initializer
/// built it (a span time clamps, the checked initializers refuse). Partition names and bound literals
/// are formatted from these two integers only, so a malformed month can never reach SQL text. The
/// Ledger adds its throwing initializers (`LedgerError.invalidMonth`) and partition names.
public struct Month: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public static let yearRange = 1970...9999

    /// nil unless 1970 ≤ year ≤ 9999 and 1 ≤ month ≤ 12.
    public init?(checkedYear year: Int, month: Int) {
        guard Self.yearRange.contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// The month of the day `days` after 1970-01-01; nil outside 1970-01 ... 9999-12.
    public init?(checkedDaysSinceUnixEpoch days: Int64) {
        // Beyond ±2^40 days the year is far out of range; the bound keeps the arithmetic exact.
        guard abs(days) < 1 << 40 else { return nil }
        let (year, month, _) = CivilDate.fromDaysSinceUnixEpoch(days)
        self.init(checkedYear: Int(year), month: Int(month))
    }

    /// The month containing `unixNanos` (UTC). Never fails: a `UInt64` of nanoseconds ends in 2554.
    public init(unixNanos: UInt64) {
        let days = Int64(unixNanos / 86_400_000_000_000)  // Safe: ≤ 213 503.
        let (y, m, _) = CivilDate.fromDaysSinceUnixEpoch(days)
        self.year = min(Int(y), 9999)
        self.month = y > 9999 ? 12 : Int(m)
    }

    /// Months since year 0 (`year * 12 + month - 1`), for ordering and arithmetic.
    public var index: Int { year * 12 + month - 1 }

    /// Days from 1970-01-01 to this month's first day.
    public var firstDaySinceUnixEpoch: Int64 {
        CivilDate.daysSinceUnixEpoch(year: Int64(year), month: Int64(month), day: 1)
    }

    public static func < (a: Month, b: Month) -> Bool { a.index < b.index }

    /// `2026-11`.
    public var description: String { "\(Self.pad(year, 4))-\(Self.pad(month, 2))" }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// An hour in UTC: whole hours since the Unix epoch (the hour key of the epoch's rows and the ledger's
/// hourly rollups).
///
/// Guarantees: built from a span time, `hoursSinceEpoch` is in 0 ..< 2^23 (a `UInt64` of nanoseconds
/// ends in 2554), so ``unixMicros`` cannot overflow and ``month`` is exact. Any other value is
/// representable; ``isInLedgerRange`` tells whether the ledger can store it.
public struct UTCHour: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hoursSinceEpoch: Int64

    public init(unixNanos: UInt64) {
        self.hoursSinceEpoch = Int64(unixNanos / 3_600_000_000_000)  // Safe: < 2^23.
    }

    public init(hoursSinceEpoch: Int64) { self.hoursSinceEpoch = hoursSinceEpoch }

    /// The first hour of 1970-01 and the hour after the last of 9999-12: the ledger's range.
    static let ledgerRange: Range<Int64> = 0..<(CivilDate.daysSinceUnixEpoch(year: 10_000, month: 1, day: 1) * 24)

    /// Whether the hour lies in a valid ``Month`` (1970-01 ... 9999-12).
    public var isInLedgerRange: Bool { Self.ledgerRange.contains(hoursSinceEpoch) }

    /// Microseconds since the Unix epoch at the start of the hour (for timestamptz columns). Exact
    /// whenever ``isInLedgerRange``.
    public var unixMicros: Int64 { hoursSinceEpoch &* 3_600_000_000 }  // Safe: exact for |hours| < 2^31 (the ledger checks first).

    /// The month this hour falls in, clamped to 1970-01 ... 9999-12 (exact whenever ``isInLedgerRange``).
    public var month: Month {
        let days = min(max(hoursSinceEpoch, Self.ledgerRange.lowerBound), Self.ledgerRange.upperBound - 1) / 24
        let (y, m, _) = CivilDate.fromDaysSinceUnixEpoch(days)
        return Month(unchecked: Int(y), Int(m))
    }

    public static func < (a: UTCHour, b: UTCHour) -> Bool { a.hoursSinceEpoch < b.hoursSinceEpoch }

    public var description: String { "hour(\(hoursSinceEpoch))" }
}

extension Month {
    /// Only for values computed from a clamped day count.
    fileprivate init(unchecked year: Int, _ month: Int) {
        self.year = year
        self.month = month
    }
}
