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
