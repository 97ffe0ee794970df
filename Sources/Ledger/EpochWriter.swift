public import Aggregation
import Foundation
import TraceContext

/// What one ``LedgerEpochWriter/write(_:on:)`` did.
public struct EpochWriteReport: Sendable {
    /// Transactions tried (1 unless a deadlock, serialization failure or missing partition forced a retry).
    public var attempts: Int
    /// Partitions created on demand after a `23514`.
    public var partitionsCreated: [String]
    /// Wall time of the whole write, retries included.
    public var duration: Duration
}

/// Writes sealed epochs into the ledger, synchronously, on the caller's connection.
///
/// Guarantees:
/// - One epoch = one transaction: either every delta, rejected record, retention gap and offset move of
///   the epoch is visible, or none is.
/// - Fencing: each partition's `ingest_offsets.next_offset` moves from the epoch's `from` (or from
///   "no row") to its `to`; if any partition no longer matches, the transaction rolls back and
///   the write throws `LedgerError.fenced` naming that partition. This check runs first, so a zombie
///   writer takes no ledger row lock.
/// - Upserts are additive and set-based (binary COPY into `ON COMMIT DELETE ROWS` temp tables, then one
///   `INSERT … SELECT … ORDER BY key ON CONFLICT DO UPDATE` per table, grouped by key in SQL except for
///   `transactions`, whose rows are merged per key and sorted before the COPY), `transactions` first,
///   then the rollups, each in key order, so concurrent writers lock rows in one order.
/// - After every commit: Σ transactions.cost_nusd = Σ domain_hourly.cost_nusd + Σ pending_attribution.cost_nusd.
/// - Retries: `23514` (no partition for a month) → creates the epoch's partitions in a short separate
///   transaction, then retries; `40P01`/`40001` → retries with a short backoff; both bounded.
/// - Blocks the calling thread: call it on the connection's dedicated thread (see ``EpochWriter``).
public struct LedgerEpochWriter: Sendable {
    public var schema: LedgerSchema
    /// Pending attribution older than this (in record time) moves under ``unattributed``.
    public var attributionGrace: Duration
    /// Attempts at most for deadlocks and serialization failures (≥ 1).
    public var conflictAttemptsMax: Int
    /// Partition-creation retries at most after `23514`.
    public var partitionRetriesMax: Int
    /// `work_mem` of the epoch transaction (MB).
    public var workMemMegabytes: Int = 64
    /// Whether rows of one key in several slices are added up here (checked; the upsert then neither
    /// groups nor sorts) rather than by the upsert's `GROUP BY`. Tests turn it off to compare the two.
    var mergesTransactionsBeforeCopy = true

    /// The domain name of cost whose root never arrived within the grace period.
    public static let unattributed = "(unattributed)"

    public init(
        schema: LedgerSchema = LedgerSchema(), attributionGrace: Duration = .seconds(15 * 60),
        conflictAttemptsMax: Int = 8, partitionRetriesMax: Int = 2
    ) {
        self.schema = schema
        self.attributionGrace = attributionGrace
        self.conflictAttemptsMax = max(1, conflictAttemptsMax)
        self.partitionRetriesMax = max(0, partitionRetriesMax)
    }

    /// Writes `epoch` in one transaction (see the type's guarantees).
    ///
    /// - Throws: `LedgerError` `.invalidEpoch` before any I/O; `.fenced` (nothing written);
    ///   `.retriesExhausted` wrapping the last conflict; any other server error as is (nothing written).
    public func write(_ epoch: LedgerEpoch, on connection: PGConnection) throws -> EpochWriteReport {
        let clock = ContinuousClock()
        let started = clock.now
        try epoch.validatePlan()
        let staged = try StagedEpoch(epoch, mergingTransactions: mergesTransactionsBeforeCopy)  // Checks the rows (hours, sums) as it encodes them.
        var attempts = 0
        var partitionRetries = 0
        var created: [String] = []
        while true {
            attempts += 1
            do {
                try writeOnce(epoch, staged: staged, on: connection)
                return EpochWriteReport(attempts: attempts, partitionsCreated: created, duration: clock.now - started)
            } catch let error as LedgerError where error.sqlState == SQLState.checkViolation && partitionRetries < partitionRetriesMax {
                // 23514 on a partitioned insert: no partition for that month. Create them, outside the epoch.
                partitionRetries += 1
                created += try schema.ensurePartitions(months: try epoch.months(), on: connection)
            } catch let error as LedgerError where error.isRetriableTransactionConflict {
                guard attempts < conflictAttemptsMax else {
                    var exhausted = error
                    exhausted.code = .retriesExhausted
                    exhausted.message = "gave up after \(attempts) attempts: \(error.message)"
                    throw exhausted
                }
                // Jittered backoff on this (dedicated) thread: 2^attempt ms ± 50 %, at most ~260 ms.
                let baseMillis = Double(1 << min(attempts, 8))
                Thread.sleep(forTimeInterval: baseMillis * Double.random(in: 0.5...1.5) / 1000)
            }
        }
    }

