public import Foundation

/// The ledger's schema operations (migrations, partitions) for one PostgreSQL schema.
///
/// Guarantees: a plain `Sendable` value; every SQL text it builds uses only its validated ``schema``,
/// constants and validated ``Month`` values. Its methods take the ``PGConnection`` to use and block: run
/// them on the connection's thread (e.g. inside `LedgerWorkerThread.run`).
public struct LedgerSchema: Sendable {
    public var schema: SchemaName
    /// `lock_timeout` for DDL on the ledger tables (partition create/attach/drop), in milliseconds.
    public var lockTimeoutMillis: Int

    public init(schema: SchemaName = .default, lockTimeoutMillis: Int = 10_000) {
        self.schema = schema
        self.lockTimeoutMillis = max(1, lockTimeoutMillis)
    }

    /// One versioned migration: its SQL runs in its own transaction together with its row in
    /// `schema_migrations`.
    public struct Migration: Sendable {
        public var version: Int
        public var name: String
        var sql: @Sendable (SchemaName) -> String
    }

    /// What ``migrate(on:now:)`` did. Empty on a second run.
    public struct MigrationReport: Sendable, Equatable {
        /// `(version, name)` of each migration applied by this run, in order.
        public var applied: [String]
        /// Partitions created by this run.
        public var partitionsCreated: [String]

        public var changedNothing: Bool { applied.isEmpty && partitionsCreated.isEmpty }
    }

