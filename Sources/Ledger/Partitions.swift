public import Aggregation
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

    /// Drops the partitions whose month is before `cutoff` (see ``applyRetention(cutoff:now:dryRun:on:)``)
    /// and returns their names.
    ///
    /// - Throws: `LedgerError.invalidMonth` when `cutoff` is after the current month (that would drop the
    ///   current month); server errors as `LedgerError`.
    @discardableResult
    public func dropPartitions(olderThan cutoff: Month, on connection: PGConnection) throws -> [String] {
        try applyRetention(cutoff: cutoff, now: Date(), dryRun: false, on: connection).dropped
    }
}

/// What one retention run did (or, in a dry run, would do).
public struct RetentionResult: Sendable, Equatable {
    /// A partition left in place, and why.
    public struct Skipped: Sendable, Equatable {
        public var name: String
        public var reason: String
    }

    /// Partitions of months before this one are dropped.
    public var cutoff: Month
    /// Dropped (or to drop) partitions, by table then month.
    public var dropped: [String]
    public var skipped: [Skipped]
}

extension LedgerSchema {
    /// The first month kept by `--drop-older-than months`: a partition is dropped when its whole range
    /// ends before the first instant of (current month − `months`). `months` ≥ 1, so the current month,
    /// the future ones, and with `months` = 1 the previous one too, are never dropped.
    ///
    /// - Throws: `LedgerError.invalidMonth` when `months` < 1 or the result leaves 1970...9999.
    public static func retentionCutoff(dropOlderThanMonths months: Int, now: Date) throws -> Month {
        guard months >= 1 else {
            throw LedgerError(.invalidMonth, message: "retention must keep at least 1 month before the current one, got \(months)")
        }
        return try Month(containing: now).adding(months: -months)
    }

    /// Detaches, then drops, every ledger partition whose month is before `cutoff`.
    ///
    /// Guarantees:
    /// - never touches the month containing `now` or a later one (`cutoff` after the current month throws);
    /// - a partition is dropped only when its name parses as `<table>_YYYY_MM` AND its bounds are exactly
    ///   that month's (what ``partitionDDL(for:month:)`` creates); any other is listed in `skipped`;
    /// - every DDL text is rebuilt from the table constant and the parsed, validated ``Month``, never from a
    ///   catalog or caller string;
    /// - detach first (`DETACH PARTITION … CONCURRENTLY` on PostgreSQL 14+, which takes only a SHARE
    ///   UPDATE EXCLUSIVE lock on the parent so running epoch writers are not blocked; a plain DETACH in a
    ///   short transaction before 14), then `DROP TABLE` of the detached table: each step waits at most
    ///   ``lockTimeoutMillis`` for its locks (55P03 otherwise, nothing half-done: rerun);
    /// - a run interrupted between the two steps is finished by the next one: a partition left "detach
    ///   pending" is finalized, and a detached `<table>_YYYY_MM` table of an old month is dropped;
    /// - one run per schema at a time (a session advisory lock; a second concurrent run fails at once).
    /// `dryRun` lists what would be dropped and changes nothing.
    public func applyRetention(cutoff: Month, now: Date, dryRun: Bool, on connection: PGConnection) throws -> RetentionResult {
        let current = try Month(containing: now)
        guard cutoff <= current else {
            throw LedgerError(.invalidMonth, message: "retention cutoff \(cutoff) is after the current month \(current); the current month is never dropped")
        }
        let lockKey: [PGValue] = [.text("traceledger.retention:" + schema.name)]
        if !dryRun {
            let locked = try connection.execute("SELECT pg_try_advisory_lock(hashtext($1::text), 0)", lockKey)
            guard locked.string(0, 0) == "t" else {
                throw LedgerError(.queryFailed, message: "another retention run holds the lock for schema \(schema.name); try again later")
            }
        }
        defer {
            if !dryRun { _ = try? connection.execute("SELECT pg_advisory_unlock(hashtext($1::text), 0)", lockKey) }
        }
        var result = RetentionResult(cutoff: cutoff, dropped: [], skipped: [])
        // Bounds rendered in UTC and ISO dates, so they read the same whatever the session's time zone and
        // DateStyle (PGDATESTYLE, a role's or database's setting would otherwise make every bound differ).
        let partitions = try connection.transaction { connection in
            try connection.execute("SET LOCAL TimeZone = 'UTC'")
            try connection.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            return try listPartitions(on: connection)
        }
        for info in partitions {
            guard let month = info.month, month < cutoff else { continue }
            let expected = try expectedBounds(info.table, month)
            guard info.bounds == expected else {
                result.skipped.append(.init(name: info.name, reason: "bounds \(info.bounds) are not \(expected)"))
                continue
            }
            let name = info.table.partitionName(month)
            if !dryRun {
                try detach(info.table, month, on: connection)
                try dropDetached(name, on: connection)
            }
            result.dropped.append(name)
        }
        // Leftovers of an interrupted run: detached ledger-named tables of old months.
        for (table, month) in try detachedLedgerTables(on: connection) where month < cutoff {
            let name = table.partitionName(month)
            if !dryRun { try dropDetached(name, on: connection) }
            result.dropped.append(name)
        }
        return result
    }