    /// The stored `next_offset` of each of `partitions` that has a row for `group` (absent = none stored).
    public func readOffsets(
        group: String, partitions: some Sequence<PartitionKey>, on connection: PGConnection
    ) throws -> [PartitionKey: Int64] {
        let wanted = Set(partitions)
        var offsets: [PartitionKey: Int64] = [:]
        for topic in Set(wanted.map(\.topic)).sorted() {
            let result = try connection.execute(
                "SELECT partition, next_offset FROM \(table("ingest_offsets")) WHERE consumer_group = $1 AND topic = $2",
                [.text(group), .text(topic)])
            for row in result.rows.indices {
                guard let partition = result.int64(row, 0).flatMap(Int32.init(exactly:)), let next = result.int64(row, 1)
                else { throw LedgerError(.unexpectedResult, message: "bad ingest_offsets row") }
                let key = PartitionKey(topic: topic, partition: partition)
                if wanted.contains(key) { offsets[key] = next }
            }
        }
        return offsets
    }

    // MARK: - One attempt

    private func table(_ name: String) -> String { schema.schema.qualified(name) }

    private func writeOnce(_ epoch: LedgerEpoch, staged: StagedEpoch, on connection: PGConnection) throws {
        if !connection.stagingTablesCreated {
            // Outside the transaction, once per session, so that a rollback keeps them.
            try connection.execute(Self.stagingDDL)
            connection.stagingTablesCreated = true
        }
        try connection.transaction { connection in
            // Sorts and hash aggregates of ~50k staged rows stay in memory (the 4 MB default spills to disk).
            try connection.execute("SET LOCAL work_mem = '\(workMemMegabytes)MB'")
            try fence(epoch, on: connection)
            for (name, data) in staged.copies {
                try connection.copyIn("COPY pg_temp.\(name) FROM STDIN (FORMAT binary)", data: data)
            }
            try upsertTransactionsAndAttribute(epoch, staged: staged, on: connection)
            try upsertRollups(staged, on: connection)
        }
    }

    /// Moves every partition's offset with the fencing check, in ONE statement (one round trip however
    /// many partitions the epoch moves); throws `.fenced` naming the first partition (in key order) that
    /// did not move. A partition with a stored offset moves only from exactly `from` (a row another
    /// writer holds locked is waited for, then re-checked against its committed value); one with none
    /// gets its row only if no other writer created it meanwhile.
    private func fence(_ epoch: LedgerEpoch, on connection: PGConnection) throws {
        let advances = epoch.plan.advances.sorted(by: { $0.partition < $1.partition })
        guard !advances.isEmpty else { return }
        let offsets = table("ingest_offsets")
        let moved = try connection.execute(
            """
            WITH adv AS (
                SELECT * FROM unnest($2::text[], $3::int4[], $4::int8[], $5::int8[])
                    AS a(topic, partition, from_offset, next_offset)
            ), updated AS (
                UPDATE \(offsets) o SET next_offset = a.next_offset, writer = $6, updated_at = now()
                FROM adv a
                WHERE o.consumer_group = $1 AND o.topic = a.topic AND o.partition = a.partition
                    AND a.from_offset IS NOT NULL AND o.next_offset = a.from_offset
                RETURNING o.topic, o.partition
            ), created AS (
                INSERT INTO \(offsets) (consumer_group, topic, partition, next_offset, writer)
                SELECT $1, a.topic, a.partition, a.next_offset, $6 FROM adv a WHERE a.from_offset IS NULL
                ORDER BY a.topic, a.partition
                ON CONFLICT DO NOTHING
                RETURNING topic, partition
            )
            SELECT topic, partition FROM updated UNION ALL SELECT topic, partition FROM created
            """,
            [.text(epoch.consumerGroup), .text(Self.arrayLiteral(advances.map { $0.partition.topic })),
             .text(Self.arrayLiteral(advances.map { "\($0.partition.partition)" })),
             .text(Self.arrayLiteral(advances.map { $0.from.map { "\($0)" } })),
             .text(Self.arrayLiteral(advances.map { "\($0.to)" })), .text(epoch.writerID)])
        var done = Set<PartitionKey>()
        for row in moved.rows.indices {
            guard let topic = moved.string(row, 0), let partition = moved.int64(row, 1).flatMap(Int32.init(exactly:)) else {
                throw LedgerError(.unexpectedResult, message: "bad row from the offsets fence")
            }
            done.insert(PartitionKey(topic: topic, partition: partition))
        }
        if let advance = advances.first(where: { !done.contains($0.partition) }) {
            throw LedgerError(
                .fenced,
                message: "offset of \(advance.partition) in group \(epoch.consumerGroup) is no longer "
                    + (advance.from.map { "at \($0)" } ?? "unset") + "; another writer owns it",
                partition: advance.partition)
        }
    }