    /// Applies the missing migrations in version order, then creates the partitions of the previous,
    /// current and next two months (relative to `now`, wall clock: an operator action).
    ///
    /// Concurrent migrators are serialised by a session advisory lock keyed by the schema name; the second
    /// finds everything applied and reports nothing. Each migration is one transaction: a failure leaves the
    /// earlier ones applied and this one absent.
    ///
    /// - Throws: `LedgerError` from the failing statement.
    public func migrate(on connection: PGConnection, now: Date = Date()) throws -> MigrationReport {
        try connection.execute(
            "SELECT pg_advisory_lock(hashtext('traceledger.migrate'), hashtext($1::text))", [.text(schema.name)])
        defer {
            _ = try? connection.execute(
                "SELECT pg_advisory_unlock(hashtext('traceledger.migrate'), hashtext($1::text))", [.text(schema.name)])
        }
        try connection.execute(
            """
            CREATE SCHEMA IF NOT EXISTS \(schema.quoted);
            CREATE TABLE IF NOT EXISTS \(schema.qualified("schema_migrations")) (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let done = try connection.execute("SELECT version FROM \(schema.qualified("schema_migrations"))")
        let appliedVersions = Set(done.rows.compactMap { $0.first.flatMap { $0.flatMap { Int($0) } } })
        var applied: [String] = []
        for migration in Self.migrations where !appliedVersions.contains(migration.version) {
            try connection.transaction { connection in
                try connection.execute(migration.sql(schema))
                try connection.execute(
                    "INSERT INTO \(schema.qualified("schema_migrations")) (version, name) VALUES ($1, $2)",
                    [.int4(Int32(migration.version)), .text(migration.name)])
            }
            applied.append("\(migration.version) \(migration.name)")
        }
        let created = try ensurePartitions(months: Self.monthsAhead(of: now), on: connection)
        return MigrationReport(applied: applied, partitionsCreated: created)
    }

    /// The applied versions, ascending.
    public func appliedMigrations(on connection: PGConnection) throws -> [Int] {
        let result = try connection.execute(
            "SELECT version FROM \(schema.qualified("schema_migrations")) ORDER BY version")
        return result.rows.compactMap { $0.first.flatMap { $0.flatMap { Int($0) } } }
    }

    /// All migrations, ascending by version. Never edit a released one: add a new version.
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "ledger tables", sql: ledgerTablesSQL),
        Migration(version: 2, name: "budgets and views", sql: viewsSQL),
        Migration(version: 3, name: "money and tokens as numeric", sql: numericMoneySQL),
        Migration(version: 4, name: "sampled spans", sql: sampledSpansSQL),
        Migration(version: 5, name: "budget alerts", sql: budgetAlertsSQL),
    ]
}

// Money is integer nano-USD (numeric since v3, so that no sum of untrusted values can overflow); USD in views is `numeric(30,9)` computed as cost_nusd × 0.000000001 (a
// multiplication keeps scale 9 exactly; a division might round).
private let usd = "::numeric * 0.000000001)::numeric(30,9)"

@Sendable private func ledgerTablesSQL(_ s: SchemaName) -> String {
    """
    CREATE TABLE \(s.qualified("transactions")) (
        month date NOT NULL,
        trace_id bytea NOT NULL CHECK (octet_length(trace_id) = 16),
        transaction text,
        service text,
        environment text,
        session_id text,
        cost_nusd bigint NOT NULL DEFAULT 0,
        compute_nusd bigint NOT NULL DEFAULT 0,
        serverless_nusd bigint NOT NULL DEFAULT 0,
        llm_nusd bigint NOT NULL DEFAULT 0,
        span_count bigint NOT NULL DEFAULT 0,
        error_count bigint NOT NULL DEFAULT 0,
        unpriced_count bigint NOT NULL DEFAULT 0,
        input_tokens bigint NOT NULL DEFAULT 0,
        output_tokens bigint NOT NULL DEFAULT 0,
        first_start timestamptz,
        last_end timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (trace_id, month)
    ) PARTITION BY RANGE (month);

    CREATE TABLE \(s.qualified("domain_hourly")) (
        hour timestamptz NOT NULL,
        transaction text NOT NULL,
        cost_nusd bigint NOT NULL DEFAULT 0,
        span_count bigint NOT NULL DEFAULT 0,
        trace_count bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (hour, transaction)
    ) PARTITION BY RANGE (hour);

    CREATE TABLE \(s.qualified("pending_attribution")) (
        month date NOT NULL,
        trace_id bytea NOT NULL CHECK (octet_length(trace_id) = 16),
        hour timestamptz NOT NULL,
        cost_nusd bigint NOT NULL DEFAULT 0,
        span_count bigint NOT NULL DEFAULT 0,
        first_seen timestamptz NOT NULL,
        PRIMARY KEY (trace_id, month, hour)
    ) PARTITION BY RANGE (month);
    CREATE INDEX ON \(s.qualified("pending_attribution")) (first_seen);

    CREATE TABLE \(s.qualified("sessions")) (
        month date NOT NULL,
        session_id text NOT NULL,
        cost_nusd bigint NOT NULL DEFAULT 0,
        input_tokens bigint NOT NULL DEFAULT 0,
        output_tokens bigint NOT NULL DEFAULT 0,
        span_count bigint NOT NULL DEFAULT 0,
        depth_max bigint,
        agent_count bigint NOT NULL DEFAULT 0,
        ceiling_hits bigint NOT NULL DEFAULT 0,
        parent_session text,
        first_start timestamptz,
        last_end timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (session_id, month)
    ) PARTITION BY RANGE (month);

    CREATE TABLE \(s.qualified("model_hourly")) (
        hour timestamptz NOT NULL,
        model text NOT NULL,
        service text NOT NULL,
        cost_nusd bigint NOT NULL DEFAULT 0,
        input_tokens bigint NOT NULL DEFAULT 0,
        output_tokens bigint NOT NULL DEFAULT 0,
        calls bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (hour, model, service)
    ) PARTITION BY RANGE (hour);

    CREATE TABLE \(s.qualified("ingest_offsets")) (
        consumer_group text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL CHECK (partition >= 0),
        next_offset bigint NOT NULL CHECK (next_offset >= 0),
        writer text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, topic, partition)
    );

    CREATE TABLE \(s.qualified("rejected_records")) (
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        reason text NOT NULL,
        detail text,
        size_bytes bigint,
        record_time timestamptz,
        rejected_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition, "offset")
    );