    /// `FOR VALUES FROM ('2025-09-01') TO ('2025-10-01')` (date keys) or with ` 00:00:00+00` (timestamptz,
    /// rendered in UTC): how PostgreSQL prints the bounds ``partitionDDL(for:month:)`` creates.
    func expectedBounds(_ table: PartitionedTable, _ month: Month) throws -> String {
        "FOR VALUES \(table.boundsClause(month, next: try month.adding(months: 1)))"
    }

    private func detach(_ table: PartitionedTable, _ month: Month, on connection: PGConnection) throws {
        let parent = schema.qualified(table.tableName)
        let child = schema.qualified(table.partitionName(month))
        guard connection.serverVersion >= 140_000 else {
            try connection.transaction { connection in
                try connection.execute("SET LOCAL lock_timeout = \(lockTimeoutMillis)")
                try connection.execute("ALTER TABLE \(parent) DETACH PARTITION \(child)")
            }
            return
        }
        // CONCURRENTLY cannot run inside a transaction block: a session setting, reset afterwards.
        try connection.execute("SET lock_timeout = \(lockTimeoutMillis)")
        defer { _ = try? connection.execute("RESET lock_timeout") }
        let pending = try connection.execute(
            """
            SELECT i.inhdetachpending FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2
            """,
            [.text(schema.name), .text(table.partitionName(month))])
        if pending.string(0, 0) == "t" {
            try connection.execute("ALTER TABLE \(parent) DETACH PARTITION \(child) FINALIZE")
        } else {
            try connection.execute("ALTER TABLE \(parent) DETACH PARTITION \(child) CONCURRENTLY")
        }
    }

    private func dropDetached(_ name: String, on connection: PGConnection) throws {
        try connection.transaction { connection in
            try connection.execute("SET LOCAL lock_timeout = \(lockTimeoutMillis)")
            try connection.execute("DROP TABLE IF EXISTS \(schema.qualified(name))")
        }
    }

    /// Plain tables of the schema named `<table>_YYYY_MM` that are no partition (detached).
    func detachedLedgerTables(on connection: PGConnection) throws -> [(PartitionedTable, Month)] {
        let result = try connection.execute(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT c.relispartition
              AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
            ORDER BY c.relname
            """,
            [.text(schema.name)])
        var out: [(PartitionedTable, Month)] = []
        for row in result.rows {
            guard let name = row.first ?? nil else { continue }
            for table in PartitionedTable.allCases {
                if let month = Self.month(ofPartition: name, table: table) { out.append((table, month)) }
            }
        }
        return out
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