    /// A PostgreSQL array literal (`{"a","b",NULL}`) of `values`, each quoted and escaped.
    static func arrayLiteral(_ values: [String?]) -> String {
        var out = "{"
        for (i, v) in values.enumerated() {
            if i > 0 { out += "," }
            guard let v else {
                out += "NULL"
                continue
            }
            out += "\""
            for c in v.unicodeScalars {
                if c == "\"" || c == "\\" { out += "\\" }
                out.unicodeScalars.append(c)
            }
            out += "\""
        }
        return out + "}"
    }

    private func upsertTransactionsAndAttribute(_ epoch: LedgerEpoch, staged: StagedEpoch, on connection: PGConnection) throws {
        // "Now" for the grace rule: the newest valid record time (the pipeline passes only those); a value
        // outside years 1 ... 9999 would not be a time, so it sweeps nothing and stamps the epoch start.
        let recordNow = PGTime.unixMicros(fromMillis: epoch.plan.maxRecordTimeUnixMillis) ?? 0
        let graceMicros = attributionGrace.components.seconds * 1_000_000 + attributionGrace.components.attoseconds / 1_000_000_000_000
        if staged.hasTransactions {
            // transactions first, in key order; RETURNING gives each touched trace's (possibly older) root name.
            try connection.execute(
                """
                WITH up AS (
                    INSERT INTO \(table("transactions")) AS t (month, trace_id, transaction, service, environment,
                        session_id, cost_nusd, compute_nusd, serverless_nusd, llm_nusd, span_count, error_count,
                        unpriced_count, input_tokens, output_tokens, first_start, last_end, updated_at, sampled_spans)
                    \(staged.transactionsUnique ? Self.stagedTransactionsAsIs : Self.stagedTransactionsGrouped)
                    ON CONFLICT (trace_id, month) DO UPDATE SET
                        transaction = coalesce(t.transaction, EXCLUDED.transaction),
                        service = CASE WHEN t.transaction IS NULL AND EXCLUDED.transaction IS NOT NULL
                            THEN coalesce(EXCLUDED.service, t.service) ELSE coalesce(t.service, EXCLUDED.service) END,
                        environment = CASE WHEN t.transaction IS NULL AND EXCLUDED.transaction IS NOT NULL
                            THEN coalesce(EXCLUDED.environment, t.environment) ELSE coalesce(t.environment, EXCLUDED.environment) END,
                        session_id = coalesce(t.session_id, EXCLUDED.session_id),
                        cost_nusd = t.cost_nusd + EXCLUDED.cost_nusd,
                        compute_nusd = t.compute_nusd + EXCLUDED.compute_nusd,
                        serverless_nusd = t.serverless_nusd + EXCLUDED.serverless_nusd,
                        llm_nusd = t.llm_nusd + EXCLUDED.llm_nusd,
                        span_count = t.span_count + EXCLUDED.span_count,
                        error_count = t.error_count + EXCLUDED.error_count,
                        unpriced_count = t.unpriced_count + EXCLUDED.unpriced_count,
                        input_tokens = t.input_tokens + EXCLUDED.input_tokens,
                        output_tokens = t.output_tokens + EXCLUDED.output_tokens,
                        first_start = least(t.first_start, EXCLUDED.first_start),
                        last_end = greatest(t.last_end, EXCLUDED.last_end),
                        updated_at = EXCLUDED.updated_at,
                        sampled_spans = t.sampled_spans + EXCLUDED.sampled_spans
                    RETURNING t.trace_id, t.transaction
                )
                INSERT INTO pg_temp.traceledger_stage_names (trace_id, transaction)
                SELECT DISTINCT ON (trace_id) trace_id, transaction FROM up WHERE transaction IS NOT NULL
                ORDER BY trace_id
                """)
        }
        // Attribution sources, gathered then upserted into domain_hourly in ONE statement (one lock order):
        // (a) this epoch's cost of named traces, (b) roots for trace_count (both summed per hour and
        // transaction here: one staged row per domain-hour, not per trace),
        // (c) pending rows of traces now named, (d) pending rows past the grace period, in record time.
        try connection.execute(
            """
            INSERT INTO pg_temp.traceledger_stage_dom (hour, transaction, cost, spans, traces)
            SELECT hour, transaction, sum(cost), sum(spans)::bigint, sum(traces)::bigint FROM (
                SELECT th.hour, n.transaction, th.cost, th.spans, 0::int8 AS traces
                FROM pg_temp.traceledger_stage_th th JOIN pg_temp.traceledger_stage_names n USING (trace_id)
                UNION ALL
                SELECT hour, transaction, 0, 0, traces FROM pg_temp.traceledger_stage_roots
            ) named GROUP BY hour, transaction
            """)
        try connection.execute(
            """
            WITH moved AS (
                DELETE FROM \(table("pending_attribution")) p USING pg_temp.traceledger_stage_names n
                WHERE p.trace_id = n.trace_id
                RETURNING p.hour, n.transaction, p.cost_nusd, p.span_count
            )
            INSERT INTO pg_temp.traceledger_stage_dom (hour, transaction, cost, spans, traces)
            SELECT hour, transaction, cost_nusd, span_count, 0 FROM moved
            """)
        try connection.execute(
            """
            WITH swept AS (
                DELETE FROM \(table("pending_attribution")) p WHERE p.first_seen < $1
                RETURNING p.hour, p.cost_nusd, p.span_count
            )
            INSERT INTO pg_temp.traceledger_stage_dom (hour, transaction, cost, spans, traces)
            SELECT hour, $2, cost_nusd, span_count, 0 FROM swept
            """,
            [.timestamptz(unixMicros: recordNow &- graceMicros), .text(Self.unattributed)])
        // Cost of traces whose root is still unknown waits in pending_attribution, stamped with record time.
        try connection.execute(
            """
            INSERT INTO \(table("pending_attribution")) AS p (month, trace_id, hour, cost_nusd, span_count, first_seen)
            SELECT th.month, th.trace_id, th.hour, sum(th.cost), sum(th.spans)::bigint, $1
            FROM pg_temp.traceledger_stage_th th
            WHERE NOT EXISTS (SELECT 1 FROM pg_temp.traceledger_stage_names n WHERE n.trace_id = th.trace_id)
            GROUP BY th.trace_id, th.month, th.hour ORDER BY th.trace_id, th.month, th.hour
            ON CONFLICT (trace_id, month, hour) DO UPDATE SET
                cost_nusd = p.cost_nusd + EXCLUDED.cost_nusd,
                span_count = p.span_count + EXCLUDED.span_count,
                first_seen = least(p.first_seen, EXCLUDED.first_seen)
            """,
            [.timestamptz(unixMicros: recordNow)])
        try connection.execute(
            """
            INSERT INTO \(table("domain_hourly")) AS d (hour, transaction, cost_nusd, span_count, trace_count, updated_at)
            SELECT hour, transaction, sum(cost), sum(spans)::bigint, sum(traces)::bigint, now()
            FROM pg_temp.traceledger_stage_dom
            GROUP BY hour, transaction ORDER BY hour, transaction
            ON CONFLICT (hour, transaction) DO UPDATE SET
                cost_nusd = d.cost_nusd + EXCLUDED.cost_nusd,
                span_count = d.span_count + EXCLUDED.span_count,
                trace_count = d.trace_count + EXCLUDED.trace_count,
                updated_at = EXCLUDED.updated_at
            """)
    }

