/// Read-side queries over the ledger for people and tools (`verify`, `dev`'s summary): each returns
/// plain values, summed over months/hours where the table is split by time. Read-only; any connection.
public struct LedgerReader: Sendable {
    public let schema: SchemaName

    public init(schema: SchemaName = .default) { self.schema = schema }

    private func t(_ name: String) -> String { schema.qualified(name) }

    /// One trace over all its months.
    public struct TraceRow: Sendable, Hashable {
        public var traceIDHex: String
        public var costNanoUSD: Int64
        public var spanCount: Int64
        public var errorCount: Int64
        public var unpricedCount: Int64
        public var inputTokens: Int64
        public var outputTokens: Int64
        public var transaction: String?
        public var service: String?
    }

    /// Columns of `TraceRow`, per trace over its months.
    private static let traceColumns = """
        SELECT encode(trace_id, 'hex'), sum(cost_nusd), sum(span_count), sum(error_count), sum(unpriced_count),
               sum(input_tokens), sum(output_tokens), min(transaction), min(service)
        """

    static func traceRows(_ r: PGQueryResult) -> [TraceRow] {
        r.rows.indices.map { i in
            TraceRow(
                traceIDHex: r.string(i, 0) ?? "", costNanoUSD: r.int64(i, 1) ?? 0, spanCount: r.int64(i, 2) ?? 0,
                errorCount: r.int64(i, 3) ?? 0, unpricedCount: r.int64(i, 4) ?? 0, inputTokens: r.int64(i, 5) ?? 0,
                outputTokens: r.int64(i, 6) ?? 0, transaction: r.string(i, 7), service: r.string(i, 8))
        }
    }

    public func traces(on c: PGConnection) throws -> [TraceRow] {
        let r = try c.execute("\(Self.traceColumns) FROM \(t("transactions")) GROUP BY trace_id")
        return Self.traceRows(r)
    }

    /// One domain (root transaction name) over all hours.
    public struct DomainRow: Sendable, Hashable {
        public var transaction: String
        public var costNanoUSD: Int64
        public var spanCount: Int64
        public var traceCount: Int64
    }

    public func domains(on c: PGConnection) throws -> [DomainRow] {
        let r = try c.execute(
            """
            SELECT transaction, sum(cost_nusd), sum(span_count), sum(trace_count)
            FROM \(t("domain_hourly")) GROUP BY transaction ORDER BY sum(cost_nusd) DESC, transaction
            """)
        return r.rows.indices.map { i in
            DomainRow(
                transaction: r.string(i, 0) ?? "", costNanoUSD: r.int64(i, 1) ?? 0, spanCount: r.int64(i, 2) ?? 0,
                traceCount: r.int64(i, 3) ?? 0)
        }
    }

    /// One session over all months.
    public struct SessionRow: Sendable, Hashable {
        public var sessionID: String
        public var costNanoUSD: Int64
        public var inputTokens: Int64
        public var outputTokens: Int64
        public var spanCount: Int64
        public var depthMax: Int64?
        public var agentCount: Int64
        public var ceilingHits: Int64
        public var parentSession: String?
    }

    public func sessions(on c: PGConnection) throws -> [SessionRow] {
        let r = try c.execute(
            """
            SELECT session_id, sum(cost_nusd), sum(input_tokens), sum(output_tokens), sum(span_count), max(depth_max),
                   sum(agent_count), sum(ceiling_hits), min(parent_session COLLATE "C")
            FROM \(t("sessions")) GROUP BY session_id ORDER BY sum(cost_nusd) DESC, session_id
            """)
        return r.rows.indices.map { i in
            SessionRow(
                sessionID: r.string(i, 0) ?? "", costNanoUSD: r.int64(i, 1) ?? 0, inputTokens: r.int64(i, 2) ?? 0,
                outputTokens: r.int64(i, 3) ?? 0, spanCount: r.int64(i, 4) ?? 0, depthMax: r.int64(i, 5),
                agentCount: r.int64(i, 6) ?? 0, ceilingHits: r.int64(i, 7) ?? 0, parentSession: r.string(i, 8))
        }
    }

