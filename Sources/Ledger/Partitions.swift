public import Foundation

/// The ledger's monthly-partitioned tables (docs/ledger.md).
///
/// Guarantees: names are compile-time constants; a partition name is `<table>_<YYYY>_<MM>` built from a
/// validated ``Month`` only.
public enum PartitionedTable: String, CaseIterable, Sendable {
    case transactions
    case domainHourly = "domain_hourly"
    case pendingAttribution = "pending_attribution"
    case sessions
    case modelHourly = "model_hourly"

    /// The partition key is a `timestamptz` hour (true) or a `date` month (false).
    var keyIsHour: Bool { self == .domainHourly || self == .modelHourly }

    public var tableName: String { rawValue }

    /// `transactions_2026_11`.
    public func partitionName(_ month: Month) -> String { "\(rawValue)_\(month.partitionSuffix)" }

    /// The `FOR VALUES` clause: `FROM ('2026-11-01') TO ('2026-12-01')` (upper bound exclusive), with an
    /// explicit `+00` offset for `timestamptz` keys so the session time zone does not matter.
    func boundsClause(_ month: Month, next: Month) -> String {
        let suffix = keyIsHour ? " 00:00:00+00" : ""
        return "FROM ('\(month.firstDayLiteral)\(suffix)') TO ('\(next.firstDayLiteral)\(suffix)')"
    }
}

/// One partition of a ledger table as found in the catalog.
public struct PartitionInfo: Hashable, Sendable, CustomStringConvertible {
    public var table: PartitionedTable
    public var name: String
    /// The month, when the name follows `<table>_YYYY_MM` (partitions made by this module always do).
    public var month: Month?
    public var bounds: String

    public var description: String { "\(table.tableName)\t\(name)\t\(bounds)" }
}

extension LedgerSchema {
    /// The DDL that creates `table`'s partition for `month` when it is missing: create it as a copy of the
    /// parent (`LIKE … INCLUDING ALL`, no lock on the parent) and `ATTACH` it (SHARE UPDATE EXCLUSIVE
    /// only). Every identifier and literal comes from the schema (validated), the table (a constant) and
    /// the month (validated): no caller string reaches this text.
    public func partitionDDL(for table: PartitionedTable, month: Month) throws -> [String] {
        let next = try month.adding(months: 1)
        let parent = schema.qualified(table.tableName)
        let child = schema.qualified(table.partitionName(month))
        return [
            "CREATE TABLE IF NOT EXISTS \(child) (LIKE \(parent) INCLUDING ALL)",
            "ALTER TABLE \(parent) ATTACH PARTITION \(child) FOR VALUES \(table.boundsClause(month, next: next))",
        ]
    }

    /// The months created at migrate time: the previous, current and next two months around `now`.
    public static func monthsAhead(of now: Date) throws -> [Month] {
        let current = try Month(containing: now)
        return try (-1...2).map { try current.adding(months: $0) }
    }

    /// Creates every ledger table's partition for each month that lacks one, and returns the names created.
    ///
    /// Each month is one short transaction: `SET LOCAL lock_timeout`, `pg_advisory_xact_lock(schema, yyyymm)`
    /// (so that concurrent callers create each partition exactly once), then for each table that has no
    /// attached partition of that name, the statements of ``partitionDDL(for:month:)``.
    ///
    /// - Throws: `LedgerError` (`55P03` when a lock is not granted within ``lockTimeoutMillis``).
    @discardableResult
    public func ensurePartitions(months: some Sequence<Month>, on connection: PGConnection) throws -> [String] {
        var created: [String] = []
        for month in Set(months).sorted() {
            created += try connection.transaction { connection in
                try connection.execute("SET LOCAL lock_timeout = \(lockTimeoutMillis)")  // integer: ms
                try connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('traceledger.partitions:' || $1::text), $2::int4)",
                    [.text(schema.name), .int4(month.yyyymm)])
                let names = PartitionedTable.allCases.map { $0.partitionName(month) }
                let attached = try connection.execute(
                    """
                    SELECT c.relname FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    JOIN pg_inherits i ON i.inhrelid = c.oid
                    WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4, $5, $6)
                    """,
                    [.text(schema.name)] + names.map { .text($0) })
                let existing = Set(attached.rows.compactMap { $0.first ?? nil })
                var createdHere: [String] = []
                for table in PartitionedTable.allCases where !existing.contains(table.partitionName(month)) {
                    for statement in try partitionDDL(for: table, month: month) {
                        try connection.execute(statement)
                    }
                    createdHere.append(table.partitionName(month))
                }
                return createdHere
            }
        }
        return created
    }

    /// The partitions of the ledger tables, by table then name.
    public func listPartitions(on connection: PGConnection) throws -> [PartitionInfo] {
        let result = try connection.execute(
            """
            SELECT p.relname, c.relname, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = $1 AND p.relkind = 'p'
            ORDER BY p.relname, c.relname
            """,
            [.text(schema.name)])
        return result.rows.compactMap { row in
            guard row.count == 3, let parent = row[0], let table = PartitionedTable(rawValue: parent),
                let name = row[1]
            else { return nil }
            return PartitionInfo(table: table, name: name, month: Self.month(ofPartition: name, table: table),
                                 bounds: row[2] ?? "")
        }
    }

    /// Drops the partitions whose month is before `cutoff` (each in its own short transaction with a lock
    /// timeout) and returns their names. The `DROP` text is rebuilt from the table constant and the parsed,
    /// validated month, never from the catalog's string.
    @discardableResult
    public func dropPartitions(olderThan cutoff: Month, on connection: PGConnection) throws -> [String] {
        var dropped: [String] = []
        for info in try listPartitions(on: connection) {
            guard let month = info.month, month < cutoff else { continue }
            let name = info.table.partitionName(month)
            try connection.transaction { connection in
                try connection.execute("SET LOCAL lock_timeout = \(lockTimeoutMillis)")
                try connection.execute("DROP TABLE IF EXISTS \(schema.qualified(name))")
            }
            dropped.append(name)
        }
        return dropped
    }

    /// `transactions_2026_11` → 2026-11 (nil for any other shape).
    static func month(ofPartition name: String, table: PartitionedTable) -> Month? {
        let prefix = table.tableName + "_"
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard rest.count == 7, rest.utf8[rest.utf8.index(rest.utf8.startIndex, offsetBy: 4)] == UInt8(ascii: "_") else {
            return nil
        }
        return try? Month(parsing: rest.replacingOccurrences(of: "_", with: "-"))
    }
}