    private func upsertRollups(_ staged: StagedEpoch, on connection: PGConnection) throws {
        if staged.hasSessions {
            try connection.execute(
                """
                INSERT INTO \(table("sessions")) AS s (month, session_id, cost_nusd, input_tokens, output_tokens,
                    span_count, depth_max, agent_count, ceiling_hits, parent_session, first_start, last_end, updated_at)
                SELECT month, session_id, sum(cost), sum(input_tokens), sum(output_tokens),
                    sum(spans)::bigint, max(depth_max), sum(agent_count)::bigint, sum(ceiling_hits)::bigint,
                    min(parent_session COLLATE "C"), min(first_start), max(last_end), now()
                FROM pg_temp.traceledger_stage_sess
                GROUP BY session_id, month ORDER BY session_id, month
                ON CONFLICT (session_id, month) DO UPDATE SET
                    cost_nusd = s.cost_nusd + EXCLUDED.cost_nusd,
                    input_tokens = s.input_tokens + EXCLUDED.input_tokens,
                    output_tokens = s.output_tokens + EXCLUDED.output_tokens,
                    span_count = s.span_count + EXCLUDED.span_count,
                    depth_max = greatest(s.depth_max, EXCLUDED.depth_max),
                    agent_count = s.agent_count + EXCLUDED.agent_count,
                    ceiling_hits = s.ceiling_hits + EXCLUDED.ceiling_hits,
                    parent_session = least(s.parent_session COLLATE "C", EXCLUDED.parent_session COLLATE "C"),
                    first_start = least(s.first_start, EXCLUDED.first_start),
                    last_end = greatest(s.last_end, EXCLUDED.last_end),
                    updated_at = EXCLUDED.updated_at
                """)
        }
        if staged.hasModels {
            try connection.execute(
                """
                INSERT INTO \(table("model_hourly")) AS m (hour, model, service, cost_nusd, input_tokens,
                    output_tokens, calls, updated_at)
                SELECT hour, model, service, sum(cost), sum(input_tokens),
                    sum(output_tokens), sum(calls)::bigint, now()
                FROM pg_temp.traceledger_stage_model
                GROUP BY hour, model, service ORDER BY hour, model, service
                ON CONFLICT (hour, model, service) DO UPDATE SET
                    cost_nusd = m.cost_nusd + EXCLUDED.cost_nusd,
                    input_tokens = m.input_tokens + EXCLUDED.input_tokens,
                    output_tokens = m.output_tokens + EXCLUDED.output_tokens,
                    calls = m.calls + EXCLUDED.calls,
                    updated_at = EXCLUDED.updated_at
                """)
        }
        if staged.hasRejected {
            try connection.execute(
                """
                INSERT INTO \(table("rejected_records")) (topic, partition, "offset", reason, detail, size_bytes, record_time)
                SELECT topic, partition, "offset", reason, detail, size_bytes, record_time
                FROM pg_temp.traceledger_stage_rej ORDER BY topic, partition, "offset"
                ON CONFLICT DO NOTHING
                """)
        }
        if staged.hasGaps {
            try connection.execute(
                """
                INSERT INTO \(table("retention_gaps")) (topic, partition, from_offset, to_offset)
                SELECT topic, partition, from_offset, to_offset
                FROM pg_temp.traceledger_stage_gap ORDER BY topic, partition, from_offset
                ON CONFLICT DO NOTHING
                """)
        }
    }

