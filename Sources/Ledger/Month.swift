public import Aggregation
public import Foundation

/// The ledger's side of ``Month`` (the one month type, defined with the epoch's rows in Aggregation):
/// throwing initializers that report `LedgerError.invalidMonth`, month arithmetic, and the partition
/// names and literals built from the validated integers.
extension Month {
    /// - Throws: `LedgerError.invalidMonth` unless 1970 ≤ year ≤ 9999 and 1 ≤ month ≤ 12.
    public init(year: Int, month: Int) throws {
        guard let valid = Month(checkedYear: year, month: month) else {
            throw LedgerError(.invalidMonth, message: "month out of range: year \(year), month \(month)")
        }
        self = valid
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
        guard let valid = Month(checkedDaysSinceUnixEpoch: days) else {
            throw LedgerError(.invalidMonth, message: "day out of range: \(days) days since 1970-01-01")
        }
        self = valid
    }

    /// This month moved by `months` (negative goes back).
    /// - Throws: `LedgerError.invalidMonth` when the result leaves 1970...9999.
    public func adding(months: Int) throws -> Month {
        let (total, overflow) = index.addingReportingOverflow(months)
        guard !overflow else { throw LedgerError(.invalidMonth, message: "month arithmetic overflow") }
        return try Month(year: total >= 0 ? total / 12 : (total - 11) / 12, month: ((total % 12) + 12) % 12 + 1)
    }

    /// `2026_11`: the suffix of partition names.
    public var partitionSuffix: String { "\(Self.pad(year, 4))_\(Self.pad(month, 2))" }

    /// `2026-11-01`: the first day, as a SQL date literal body.
    public var firstDayLiteral: String { "\(description)-01" }

    /// `year * 100 + month`, e.g. 202611 (the advisory lock key).
    public var yyyymm: Int32 { Int32(year * 100 + month) }  // Safe: ≤ 999912.

    /// Days from 2000-01-01 to this month's first day (PostgreSQL's binary `date`).
    var postgresDays: Int32 {
        Int32(firstDaySinceUnixEpoch - PGTime.unixToPostgresDays)  // Safe: |days| < 3M.
    }

    /// Microseconds since the Unix epoch of this month's first instant (UTC).
    public var startUnixMicros: Int64 { firstDaySinceUnixEpoch * 86_400_000_000 }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
