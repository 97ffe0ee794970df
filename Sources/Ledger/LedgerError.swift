public import Aggregation

/// The one error type of the Ledger module.
///
/// Guarantees: every failure the module reports is a `LedgerError` with a ``Code``; a failure that came
/// from the server carries its SQLSTATE (``sqlState``), primary message, detail and hint, and the SQL or
/// operation that failed (``context``). Never carries a password: libpq messages do not contain one and
/// the module never puts a connection string into ``context``.
public struct LedgerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Compare with the static members (`error.code == .fenced`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The database could not be reached or refused the connection (missing or wrong settings).
        public static let connectionFailed = Code("connectionFailed")
        /// The connection broke or libpq failed outside of a server error.
        public static let connectionLost = Code("connectionLost")
        /// The server reported an error for a statement; see ``LedgerError/sqlState``.
        public static let queryFailed = Code("queryFailed")
        /// `COPY … FROM STDIN` failed while sending data or at its end.
        public static let copyFailed = Code("copyFailed")
        /// A result did not have the shape the caller expected (a bug or a schema drift).
        public static let unexpectedResult = Code("unexpectedResult")
        /// The epoch's fencing check failed: another writer advanced (or created) the partition's offset.
        public static let fenced = Code("fenced")
        /// A month outside 1970-01 ... 9999-12, or a malformed month string.
        public static let invalidMonth = Code("invalidMonth")
        /// A schema name that is not a plain lowercase SQL identifier.
        public static let invalidIdentifier = Code("invalidIdentifier")
        /// An epoch that breaks its own invariants (bad trace id, sums that do not match, ...).
        public static let invalidEpoch = Code("invalidEpoch")
        /// The worker thread's job queue is full (the caller must slow down; nothing was dropped).
        public static let workerBusy = Code("workerBusy")
        /// The worker thread was shut down before the job could run.
        public static let workerStopped = Code("workerStopped")
        /// A retried operation (deadlock, serialization failure, missing partition) kept failing.
        public static let retriesExhausted = Code("retriesExhausted")
    }

    public var code: Code
    /// Five-character SQLSTATE when the server reported the error (`23505`, `40P01`, `23514`, ...).
    public var sqlState: String?
    /// Primary message (the server's, or ours).
    public var message: String
    /// The server's DETAIL field, when present.
    public var detail: String?
    /// The server's HINT field, when present.
    public var hint: String?
    /// The SQL text or the operation that failed.
    public var context: String?
    /// For ``Code/fenced``: the partition whose offset no longer matched.
    public var partition: PartitionKey?
    /// Where the error was raised (`#fileID`, `#line`).
    public var file: String
    public var line: Int

    public init(
        _ code: Code, message: String, sqlState: String? = nil, detail: String? = nil,
        hint: String? = nil, context: String? = nil, partition: PartitionKey? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.context = context
        self.partition = partition
        self.file = file
        self.line = line
    }

    /// True for failures that a retry of the whole transaction can fix: deadlock (40P01) and
    /// serialization failure (40001).
    public var isRetriableTransactionConflict: Bool {
        sqlState == SQLState.deadlockDetected || sqlState == SQLState.serializationFailure
    }

    public var description: String {
        var parts = ["LedgerError.\(code)"]
        if let sqlState { parts.append("[\(sqlState)]") }
        parts.append(message)
        var text = parts.joined(separator: " ")
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        if let partition { text += " (partition: \(partition))" }
        if let context { text += " (in: \(Self.abbreviate(context)))" }
        return text
    }

    static func abbreviate(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: { $0 == "\n" || $0 == "\t" }).joined(separator: " ")
        return flat.count > 200 ? String(flat.prefix(200)) + "…" : flat
    }
}

/// SQLSTATE codes the module reacts to (PostgreSQL errcodes.txt).
public enum SQLState {
    public static let uniqueViolation = "23505"
    public static let checkViolation = "23514"
    public static let deadlockDetected = "40P01"
    public static let serializationFailure = "40001"
    /// `lock_timeout` expired (or `NOWAIT`).
    public static let lockNotAvailable = "55P03"
    /// `statement_timeout` expired, or the statement was cancelled (`pg_cancel_backend`).
    public static let queryCanceled = "57014"
    /// `idle_in_transaction_session_timeout` ended the session (sent as a FATAL before the server closes it).
    public static let idleInTransactionSessionTimeout = "25P03"
    /// The session was ended by an administrator (`pg_terminate_backend`) or a fast shutdown.
    public static let adminShutdown = "57P01"
    public static let duplicateTable = "42P07"
    public static let undefinedTable = "42P01"
}