    /// The upsert's source when the staged `transactions` rows are one per key, in key order (the usual
    /// case): the rows as they are. The sort finds them presorted.
    static let stagedTransactionsAsIs = """
        SELECT month, trace_id, transaction, service, environment, session_id, cost, compute, serverless, llm,
            spans, errors, unpriced, input_tokens, output_tokens, first_start, last_end, now(),
            sampled_micro * 0.000001
        FROM pg_temp.traceledger_stage_tx ORDER BY trace_id, month
        """

    /// The upsert's source when staged rows may share a key (slices whose sums could overflow `bigint`
    /// when added in Swift): added up in `numeric`, the root row's service and environment preferred.
    static let stagedTransactionsGrouped = """
        SELECT month, trace_id, max(transaction),
            coalesce(max(service) FILTER (WHERE transaction IS NOT NULL), max(service)),
            coalesce(max(environment) FILTER (WHERE transaction IS NOT NULL), max(environment)),
            max(session_id), sum(cost), sum(compute), sum(serverless),
            sum(llm), sum(spans)::bigint, sum(errors)::bigint, sum(unpriced)::bigint,
            sum(input_tokens), sum(output_tokens), min(first_start), max(last_end), now(),
            sum(sampled_micro) * 0.000001
        FROM pg_temp.traceledger_stage_tx
        GROUP BY trace_id, month ORDER BY trace_id, month
        """

