internal import CLibPQ
public import Foundation

/// One PostgreSQL connection (libpq `PGconn`).
///
/// Guarantees: the `PGconn*` is private to this class, created by the throwing factory ``connect(conninfo:session:)``
/// and freed (`PQfinish`) in `deinit`; no C type appears in its API. Every method blocks the calling thread
/// until the server answers, so call it only from a dedicated thread (a ``LedgerWorkerThread``), never from
/// Swift's cooperative pool.
///
/// Thread: `@unchecked Sendable` only so that it can be handed to the one thread that uses it; libpq
/// connections are not thread-safe, and the class must be used by one thread at a time (the
/// ``LedgerWorkerThread`` that owns it, or a test's own `Thread`).
public final class PGConnection: @unchecked Sendable {
    // Owned: created by PQconnectdb in `connect`, freed by PQfinish in deinit. Never escapes this class.
    private let handle: OpaquePointer

    /// Set by the epoch writer once this session has its temp staging tables.
    var stagingTablesCreated = false

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfinish(handle)
    }

    /// The connection string libpq should use: `DATABASE_URL` when set (a `postgresql://` URL or a
    /// `key=value` string), else the empty string, with which libpq reads `PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGDATABASE`, `PGPASSWORD`, ... itself.
    public static func conninfo(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? ""
    }

    /// Opens a connection with `session`'s timeouts (see ``PGSessionSettings``; keywords that `conninfo`
    /// sets itself win) and puts the session in UTC with warnings-only notices.
    ///
    /// - Throws: `LedgerError` `.connectionFailed` with libpq's message on one line (never the password),
    ///   within about `session.connectTimeout` per host address when the server does not answer.
    public static func connect(conninfo: String, session: PGSessionSettings = .default) throws -> PGConnection {
        let full = try Self.conninfo(conninfo, applying: session)
        guard let raw = PQconnectdb(full) else {
            throw LedgerError(.connectionFailed, message: "out of memory while connecting")
        }
        // On failure libpq still returns a PGconn that we own: PQfinish it (via deinit) after reading the message.
        let connection = PGConnection(handle: raw)
        guard PQstatus(raw) == CONNECTION_OK else {
            throw LedgerError(.connectionFailed, message: connection.lastErrorMessage)
        }
        try connection.execute("SET TIME ZONE 'UTC'; SET client_min_messages TO warning")
        return connection
    }

    /// ``connect(conninfo:session:)`` with ``conninfo(environment:)`` and the default timeouts.
    public static func connectFromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> PGConnection {
        try connect(conninfo: conninfo(environment: environment))
    }

    /// False once the connection is broken (the owner should drop it and connect again).
    public var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// True while a transaction block is open (including a failed one waiting for ROLLBACK).
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Server version as an integer (`150004` for 15.4).
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// The backend process id (for tests and logs).
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// The libpq keywords this connection was opened with (`PQconninfo`), passwords left out: for
    /// tests and diagnostics.
    public var connectionOptions: [String: String] {
        guard let options = PQconninfo(handle) else { return [:] }
        defer { PQconninfoFree(options) }
        var out: [String: String] = [:]
        var index = 0
        while let keyword = options[index].keyword {
            let name = String(cString: keyword)
            if let value = options[index].val, name != "password" {
                out[name] = String(cString: value)
            }
            index += 1
        }
        return out
    }

    // MARK: - Queries

    /// Runs one or more statements with the simple query protocol (no parameters). Results of all but the
    /// last statement are discarded; the last one's rows are returned (text format).
    ///
    /// - Throws: `LedgerError` `.queryFailed` with the SQLSTATE of the first failing statement.
    @discardableResult
    public func execute(_ sql: String) throws -> PGQueryResult {
        guard let result = PQexec(handle, sql) else {
            throw connectionLostError(context: sql)
        }
        defer { PQclear(result) }  // PQexec's result is ours to free.
        return try Self.checked(result, sql: sql, connection: self)
    }

    /// Runs one statement with parameters (`$1`, `$2`, ...), sent in binary. Rows come back in text format.
    ///
    /// - Throws: `LedgerError` `.queryFailed` with the server's SQLSTATE, message, detail and the SQL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PGValue]) throws -> PGQueryResult {
        if parameters.isEmpty {
            guard let result = PQexecParams(handle, sql, 0, nil, nil, nil, nil, 0) else {
                throw connectionLostError(context: sql)
            }
            defer { PQclear(result) }
            return try Self.checked(result, sql: sql, connection: self)
        }
        precondition(parameters.count <= 65535, "libpq accepts at most 65535 parameters")
        // All parameter bytes live in one buffer; pointers into it are valid only inside the closure.
        // One leading pad byte keeps the base address non-nil, so an empty non-NULL value gets a pointer.
        var storage: [UInt8] = [0]
        var offsets: [Int] = []
        var lengths: [Int32] = []
        var types: [UInt32] = []
        offsets.reserveCapacity(parameters.count)
        for value in parameters {
            offsets.append(storage.count)
            let before = storage.count
            let isNull = value.encodeBinary(into: &storage)
            lengths.append(isNull ? -1 : Int32(storage.count - before))
            types.append(value.typeOID)
        }
        let formats = [Int32](repeating: 1, count: parameters.count)
        let count = Int32(parameters.count)
        let raw: OpaquePointer? = storage.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!)  // Safe: storage has the pad byte.
            var values: [UnsafePointer<CChar>?] = []
            values.reserveCapacity(parameters.count)
            for index in 0..<parameters.count {
                values.append(lengths[index] < 0 ? nil : (base + offsets[index]).assumingMemoryBound(to: CChar.self))
            }
            return PQexecParams(handle, sql, count, types, values, lengths, formats, 0)
        }
        guard let result = raw else { throw connectionLostError(context: sql) }
        defer { PQclear(result) }
        return try Self.checked(result, sql: sql, connection: self)
    }

    /// `COPY … FROM STDIN` with the given bytes (for `FORMAT binary`, a ``BinaryCopyEncoder``'s output).
    ///
    /// - Returns: the number of rows the server reports as copied.
    /// - Throws: `LedgerError` `.copyFailed` / `.queryFailed` with the SQLSTATE (e.g. a type mismatch).
    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8]) throws -> Int {
        guard let start = PQexec(handle, sql) else { throw connectionLostError(context: sql) }
        let startStatus = PQresultStatus(start)
        if startStatus != PGRES_COPY_IN {
            defer { PQclear(start) }
            _ = try Self.checked(start, sql: sql, connection: self)
            throw LedgerError(.unexpectedResult, message: "statement did not start COPY FROM STDIN", context: sql)
        }
        PQclear(start)
        // Blocking connection: PQputCopyData never returns 0; send in chunks of at most 1 MiB.
        let chunkBytesMax = 1 << 20
        var sendFailed = false
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let length = min(chunkBytesMax, raw.count - offset)
                let pointer = raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
                if PQputCopyData(handle, pointer, Int32(length)) != 1 {
                    sendFailed = true
                    return
                }
                offset += length
            }
        }
        if sendFailed {
            _ = PQputCopyEnd(handle, "client failed to send COPY data")
        } else if PQputCopyEnd(handle, nil) != 1 {
            throw LedgerError(.copyFailed, message: lastErrorMessage, context: sql)
        }
        // Collect results until NULL; the COPY's own result tells success or the server error.
        var firstError: (any Error)?
        var rows = 0
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            do {
                let checked = try Self.checked(result, sql: sql, connection: self)
                rows = checked.affectedRows
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        if sendFailed { throw LedgerError(.copyFailed, message: lastErrorMessage, context: sql) }
        return rows
    }

    /// Runs `body` inside `BEGIN` ... `COMMIT`; on any error, rolls back and rethrows the error.
    public func transaction<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            rollbackIfNeeded()
            throw error
        }
    }

    /// Ends an open transaction with ROLLBACK, ignoring errors (a broken connection is dropped by its owner).
    public func rollbackIfNeeded() {
        if isInTransaction, let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    // MARK: - Private

    private var lastErrorMessage: String {
        let text = PQerrorMessage(handle).map { String(cString: $0) } ?? "unknown libpq error"
        return Self.oneLine(text)
    }

    private func connectionLostError(context: String) -> LedgerError {
        LedgerError(.connectionLost, message: lastErrorMessage, context: context)
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\t" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    /// Turns a result into a `PGQueryResult` or the server's error. Does not free `result`.
    private static func checked(_ result: OpaquePointer, sql: String, connection: PGConnection) throws -> PGQueryResult {
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            return PGQueryResult(columns: [], rows: [], affectedRows: affectedRows(result))
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var columns: [String] = []
            columns.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                columns.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "")
            }
            var rows: [[String?]] = []
            rows.reserveCapacity(rowCount)
            for row in 0..<rowCount {
                var values: [String?] = []
                values.reserveCapacity(columnCount)
                for column in 0..<columnCount {
                    if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                        values.append(nil)
                    } else {
                        values.append(PQgetvalue(result, Int32(row), Int32(column)).map { String(cString: $0) })
                    }
                }
                rows.append(values)
            }
            return PGQueryResult(columns: columns, rows: rows, affectedRows: rowCount)
        default:
            func field(_ code: UInt8) -> String? {
                PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
            }
            let sqlState = field(UInt8(ascii: "C"))
            let message = field(UInt8(ascii: "M")) ?? PQresultErrorMessage(result).map { oneLine(String(cString: $0)) }
            if sqlState == nil && !connection.isHealthy {
                throw LedgerError(.connectionLost, message: connection.lastErrorMessage, context: sql)
            }
            throw LedgerError(
                .queryFailed, message: message ?? "unknown server error", sqlState: sqlState,
                detail: field(UInt8(ascii: "D")), hint: field(UInt8(ascii: "H")), context: sql)
        }
    }

    private static func affectedRows(_ result: OpaquePointer) -> Int {
        guard let text = PQcmdTuples(result) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }
}

/// The rows of one statement, copied out of libpq (text format), plus the affected-row count.
///
/// Guarantees: a plain value, independent of the connection that produced it.
public struct PGQueryResult: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    /// Rows returned, or rows inserted/updated/deleted/copied for a command (`PQcmdTuples`).
    public var affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    /// The text of (row, column), nil for NULL or out of range.
    public func string(_ row: Int, _ column: Int) -> String? {
        guard row < rows.count, column < rows[row].count else { return nil }
        return rows[row][column]
    }

    /// (row, column) as Int64, nil for NULL or non-integer text.
    public func int64(_ row: Int, _ column: Int) -> Int64? {
        string(row, column).flatMap { Int64($0) }
    }
}