    CREATE TABLE \(s.qualified("retention_gaps")) (
        topic text NOT NULL,
        partition integer NOT NULL,
        from_offset bigint NOT NULL,
        to_offset bigint NOT NULL,
        detected_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, partition, from_offset)
    );
    """
}

@Sendable private func viewsSQL(_ s: SchemaName) -> String {
    """
    CREATE TABLE \(s.qualified("budgets")) (
        transaction text PRIMARY KEY,
        usd_per_24h numeric(30,9) NOT NULL CHECK (usd_per_24h >= 0),
        warn_at numeric NOT NULL DEFAULT 0.8,
        updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE VIEW \(s.qualified("transaction_costs")) AS
    SELECT encode(t.trace_id, 'hex') AS trace_id, t.month, t.transaction, t.service, t.environment,
           t.session_id, t.cost_nusd, (t.cost_nusd\(usd) AS cost_usd,
           t.compute_nusd, t.serverless_nusd, t.llm_nusd,
           t.span_count, t.error_count, t.unpriced_count, t.input_tokens, t.output_tokens,
           t.first_start, t.last_end, t.updated_at
    FROM \(s.qualified("transactions")) t;

    CREATE VIEW \(s.qualified("domain_costs_24h")) AS
    SELECT d.transaction, sum(d.cost_nusd)::bigint AS cost_nusd, (sum(d.cost_nusd)\(usd) AS cost_usd,
           sum(d.span_count)::bigint AS span_count, sum(d.trace_count)::bigint AS trace_count,
           b.usd_per_24h AS budget_usd,
           CASE WHEN b.usd_per_24h > 0
                THEN round((sum(d.cost_nusd)::numeric * 0.000000001) / b.usd_per_24h, 6) END AS utilization
    FROM \(s.qualified("domain_hourly")) d
    LEFT JOIN \(s.qualified("budgets")) b ON b.transaction = d.transaction
    WHERE d.hour >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
    GROUP BY d.transaction, b.usd_per_24h;

    CREATE VIEW \(s.qualified("session_costs")) AS
    SELECT s.session_id, sum(s.cost_nusd)::bigint AS cost_nusd, (sum(s.cost_nusd)\(usd) AS cost_usd,
           sum(s.input_tokens)::bigint AS input_tokens, sum(s.output_tokens)::bigint AS output_tokens,
           sum(s.span_count)::bigint AS span_count, max(s.depth_max) AS depth_max,
           sum(s.agent_count)::bigint AS agent_count, sum(s.ceiling_hits)::bigint AS ceiling_hits,
           max(s.parent_session) AS parent_session, min(s.first_start) AS first_start,
           max(s.last_end) AS last_end
    FROM \(s.qualified("sessions")) s
    GROUP BY s.session_id;
    """
}

/// v3: money and token columns become `numeric` (integers, exact, unbounded): a row sums what any number
/// of epochs added, and 64 bits would overflow (SQLSTATE 22003, an unwritable epoch) on a stream that
/// claims a few billion USD or 2^63 tokens. The views are recreated with numeric sums.
@Sendable private func numericMoneySQL(_ s: SchemaName) -> String {
    let money = ["transactions": ["cost_nusd", "compute_nusd", "serverless_nusd", "llm_nusd", "input_tokens", "output_tokens"],
                 "domain_hourly": ["cost_nusd"], "pending_attribution": ["cost_nusd"],
                 "sessions": ["cost_nusd", "input_tokens", "output_tokens"],
                 "model_hourly": ["cost_nusd", "input_tokens", "output_tokens"]]
    var sql = """
        DROP VIEW \(s.qualified("transaction_costs"));
        DROP VIEW \(s.qualified("domain_costs_24h"));
        DROP VIEW \(s.qualified("session_costs"));

        """
    for table in money.keys.sorted() {
        let columns = money[table] ?? []
        sql += "ALTER TABLE \(s.qualified(table)) "
            + columns.map { "ALTER COLUMN \($0) TYPE numeric" }.joined(separator: ", ") + ";\n"
    }
    return sql + """
        CREATE VIEW \(s.qualified("transaction_costs")) AS
        SELECT encode(t.trace_id, 'hex') AS trace_id, t.month, t.transaction, t.service, t.environment,
               t.session_id, t.cost_nusd, (t.cost_nusd\(usd) AS cost_usd,
               t.compute_nusd, t.serverless_nusd, t.llm_nusd,
               t.span_count, t.error_count, t.unpriced_count, t.input_tokens, t.output_tokens,
               t.first_start, t.last_end, t.updated_at
        FROM \(s.qualified("transactions")) t;

        CREATE VIEW \(s.qualified("domain_costs_24h")) AS
        SELECT d.transaction, sum(d.cost_nusd) AS cost_nusd, (sum(d.cost_nusd)\(usd) AS cost_usd,
               sum(d.span_count)::bigint AS span_count, sum(d.trace_count)::bigint AS trace_count,
               b.usd_per_24h AS budget_usd,
               CASE WHEN b.usd_per_24h > 0
                    THEN round((sum(d.cost_nusd) * 0.000000001) / b.usd_per_24h, 6) END AS utilization
        FROM \(s.qualified("domain_hourly")) d
        LEFT JOIN \(s.qualified("budgets")) b ON b.transaction = d.transaction
        WHERE d.hour >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
        GROUP BY d.transaction, b.usd_per_24h;

        CREATE VIEW \(s.qualified("session_costs")) AS
        SELECT s.session_id, sum(s.cost_nusd) AS cost_nusd, (sum(s.cost_nusd)\(usd) AS cost_usd,
               sum(s.input_tokens) AS input_tokens, sum(s.output_tokens) AS output_tokens,
               sum(s.span_count)::bigint AS span_count, max(s.depth_max) AS depth_max,
               sum(s.agent_count)::bigint AS agent_count, sum(s.ceiling_hits)::bigint AS ceiling_hits,
               max(s.parent_session) AS parent_session, min(s.first_start) AS first_start,
               max(s.last_end) AS last_end
        FROM \(s.qualified("sessions")) s
        GROUP BY s.session_id;
        """
}

/// v5: the budget threshold crossings in force, one row per (domain, level) from the check that saw spend
/// reach the level until a check sees it below again. Workers insert with `ON CONFLICT DO NOTHING` and only
/// the inserter sends the webhook notice: one notice per crossing for a whole pool.
@Sendable private func budgetAlertsSQL(_ s: SchemaName) -> String {
    """
    CREATE TABLE \(s.qualified("budget_alerts")) (
        transaction text NOT NULL,
        level text NOT NULL CHECK (level IN ('warn', 'breach')),
        spend_nusd numeric NOT NULL,
        budget_nusd numeric NOT NULL,
        crossed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (transaction, level)
    );
    """
}

/// v4: `transactions.sampled_spans`, Σ of the spans' OpenTelemetry sampling adjusted counts
/// (`ot=th:` threshold T → 2^56 / (2^56 − T); 1 for a span without a threshold), each span's count
/// rounded half to even to 6 decimals, summed exactly. Cost is never extrapolated by it (see
/// docs/ledger.md, "Sampling"). Rows written before v4 get `span_count` (they were counted unsampled).
/// `transaction_costs` gains the column at its end (CREATE OR REPLACE keeps the existing columns).
/// `session_costs.parent_session` becomes the least name in byte order (`COLLATE "C"`), as the writer
/// now keeps per row, so it does not depend on the order epochs and workers wrote in.
@Sendable private func sampledSpansSQL(_ s: SchemaName) -> String {
    """
    ALTER TABLE \(s.qualified("transactions")) ADD COLUMN sampled_spans numeric(38,6) NOT NULL DEFAULT 0;
    UPDATE \(s.qualified("transactions")) SET sampled_spans = span_count;

    CREATE OR REPLACE VIEW \(s.qualified("transaction_costs")) AS
    SELECT encode(t.trace_id, 'hex') AS trace_id, t.month, t.transaction, t.service, t.environment,
           t.session_id, t.cost_nusd, (t.cost_nusd\(usd) AS cost_usd,
           t.compute_nusd, t.serverless_nusd, t.llm_nusd,
           t.span_count, t.error_count, t.unpriced_count, t.input_tokens, t.output_tokens,
           t.first_start, t.last_end, t.updated_at, t.sampled_spans
    FROM \(s.qualified("transactions")) t;

    CREATE OR REPLACE VIEW \(s.qualified("session_costs")) AS
    SELECT s.session_id, sum(s.cost_nusd) AS cost_nusd, (sum(s.cost_nusd)\(usd) AS cost_usd,
           sum(s.input_tokens) AS input_tokens, sum(s.output_tokens) AS output_tokens,
           sum(s.span_count)::bigint AS span_count, max(s.depth_max) AS depth_max,
           sum(s.agent_count)::bigint AS agent_count, sum(s.ceiling_hits)::bigint AS ceiling_hits,
           (min(s.parent_session COLLATE "C") COLLATE "default") AS parent_session, min(s.first_start) AS first_start,
           max(s.last_end) AS last_end
    FROM \(s.qualified("sessions")) s
    GROUP BY s.session_id;
    """
}