    /// Session-local staging tables, emptied at every commit (and by any rollback of their rows).
    static let stagingDDL = """
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_tx (month date, trace_id bytea, transaction text,
            service text, environment text, session_id text, cost int8, compute int8, serverless int8, llm int8,
            spans int8, errors int8, unpriced int8, input_tokens int8, output_tokens int8,
            first_start timestamptz, last_end timestamptz, sampled_micro int8) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_th (month date, hour timestamptz, trace_id bytea,
            cost int8, spans int8) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_roots (hour timestamptz, transaction text, traces int8)
            ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_sess (month date, session_id text, cost int8,
            input_tokens int8, output_tokens int8, spans int8, depth_max int8, agent_count int8, ceiling_hits int8,
            parent_session text, first_start timestamptz, last_end timestamptz) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_model (hour timestamptz, model text, service text,
            cost int8, input_tokens int8, output_tokens int8, calls int8) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_rej (topic text, partition int4, "offset" int8,
            reason text, detail text, size_bytes int8, record_time timestamptz) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_gap (topic text, partition int4, from_offset int8,
            to_offset int8) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_names (trace_id bytea, transaction text) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS traceledger_stage_dom (hour timestamptz, transaction text, cost numeric,
            spans int8, traces int8) ON COMMIT DELETE ROWS
        """
}

/// An epoch encoded once as binary COPY streams (reused as is by every retry), straight from the
/// deltas' dictionaries: one pass per table over every slice of every delta, no intermediate rows.
struct StagedEpoch: Sendable {
    var copies: [(table: String, data: [UInt8])] = []
    var hasTransactions = false
    /// The staged `transactions` rows have distinct keys and come in (trace_id, month) order.
    var transactionsUnique = false
    var hasSessions = false
    var hasModels = false
    var hasRejected = false
    var hasGaps = false

