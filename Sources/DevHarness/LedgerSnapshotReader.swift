public import Ledger
public import LoadGen

/// Reads the ledger back into LoadGen's `LedgerSnapshot` for `Verifier.compare` (`traceledger verify`).
public enum LedgerSnapshotReader {
    public static func read(schema: SchemaName, on connection: PGConnection) throws -> LedgerSnapshot {
        let reader = LedgerReader(schema: schema)
        var snapshot = LedgerSnapshot()
        for row in try reader.traces(on: connection) {
            var t = TraceTotals()
            t.costNanoUSD = row.costNanoUSD
            t.spanCount = row.spanCount
            t.errorCount = row.errorCount
            t.unpricedCount = row.unpricedCount
            t.inputTokens = row.inputTokens
            t.outputTokens = row.outputTokens
            t.transaction = row.transaction
            t.service = row.service
            snapshot.traces[row.traceIDHex] = t
        }
        // `sampled_spans` (migration 4), summed over months, printed with its 6 decimals.
        let sampled = try connection.execute(
            "SELECT encode(trace_id, 'hex'), sum(sampled_spans)::numeric(38,6)::text FROM \(schema.quoted).transactions GROUP BY trace_id")
        for i in sampled.rows.indices {
            if let id = sampled.string(i, 0) { snapshot.traces[id]?.sampledSpans = sampled.string(i, 1) }
        }
        for row in try reader.domains(on: connection) {
            var d = DomainTotals()
            d.costNanoUSD = row.costNanoUSD
            d.spanCount = row.spanCount
            d.traceCount = row.traceCount
            snapshot.domains[row.transaction] = d
        }
        for row in try reader.sessions(on: connection) {
            var s = SessionTotals()
            s.costNanoUSD = row.costNanoUSD
            s.inputTokens = row.inputTokens
            s.outputTokens = row.outputTokens
            s.spanCount = row.spanCount
            s.depthMax = row.depthMax ?? 0
            s.agentCount = row.agentCount
            s.ceilingHits = row.ceilingHits
            s.parentSession = row.parentSession
            snapshot.sessions[row.sessionID] = s
        }
        for row in try reader.models(on: connection) {
            var m = ModelTotals(model: row.model, service: row.service)
            m.costNanoUSD = row.costNanoUSD
            m.inputTokens = row.inputTokens
            m.outputTokens = row.outputTokens
            m.calls = row.calls
            snapshot.models.append(m)
        }
        snapshot.rejectedRecords = try reader.rejectedByReason(on: connection)
        return snapshot
    }
}