    /// One (model, service) over all hours.
    public struct ModelRow: Sendable, Hashable {
        public var model: String
        public var service: String
        public var costNanoUSD: Int64
        public var inputTokens: Int64
        public var outputTokens: Int64
        public var calls: Int64
    }

    public func models(on c: PGConnection) throws -> [ModelRow] {
        let r = try c.execute(
            """
            SELECT model, service, sum(cost_nusd), sum(input_tokens), sum(output_tokens), sum(calls)
            FROM \(t("model_hourly")) GROUP BY model, service ORDER BY sum(cost_nusd) DESC, model, service
            """)
        return r.rows.indices.map { i in
            ModelRow(
                model: r.string(i, 0) ?? "", service: r.string(i, 1) ?? "", costNanoUSD: r.int64(i, 2) ?? 0,
                inputTokens: r.int64(i, 3) ?? 0, outputTokens: r.int64(i, 4) ?? 0, calls: r.int64(i, 5) ?? 0)
        }
    }

    /// `rejected_records` rows per reason code.
    public func rejectedByReason(on c: PGConnection) throws -> [String: Int64] {
        let r = try c.execute("SELECT reason, count(*) FROM \(t("rejected_records")) GROUP BY reason")
        var out: [String: Int64] = [:]
        for i in r.rows.indices { out[r.string(i, 0) ?? ""] = r.int64(i, 1) ?? 0 }
        return out
    }

    /// Σ next_offset over the group's partitions (= records consumed when every partition started at 0).
    public func offsetsTotal(group: String, on c: PGConnection) throws -> Int64 {
        let r = try c.execute(
            "SELECT coalesce(sum(next_offset), 0) FROM \(t("ingest_offsets")) WHERE consumer_group = $1", [.text(group)])
        return r.int64(0, 0) ?? 0
    }

    /// The §3 invariants that can be checked from the tables alone; empty when they all hold.
    public func invariantViolations(group: String, on c: PGConnection) throws -> [String] {
        var out: [String] = []
        let sums = try c.execute(
            """
            SELECT (SELECT coalesce(sum(cost_nusd), 0) FROM \(t("transactions"))),
                   (SELECT coalesce(sum(cost_nusd), 0) FROM \(t("domain_hourly"))),
                   (SELECT coalesce(sum(cost_nusd), 0) FROM \(t("pending_attribution"))),
                   (SELECT coalesce(sum(span_count), 0) FROM \(t("transactions"))),
                   (SELECT coalesce(sum(span_count), 0) FROM \(t("domain_hourly"))),
                   (SELECT coalesce(sum(span_count), 0) FROM \(t("pending_attribution")))
            """)
        let tx = sums.int64(0, 0) ?? 0, dom = sums.int64(0, 1) ?? 0, pend = sums.int64(0, 2) ?? 0
        if tx != dom + pend {
            out.append("Σ transactions.cost_nusd \(tx) ≠ Σ domain_hourly \(dom) + Σ pending_attribution \(pend)")
        }
        let txs = sums.int64(0, 3) ?? 0, doms = sums.int64(0, 4) ?? 0, pends = sums.int64(0, 5) ?? 0
        if txs != doms + pends {
            out.append("Σ transactions.span_count \(txs) ≠ Σ domain_hourly \(doms) + Σ pending_attribution \(pends)")
        }
        return out
    }

    /// Records Kafka deleted before they were read, per `retention_gaps`.
    public func retentionGapRecords(on c: PGConnection) throws -> Int64 {
        try c.execute("SELECT coalesce(sum(to_offset - from_offset), 0) FROM \(t("retention_gaps"))").int64(0, 0) ?? 0
    }
}

extension LedgerReader {
    /// The most expensive transactions (traces), summed over months.
    public func topTransactions(limit: Int, on c: PGConnection) throws -> [TraceRow] {
        let r = try c.execute(
            "\(Self.traceColumns) FROM \(schema.qualified("transactions")) GROUP BY trace_id ORDER BY sum(cost_nusd) DESC, trace_id LIMIT $1",
            [.int8(Int64(limit))])
        return Self.traceRows(r)
    }
}