    /// - Throws: what ``LedgerEpoch/validate()`` throws for the rows: `LedgerError.invalidMonth` for an
    ///   hour outside 1970-01 ... 9999-12, `.invalidEpoch` when Σ transactions ≠ Σ trace-hours cost.
    init(_ epoch: LedgerEpoch, mergingTransactions: Bool) throws {
        let slices = epoch.slices
        var counts = (transactions: 0, traceHours: 0, roots: 0, sessions: 0, models: 0, rejected: 0)
        for slice in slices {
            counts.transactions += slice.transactions.count
            counts.traceHours += slice.traceHours.count
            counts.roots += slice.roots.count
            counts.sessions += slice.sessions.count
            counts.models += slice.models.count
        }
        for delta in epoch.deltas { counts.rejected += delta.rejected.count }

        // Int128: see LedgerEpoch.validate().
        var traceSum: Int128 = 0
        var hourSum: Int128 = 0
        // Rows of one epoch share a few months and hours: their `date` is computed once per run of equal keys.
        var dates = DateCache()
        if counts.transactions > 0 {
            hasTransactions = true
            var encoder = BinaryCopyEncoder(reservingCapacity: counts.transactions * 200)
            if mergingTransactions, let merged = EpochDelta.mergedTransactions(of: slices) {
                // One row per key, in the upsert's (trace_id, month) order: the SQL neither groups nor
                // (beyond a presorted check) sorts them.
                transactionsUnique = true
                var order = Array(merged.indices)  // Sorted positions: no second hash lookup per row.
                order.sort {
                    let (a, b) = (merged[$0].key, merged[$1].key)
                    return (a.traceID, a.month) < (b.traceID, b.month)
                }
                for index in order {
                    let (key, delta) = merged[index]
                    traceSum += Int128(delta.costNanoUSD)
                    encoder.appendTransactionRow(key, delta, days: dates.days(key.month))
                }
            } else {
                for slice in slices {
                    for (key, delta) in slice.transactions {
                        traceSum += Int128(delta.costNanoUSD)
                        encoder.appendTransactionRow(key, delta, days: dates.days(key.month))
                    }
                }
            }
            copies.append(("traceledger_stage_tx", encoder.finish()))
        }
        if counts.traceHours > 0 {
            var encoder = BinaryCopyEncoder(reservingCapacity: counts.traceHours * 70)
            for slice in slices {
                for (key, delta) in slice.traceHours {
                    try LedgerEpoch.checkHour(key.hour)
                    hourSum += Int128(delta.costNanoUSD)
                    encoder.beginRow(fieldCount: 5)
                    encoder.appendDate(postgresDays: dates.days(key.hour))
                    encoder.appendTimestamptz(unixMicros: key.hour.unixMicros)
                    encoder.appendTraceID(key.traceID)
                    encoder.appendInt8(delta.costNanoUSD)
                    encoder.appendInt8(delta.spanCount)
                }
            }
            copies.append(("traceledger_stage_th", encoder.finish()))
        }
        if counts.roots > 0 {
            // Only their count per (hour, transaction) is used (trace_count): one row per pair, not per root.
            var rootCounts: [RootSeen: Int64] = [:]
            for slice in slices {
                for root in slice.roots.values {
                    try LedgerEpoch.checkHour(root.hour)
                    rootCounts[root, default: 0] += 1
                }
            }
            var encoder = BinaryCopyEncoder(reservingCapacity: rootCounts.count * 48)
            for (root, traces) in rootCounts {
                encoder.beginRow(fieldCount: 3)
                encoder.appendTimestamptz(unixMicros: root.hour.unixMicros)
                encoder.appendText(root.transaction)
                encoder.appendInt8(traces)
            }
            copies.append(("traceledger_stage_roots", encoder.finish()))
        }
        if counts.sessions > 0 {
            hasSessions = true
            var encoder = BinaryCopyEncoder(reservingCapacity: counts.sessions * 150)
            for slice in slices {
                for (key, delta) in slice.sessions {
                    encoder.beginRow(fieldCount: 12)
                    encoder.appendDate(postgresDays: dates.days(key.month))
                    encoder.appendText(key.sessionID)
                    encoder.appendInt8(delta.costNanoUSD)
                    encoder.appendInt8(delta.inputTokens)
                    encoder.appendInt8(delta.outputTokens)
                    encoder.appendInt8(delta.spanCount)
                    if let depth = delta.depthMax { encoder.appendInt8(depth) } else { encoder.appendNull() }
                    encoder.appendInt8(delta.agentCount)
                    encoder.appendInt8(delta.ceilingHits)
                    encoder.appendText(delta.parentSession)
                    encoder.appendTimestamptz(nanos: delta.firstStartUnixNanos)
                    encoder.appendTimestamptz(nanos: delta.lastEndUnixNanos)
                }
            }
            copies.append(("traceledger_stage_sess", encoder.finish()))
        }
        if counts.models > 0 {
            hasModels = true
            var encoder = BinaryCopyEncoder(reservingCapacity: counts.models * 100)
            for slice in slices {
                for (key, delta) in slice.models {
                    try LedgerEpoch.checkHour(key.hour)
                    encoder.beginRow(fieldCount: 7)
                    encoder.appendTimestamptz(unixMicros: key.hour.unixMicros)
                    encoder.appendText(key.model)
                    encoder.appendText(key.service)
                    encoder.appendInt8(delta.costNanoUSD)
                    encoder.appendInt8(delta.inputTokens)
                    encoder.appendInt8(delta.outputTokens)
                    encoder.appendInt8(delta.calls)
                }
            }
            copies.append(("traceledger_stage_model", encoder.finish()))
        }
        try LedgerEpoch.checkSums(traceSum, hourSum)
        if counts.rejected > 0 {
            hasRejected = true
            var encoder = BinaryCopyEncoder(reservingCapacity: counts.rejected * 100)
            for delta in epoch.deltas {
                for record in delta.rejected {
                    encoder.beginRow(fieldCount: 7)
                    encoder.appendText(record.topic)
                    encoder.appendInt4(record.partition)
                    encoder.appendInt8(record.offset)
                    encoder.appendText(record.reason.rawValue)
                    encoder.appendText(record.detail)
                    encoder.appendInt8(record.sizeBytes)
                    if let micros = PGTime.unixMicros(fromMillis: record.recordTimeUnixMillis) {
                        encoder.appendTimestamptz(unixMicros: micros)
                    } else {
                        encoder.appendNull()
                    }
                }
            }
            copies.append(("traceledger_stage_rej", encoder.finish()))
        }
        if epoch.plan.advances.contains(where: { !$0.gaps.isEmpty }) {
            hasGaps = true
            var encoder = BinaryCopyEncoder()
            for advance in epoch.plan.advances {
                for gap in advance.gaps {
                    encoder.beginRow(fieldCount: 4)
                    encoder.appendText(advance.partition.topic)
                    encoder.appendInt4(advance.partition.partition)
                    encoder.appendInt8(gap.from)
                    encoder.appendInt8(gap.to)
                }
            }
            copies.append(("traceledger_stage_gap", encoder.finish()))
        }
    }
}

