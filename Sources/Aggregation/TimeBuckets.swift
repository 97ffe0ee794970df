/// A calendar month in UTC, the partition key of the monthly ledger tables.
/// Guarantee: `month` is 1...12 and `year` is 1970...9999 for every value built from a span time.
public struct UTCMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int32
    public let month: Int32

    /// The month containing `unixNanos` (UTC). Times past year 9999 clamp to 9999-12.
    public init(unixNanos: UInt64) {
        let days = Int64(unixNanos / 86_400_000_000_000)
        let (y, m, _) = civilDate(daysSinceEpoch: days)
        if y > 9999 {
            self.year = 9999
            self.month = 12
        } else {
            self.year = Int32(y)
            self.month = Int32(m)
        }
    }

    public static func < (a: UTCMonth, b: UTCMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }

    /// `2026-11`.
    public var description: String {
        let m = month < 10 ? "0\(month)" : "\(month)"
        return "\(year)-\(m)"
    }
}

/// An hour in UTC: whole hours since the Unix epoch.
public struct UTCHour: Hashable, Comparable, Sendable {
    public let hoursSinceEpoch: Int64

    public init(unixNanos: UInt64) {
        self.hoursSinceEpoch = Int64(unixNanos / 3_600_000_000_000)
    }

    public init(hoursSinceEpoch: Int64) { self.hoursSinceEpoch = hoursSinceEpoch }

    /// Microseconds since the Unix epoch at the start of the hour (for timestamptz columns).
    public var unixMicros: Int64 { hoursSinceEpoch * 3_600_000_000 }

    /// The month this hour falls in.
    public var month: UTCMonth { UTCMonth(unixNanos: UInt64(hoursSinceEpoch) * 3_600_000_000_000) }

    public static func < (a: UTCHour, b: UTCHour) -> Bool { a.hoursSinceEpoch < b.hoursSinceEpoch }
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian (year, month 1...12, day 1...31).
func civilDate(daysSinceEpoch z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}