// MARK: - HTTP API reads
//
// One statement (or one REPEATABLE READ transaction) per answer, parameters only: no input reaches the
// SQL text; table names come from `schema` (a validated `SchemaName`). Money and token sums are read as
// exact integers (`Int128`: the columns are `numeric` since migration 3); times as RFC 3339 UTC strings
// with microseconds.

extension LedgerReader {
    /// `timestamptz` expression → RFC 3339 UTC text with microseconds (`2026-11-30T11:40:46.123456Z`).
    static func rfc3339(_ expression: String) -> String {
        "to_char((\(expression)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    /// An exact integer column (a `numeric` or `bigint` sum) of `r`; nil when NULL.
    /// - Throws: `LedgerError` `.unexpectedResult` when the text is not an integer within `Int128`.
    static func integer(_ r: PGQueryResult, _ row: Int, _ column: Int) throws -> Int128? {
        guard let text = r.string(row, column) else { return nil }
        guard let v = Int128(text) else {
            throw LedgerError(.unexpectedResult, message: "not an integer within Int128: \(text)", context: r.columns.indices.contains(column) ? r.columns[column] : nil)
        }
        return v
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func integerOrZero(_ r: PGQueryResult, _ row: Int, _ column: Int) throws -> Int128 {
        try integer(r, row, column) ?? 0
    }

    /// One trace summed over its months, every column of `transactions`.
    public struct TransactionDetail: Sendable, Hashable {
        public var traceIDHex: String
        public var transaction: String?
        public var service: String?
        public var environment: String?
        public var sessionID: String?
        public var costNanoUSD: Int128
        public var computeNanoUSD: Int128
        public var serverlessNanoUSD: Int128
        public var llmNanoUSD: Int128
        public var spanCount: Int128
        public var errorCount: Int128
        public var unpricedCount: Int128
        public var inputTokens: Int128
        public var outputTokens: Int128
        public var firstStart: String?
        public var lastEnd: String?
        public var updatedAt: String?
    }

    /// The trace `traceID` (16 bytes) over all months; nil when no row has it.
    public func transactionDetail(traceID: [UInt8], on c: PGConnection) throws -> TransactionDetail? {
        let r = try c.execute(
            """
            SELECT count(*), max(transaction), max(service), max(environment), max(session_id),
                   sum(cost_nusd), sum(compute_nusd), sum(serverless_nusd), sum(llm_nusd),
                   sum(span_count), sum(error_count), sum(unpriced_count), sum(input_tokens), sum(output_tokens),
                   \(Self.rfc3339("min(first_start)")), \(Self.rfc3339("max(last_end)")), \(Self.rfc3339("max(updated_at)"))
            FROM \(t("transactions")) WHERE trace_id = $1
            """, [.bytea(traceID)])
        guard (r.int64(0, 0) ?? 0) > 0 else { return nil }
        return TransactionDetail(
            traceIDHex: Self.hex(traceID),
            transaction: r.string(0, 1), service: r.string(0, 2), environment: r.string(0, 3), sessionID: r.string(0, 4),
            costNanoUSD: try Self.integerOrZero(r, 0, 5), computeNanoUSD: try Self.integerOrZero(r, 0, 6),
            serverlessNanoUSD: try Self.integerOrZero(r, 0, 7), llmNanoUSD: try Self.integerOrZero(r, 0, 8),
            spanCount: try Self.integerOrZero(r, 0, 9), errorCount: try Self.integerOrZero(r, 0, 10),
            unpricedCount: try Self.integerOrZero(r, 0, 11), inputTokens: try Self.integerOrZero(r, 0, 12),
            outputTokens: try Self.integerOrZero(r, 0, 13), firstStart: r.string(0, 14), lastEnd: r.string(0, 15),
            updatedAt: r.string(0, 16))
    }

    /// One session summed over its months, with the sessions whose `parent_session` it is.
    public struct SessionDetail: Sendable, Hashable {
        public var sessionID: String
        public var costNanoUSD: Int128
        public var inputTokens: Int128
        public var outputTokens: Int128
        public var spanCount: Int128
        public var depthMax: Int128?
        public var agentCount: Int128
        public var ceilingHits: Int128
        public var parentSession: String?
        /// Child session ids, sorted, at most `childLimit`.
        public var childSessions: [String]
        public var firstStart: String?
        public var lastEnd: String?
        public var updatedAt: String?
    }

    /// The session `id` over all months (nil when no row has it), read in one REPEATABLE READ snapshot.
    public func sessionDetail(id: String, childLimit: Int = 1000, on c: PGConnection) throws -> SessionDetail? {
        try c.transaction { c in
            _ = try c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let r = try c.execute(
                """
                SELECT count(*), sum(cost_nusd), sum(input_tokens), sum(output_tokens), sum(span_count), max(depth_max),
                       sum(agent_count), sum(ceiling_hits), min(parent_session COLLATE "C"),
                       \(Self.rfc3339("min(first_start)")), \(Self.rfc3339("max(last_end)")), \(Self.rfc3339("max(updated_at)"))
                FROM \(t("sessions")) WHERE session_id = $1
                """, [.text(id)])
            guard (r.int64(0, 0) ?? 0) > 0 else { return nil }
            let children = try c.execute(
                "SELECT DISTINCT session_id FROM \(t("sessions")) WHERE parent_session = $1 ORDER BY session_id LIMIT $2",
                [.text(id), .int8(Int64(max(0, childLimit)))])
            return SessionDetail(
                sessionID: id, costNanoUSD: try Self.integerOrZero(r, 0, 1), inputTokens: try Self.integerOrZero(r, 0, 2),
                outputTokens: try Self.integerOrZero(r, 0, 3), spanCount: try Self.integerOrZero(r, 0, 4),
                depthMax: try Self.integer(r, 0, 5), agentCount: try Self.integerOrZero(r, 0, 6),
                ceilingHits: try Self.integerOrZero(r, 0, 7), parentSession: r.string(0, 8),
                childSessions: children.rows.indices.compactMap { children.string($0, 0) },
                firstStart: r.string(0, 9), lastEnd: r.string(0, 10), updatedAt: r.string(0, 11))
        }
    }

    /// What a session has spent and the ledger's commit time, in ONE statement (one snapshot).
    public struct SessionSpend: Sendable, Hashable {
        /// Σ cost of the session over all months (0 for an unknown session).
        public var spentNanoUSD: Int128
        /// `max(ingest_offsets.updated_at)`: the time of the newest committed epoch the read includes (nil
        /// before the first epoch).
        public var asOf: String?
    }

    public func sessionSpend(id: String, on c: PGConnection) throws -> SessionSpend {
        let r = try c.execute(
            """
            SELECT (SELECT coalesce(sum(cost_nusd), 0) FROM \(t("sessions")) WHERE session_id = $1),
                   (SELECT \(Self.rfc3339("max(updated_at)")) FROM \(t("ingest_offsets")))
            """, [.text(id)])
        return SessionSpend(spentNanoUSD: try Self.integerOrZero(r, 0, 0), asOf: r.string(0, 1))
    }

    /// One domain over a window of hours, with its 24 h budget when `budgets` has one.
    public struct DomainWindowRow: Sendable, Hashable {
        public var transaction: String
        public var costNanoUSD: Int128
        public var spanCount: Int128
        public var traceCount: Int128
        /// `budgets.usd_per_24h` in nano-USD, nil without a budget.
        public var budgetPer24hNanoUSD: Int128?
    }

    /// Domains over a window, the pending (not yet attributed) cost of the same hours, and the ledger's
    /// commit time, from one REPEATABLE READ snapshot.
    public struct DomainWindow: Sendable, Hashable {
        public var domains: [DomainWindowRow]
        /// Σ `pending_attribution.cost_nusd` of the window's hours.
        public var pendingNanoUSD: Int128
        /// `max(ingest_offsets.updated_at)`, nil before the first epoch.
        public var asOf: String?
    }

    /// `domain_hourly` over the last `hours` hour buckets, the current one included (like
    /// `domain_costs_24h` for `hours` = 24), most expensive first, at most `limit` rows.
    public func domainWindow(hours: Int, limit: Int = 1000, on c: PGConnection) throws -> DomainWindow {
        let back = PGValue.int4(Int32(clamping: max(0, hours - 1)))
        return try c.transaction { c in
            _ = try c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let r = try c.execute(
                """
                WITH d AS (
                    SELECT transaction, sum(cost_nusd) AS cost, sum(span_count) AS spans, sum(trace_count) AS traces
                    FROM \(t("domain_hourly"))
                    WHERE hour >= date_trunc('hour', now(), 'UTC') - make_interval(hours => $1)
                    GROUP BY transaction)
                SELECT d.transaction, d.cost, d.spans, d.traces, (b.usd_per_24h * 1000000000)::numeric(40, 0)
                FROM d LEFT JOIN \(t("budgets")) b ON b.transaction = d.transaction
                ORDER BY d.cost DESC, d.transaction LIMIT $2
                """, [back, .int8(Int64(max(0, limit)))])
            var rows: [DomainWindowRow] = []
            for i in r.rows.indices {
                rows.append(
                    DomainWindowRow(
                        transaction: r.string(i, 0) ?? "", costNanoUSD: try Self.integerOrZero(r, i, 1),
                        spanCount: try Self.integerOrZero(r, i, 2), traceCount: try Self.integerOrZero(r, i, 3),
                        budgetPer24hNanoUSD: try Self.integer(r, i, 4)))
            }
            let extra = try c.execute(
                """
                SELECT (SELECT coalesce(sum(cost_nusd), 0) FROM \(t("pending_attribution"))
                        WHERE hour >= date_trunc('hour', now(), 'UTC') - make_interval(hours => $1)),
                       (SELECT \(Self.rfc3339("max(updated_at)")) FROM \(t("ingest_offsets")))
                """, [back])
            return DomainWindow(domains: rows, pendingNanoUSD: try Self.integerOrZero(extra, 0, 0), asOf: extra.string(0, 1))
        }
    }

    /// One (model, service) over a window of hours.
    public struct ModelWindowRow: Sendable, Hashable {
        public var model: String
        public var service: String
        public var costNanoUSD: Int128
        public var inputTokens: Int128
        public var outputTokens: Int128
        public var calls: Int128
    }

    /// `model_hourly` over the last `hours` hour buckets (the current one included), most expensive first.
    public func modelWindow(hours: Int, limit: Int = 1000, on c: PGConnection) throws -> (rows: [ModelWindowRow], asOf: String?) {
        let back = PGValue.int4(Int32(clamping: max(0, hours - 1)))
        return try c.transaction { c in
            _ = try c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let r = try c.execute(
                """
                SELECT model, service, sum(cost_nusd), sum(input_tokens), sum(output_tokens), sum(calls)
                FROM \(t("model_hourly"))
                WHERE hour >= date_trunc('hour', now(), 'UTC') - make_interval(hours => $1)
                GROUP BY model, service ORDER BY sum(cost_nusd) DESC, model, service LIMIT $2
                """, [back, .int8(Int64(max(0, limit)))])
            var rows: [ModelWindowRow] = []
            for i in r.rows.indices {
                rows.append(
                    ModelWindowRow(
                        model: r.string(i, 0) ?? "", service: r.string(i, 1) ?? "",
                        costNanoUSD: try Self.integerOrZero(r, i, 2), inputTokens: try Self.integerOrZero(r, i, 3),
                        outputTokens: try Self.integerOrZero(r, i, 4), calls: try Self.integerOrZero(r, i, 5)))
            }
            let asOf = try c.execute("SELECT \(Self.rfc3339("max(updated_at)")) FROM \(t("ingest_offsets"))").string(0, 0)
            return (rows, asOf)
        }
    }
}