/// The PostgreSQL `date` of the last month (or hour) asked for, so that a run of rows with one month
/// computes it once.
struct DateCache {
    private var month: Month?
    private var monthDays: Int32 = 0
    private var hour: UTCHour?
    private var hourDays: Int32 = 0

    mutating func days(_ month: Month) -> Int32 {
        if month != self.month {
            self.month = month
            monthDays = month.postgresDays
        }
        return monthDays
    }

    /// - Precondition: the hour is in the ledger's range (checked just before).
    mutating func days(_ hour: UTCHour) -> Int32 {
        if hour != self.hour {
            self.hour = hour
            hourDays = hour.month.postgresDays
        }
        return hourDays
    }
}

extension BinaryCopyEncoder {
    /// One `traceledger_stage_tx` row (18 fields, in the staging table's column order).
    mutating func appendTransactionRow(_ key: TransactionKey, _ delta: TransactionDelta, days: Int32) {
        beginRow(fieldCount: 18)
        appendDate(postgresDays: days)
        appendTraceID(key.traceID)
        appendText(delta.transaction)
        appendText(delta.service)
        appendText(delta.environment)
        appendText(delta.sessionID)
        appendInt8(delta.costNanoUSD)
        appendInt8(delta.computeNanoUSD)
        appendInt8(delta.serverlessNanoUSD)
        appendInt8(delta.llmNanoUSD)
        appendInt8(delta.spanCount)
        appendInt8(delta.errorCount)
        appendInt8(delta.unpricedCount)
        appendInt8(delta.inputTokens)
        appendInt8(delta.outputTokens)
        appendTimestamptz(nanos: delta.firstStartUnixNanos)
        appendTimestamptz(nanos: delta.lastEndUnixNanos)
        appendInt8(delta.sampledSpansMicro)
    }

    mutating func appendTraceID(_ id: TraceID) {
        appendBytea16(high: id.high, low: id.low)
    }

    /// A span time (ns since the Unix epoch) as `timestamptz`: past `Int64.max` ns it clamps (year 2262),
    /// then floors to microseconds.
    mutating func appendTimestamptz(nanos: UInt64) {
        appendTimestamptz(unixMicros: PGTime.unixMicros(fromNanos: Int64(clamping: nanos)))
    }
}

/// Writes epochs and reads offsets on a dedicated ``LedgerWorkerThread`` (never the cooperative pool).
///
/// Guarantees: the ``LedgerEpochWriter`` guarantees, plus: calls run one at a time, in call order, on
/// the worker's thread and connection; at most `queueCapacity` wait (more throw `LedgerError.workerBusy`).
public final class EpochWriter: Sendable {
    public let worker: LedgerWorkerThread
    public let writer: LedgerEpochWriter

    public init(worker: LedgerWorkerThread, writer: LedgerEpochWriter = LedgerEpochWriter()) {
        self.worker = worker
        self.writer = writer
    }

    /// Writes one sealed epoch in one transaction. See ``LedgerEpochWriter/write(_:on:)``.
    public func write(_ epoch: LedgerEpoch) async throws -> EpochWriteReport {
        let writer = self.writer
        return try await worker.run { connection in try writer.write(epoch, on: connection) }
    }

    /// Stored offsets for seeking on assignment. See ``LedgerEpochWriter/readOffsets(group:partitions:on:)``.
    public func readOffsets(group: String, partitions: [PartitionKey]) async throws -> [PartitionKey: Int64] {
        let writer = self.writer
        return try await worker.run { connection in try writer.readOffsets(group: group, partitions: partitions, on: connection) }
    }

    /// Stops the worker thread after the queued calls.
    public func shutdown() { worker.shutdown() }
}
