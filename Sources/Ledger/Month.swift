public import Foundation

/// A calendar month (UTC), the unit of the ledger's partitions.
///
/// Guarantees: `year` is in 1970...9999 and `month` in 1...12: every initializer validates and throws
/// `LedgerError.invalidMonth` otherwise. Partition names and bound literals are formatted from these two
/// integers only, so a malformed month can never reach SQL text.
public struct Month: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public static let yearRange = 1970...9999

    /// - Throws: `LedgerError.invalidMonth` unless 1970 ≤ year ≤ 9999 and 1 ≤ month ≤ 12.
    public init(year: Int, month: Int) throws {
        guard Self.yearRange.contains(year), (1...12).contains(month) else {
            throw LedgerError(.invalidMonth, message: "month out of range: year \(year), month \(month)")
        }
        self.year = year
        self.month = month
    }

    /// Parses exactly `YYYY-MM` (four digits, dash, two digits), e.g. `2026-11`.
    public init(parsing text: String) throws {
        let bytes = Array(text.utf8)
        let digits = bytes.enumerated().allSatisfy { index, byte in
            index == 4 ? byte == UInt8(ascii: "-") : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard bytes.count == 7, digits, let year = Int(text.prefix(4)), let month = Int(text.suffix(2)) else {
            throw LedgerError(.invalidMonth, message: "not a YYYY-MM month: \(text.debugDescription)")
        }
        try self.init(year: year, month: month)
    }

    /// The month containing an instant given in nanoseconds since the Unix epoch.
    public init(containingUnixNanos nanos: Int64) throws {
        try self.init(daysSinceUnixEpoch: PGTime.floorDiv(nanos, 86_400_000_000_000))
    }

    /// The month containing an instant given in microseconds since the Unix epoch.
    public init(containingUnixMicros micros: Int64) throws {
        try self.init(daysSinceUnixEpoch: PGTime.floorDiv(micros, 86_400_000_000))
    }

    /// The month containing `date` (UTC).
    public init(containing date: Date) throws {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite, abs(seconds) < 1e15 else {
            throw LedgerError(.invalidMonth, message: "date out of range: \(date)")
        }
        try self.init(daysSinceUnixEpoch: PGTime.floorDiv(Int64(seconds), 86_400))
    }

    init(daysSinceUnixEpoch days: Int64) throws {
        let (year, month, _) = Self.civil(fromDays: days)
        try self.init(year: Int(year), month: Int(month))
    }

    /// This month moved by `months` (negative goes back).
    /// - Throws: `LedgerError.invalidMonth` when the result leaves 1970...9999.
    public func adding(months: Int) throws -> Month {
        let (total, overflow) = index.addingReportingOverflow(months)
        guard !overflow else { throw LedgerError(.invalidMonth, message: "month arithmetic overflow") }
        return try Month(year: total >= 0 ? total / 12 : (total - 11) / 12, month: ((total % 12) + 12) % 12 + 1)
    }

    /// Months since year 0 (`year * 12 + month - 1`), for ordering and arithmetic.
    var index: Int { year * 12 + month - 1 }

    public static func < (lhs: Month, rhs: Month) -> Bool { lhs.index < rhs.index }

    /// `2026-11`.
    public var description: String { "\(Self.pad(year, 4))-\(Self.pad(month, 2))" }

    /// `2026_11`: the suffix of partition names.
    public var partitionSuffix: String { "\(Self.pad(year, 4))_\(Self.pad(month, 2))" }

    /// `2026-11-01`: the first day, as a SQL date literal body.
    public var firstDayLiteral: String { "\(description)-01" }

    /// `year * 100 + month`, e.g. 202611 (the advisory lock key).
    public var yyyymm: Int32 { Int32(year * 100 + month) }  // Safe: ≤ 999912.

    /// Days from 2000-01-01 to this month's first day (PostgreSQL's binary `date`).
    var postgresDays: Int32 {
        Int32(Self.days(fromCivil: Int64(year), Int64(month), 1) - PGTime.unixToPostgresDays)  // Safe: |days| < 3M.
    }

    /// Microseconds since the Unix epoch of this month's first instant (UTC).
    public var startUnixMicros: Int64 { Self.days(fromCivil: Int64(year), Int64(month), 1) * 86_400_000_000 }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, exact for all Int64 days in range).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// An hour bucket (UTC) of the hourly rollups.
///
/// Guarantees: it is the start of an hour; its ``month`` is a valid ``Month`` only for 1970...9999 (checked
/// when an epoch is validated).
public struct LedgerHour: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Whole hours since 1970-01-01 00:00 UTC.
    public let hoursSinceUnixEpoch: Int64

    public init(hoursSinceUnixEpoch: Int64) {
        self.hoursSinceUnixEpoch = hoursSinceUnixEpoch
    }

    /// The hour containing an instant in nanoseconds since the Unix epoch.
    public init(containingUnixNanos nanos: Int64) {
        self.hoursSinceUnixEpoch = PGTime.floorDiv(nanos, 3_600_000_000_000)
    }

    /// The hour containing an instant in milliseconds since the Unix epoch.
    public init(containingUnixMillis millis: Int64) {
        self.hoursSinceUnixEpoch = PGTime.floorDiv(millis, 3_600_000)
    }

    public var unixMicros: Int64 { hoursSinceUnixEpoch &* 3_600_000_000 }  // Safe: checked via `month`.

    /// The month this hour belongs to.
    public func month() throws -> Month {
        guard abs(hoursSinceUnixEpoch) < 1 << 40 else {
            throw LedgerError(.invalidMonth, message: "hour out of range: \(hoursSinceUnixEpoch)")
        }
        return try Month(daysSinceUnixEpoch: PGTime.floorDiv(hoursSinceUnixEpoch, 24))
    }

    public static func < (lhs: LedgerHour, rhs: LedgerHour) -> Bool { lhs.hoursSinceUnixEpoch < rhs.hoursSinceUnixEpoch }

    public var description: String { "hour(\(hoursSinceUnixEpoch))" }
}
