internal import CLibPQ
public import Foundation

/// The timeouts every ledger connection gets, so that no database problem can block a worker forever:
/// a server that does not answer the connect (`connect_timeout`), a peer that vanished without closing
/// the socket (TCP keepalives), a statement that runs or waits too long (`statement_timeout`), a row
/// lock held by someone else, e.g. a stopped zombie worker in the middle of its epoch
/// (`lock_timeout`, SQLSTATE 55P03), and a session of ours or of a zombie that sits in an open
/// transaction (`idle_in_transaction_session_timeout`; the server ends that session and frees its locks).
///
/// Guarantees: applied by ``PGConnection/connect(conninfo:session:)`` as libpq connection keywords
/// (`connect_timeout`, `keepalives*`, `fallback_application_name`) and as server settings in the
/// startup packet (`options=-c name=value`), so they hold from the first statement of the session on.
/// A keyword the connection string already sets explicitly (as a `postgresql://` URI parameter or a
/// `key=value` pair) wins over these values; `options` of the string (or `PGOPTIONS`) come after ours,
/// so a `-c` there wins too. A duration of zero disables that timeout (the server's / libpq's default).
public struct PGSessionSettings: Sendable, Equatable {
    /// libpq `connect_timeout`, per host address tried; whole seconds, rounded up (libpq's minimum is 2 s).
    public var connectTimeout: Duration
    /// TCP keepalives: idle time before the first probe (zero = the OS default).
    public var keepalivesIdle: Duration
    /// TCP keepalives: time between unanswered probes (zero = the OS default).
    public var keepalivesInterval: Duration
    /// TCP keepalives: unanswered probes before the connection counts as dead (zero = the OS default).
    public var keepalivesCount: Int
    /// Server `statement_timeout`: a statement running (or waiting for COPY data) longer fails with 57014.
    public var statementTimeout: Duration
    /// Server `lock_timeout`: a statement waiting longer for a lock fails with 55P03.
    public var lockTimeout: Duration
    /// Server `idle_in_transaction_session_timeout`: a session idle inside a transaction this long is ended.
    public var idleInTransactionTimeout: Duration
    /// libpq `fallback_application_name` (`pg_stat_activity.application_name` unless the string sets one).
    public var applicationName: String

    /// 5 s connect, keepalives after 30 s idle every 10 s, 3 probes; 60 s statements, 10 s lock waits,
    /// 60 s idle in a transaction; application name `traceledger`.
    public init(
        connectTimeout: Duration = .seconds(5), keepalivesIdle: Duration = .seconds(30),
        keepalivesInterval: Duration = .seconds(10), keepalivesCount: Int = 3, statementTimeout: Duration = .seconds(60),
        lockTimeout: Duration = .seconds(10), idleInTransactionTimeout: Duration = .seconds(60),
        applicationName: String = "traceledger"
    ) {
        self.connectTimeout = connectTimeout
        self.keepalivesIdle = keepalivesIdle
        self.keepalivesInterval = keepalivesInterval
        self.keepalivesCount = keepalivesCount
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.applicationName = applicationName
    }

    /// The defaults of ``init(connectTimeout:keepalivesIdle:keepalivesInterval:keepalivesCount:statementTimeout:lockTimeout:idleInTransactionTimeout:applicationName:)``.
    public static let `default` = PGSessionSettings()

    /// The server settings, as `(name, milliseconds)`, in the order they go into `options`.
    var serverSettings: [(name: String, milliseconds: Int64)] {
        [
            ("statement_timeout", Self.milliseconds(statementTimeout)),
            ("lock_timeout", Self.milliseconds(lockTimeout)),
            ("idle_in_transaction_session_timeout", Self.milliseconds(idleInTransactionTimeout)),
        ]
    }

    /// The libpq keywords (besides `options`), in a stable order.
    var keywords: [(String, String)] {
        var out: [(String, String)] = []
        let connect = Self.wholeSecondsRoundedUp(connectTimeout)
        if connect > 0 { out.append(("connect_timeout", "\(connect)")) }
        out.append(("keepalives", "1"))
        out.append(("keepalives_idle", "\(Self.wholeSecondsRoundedUp(keepalivesIdle))"))
        out.append(("keepalives_interval", "\(Self.wholeSecondsRoundedUp(keepalivesInterval))"))
        out.append(("keepalives_count", "\(max(0, keepalivesCount))"))
        if !applicationName.isEmpty { out.append(("fallback_application_name", applicationName)) }
        return out
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let c = d.components
        guard c.seconds >= 0 else { return 0 }
        let (ms, overflow) = c.seconds.multipliedReportingOverflow(by: 1000)
        // The server takes an int (ms): clamp instead of overflowing.
        return overflow ? Int64(Int32.max) : min(Int64(Int32.max), ms + c.attoseconds / 1_000_000_000_000_000)
    }

    static func wholeSecondsRoundedUp(_ d: Duration) -> Int64 {
        let c = d.components
        guard c.seconds >= 0 else { return 0 }
        return min(Int64(Int32.max), c.seconds + (c.attoseconds > 0 ? 1 : 0))
    }
}

extension PGConnection {
    /// `conninfo` (a `postgresql://` URI, a `key=value` string, or empty for the `PG*` variables) with
    /// `session` applied (see ``PGSessionSettings``), as a `key=value` connection string for libpq.
    /// Keywords `conninfo` sets explicitly are kept as they are; the `PG*` variables other than
    /// `PGOPTIONS` still apply to every keyword neither sets.
    ///
    /// - Throws: `LedgerError` `.connectionFailed` when libpq cannot parse `conninfo` (its message).
    public static func conninfo(
        _ conninfo: String, applying session: PGSessionSettings,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(conninfo, &errorMessage) else {
            let message = errorMessage.map { oneLine(String(cString: $0)) } ?? "out of memory parsing the connection string"
            if let errorMessage { PQfreemem(errorMessage) }
            throw LedgerError(.connectionFailed, message: "invalid connection string: \(message)")
        }
        defer { PQconninfoFree(parsed) }  // PQconninfoParse's array and strings are ours to free.
        var given: [(String, String)] = []
        var index = 0
        while let keyword = parsed[index].keyword {
            if let value = parsed[index].val {
                given.append((String(cString: keyword), String(cString: value)))
            }
            index += 1
        }
        let explicit = Set(given.map(\.0))
        var pairs = given.filter { $0.0 != "options" }
        for (keyword, value) in session.keywords where !explicit.contains(keyword) {
            pairs.append((keyword, value))
        }
        // Ours first: with several `-c` of one name the server keeps the last, so the caller's win.
        let callerOptions = given.first(where: { $0.0 == "options" })?.1 ?? environment["PGOPTIONS"] ?? ""
        // A setting the caller's options already name is left to them (a string that went through this
        // function once gets nothing twice).
        var options = session.serverSettings.filter { !callerOptions.contains("\($0.name)=") }
            .map { "-c \($0.name)=\($0.milliseconds)" }.joined(separator: " ")
        if !callerOptions.isEmpty { options += (options.isEmpty ? "" : " ") + callerOptions }
        if !options.isEmpty { pairs.append(("options", options)) }
        return pairs.map { "\($0.0)=\(quoted($0.1))" }.joined(separator: " ")
    }

    /// A conninfo value in single quotes, `\` and `'` escaped with a backslash (libpq's rules).
    static func quoted(_ value: String) -> String {
        var out = "'"
        for character in value {
            if character == "\\" || character == "'" { out.append("\\") }
            out.append(character)
        }
        return out + "'"
    }
}
