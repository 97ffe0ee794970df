import Aggregation
import Foundation
import Testing
import TestSupport
import TraceContext

@testable import Ledger

@Suite("transactions rows merged before the COPY", .enabled(if: hasDatabase, "needs DATABASE_URL"))
struct MergedUpsertTests {
    /// Three epochs whose traces (a pool of 200) repeat across the shards' deltas of each epoch and across
    /// epochs; roots arrive in some of them, some traces reach a second hour.
    static func randomEpochs(seed: UInt64) -> [LedgerEpoch] {
        var rng = SplitMix64(seed: seed)
        return (0..<3).map { round in
            var epoch = EpochFixture.epoch(
                offsets: [EpochFixture.advance(0, from: round == 0 ? nil : Int64(round) * 100, to: Int64(round + 1) * 100)])
            for _ in 0..<600 {
                let n = Int(rng.below(200))
                let laterHour = rng.below(5) == 0
                EpochFixture.add(
                    to: &epoch, trace: EpochFixture.id(n), cost: Int64(rng.below(1 << 50)) - (1 << 49),
                    spans: Int64(rng.below(4) + 1), root: rng.below(6) == 0 ? "domain\(n % 7)" : nil,
                    startNanos: EpochFixture.startNanos + (laterHour ? 3_600_000_000_000 : 0) + Int64(rng.below(1_000_000)),
                    session: rng.below(3) == 0 ? "s\(n % 11)" : nil)
            }
            return epoch
        }
    }

    static func tables(_ scratch: ScratchSchema, on connection: PGConnection) throws -> [[String?]] {
        var rows = try connection.execute(
            """
            SELECT month::text, encode(trace_id, 'hex'), transaction, service, environment, session_id, cost_nusd::text,
                compute_nusd::text, serverless_nusd::text, llm_nusd::text, span_count::text, error_count::text,
                unpriced_count::text, input_tokens::text, output_tokens::text, first_start::text, last_end::text,
                sampled_spans::text
            FROM \(scratch.table("transactions")) ORDER BY trace_id, month
            """).rows
        rows += try connection.execute(
            "SELECT hour::text, transaction, cost_nusd::text, span_count::text, trace_count::text FROM \(scratch.table("domain_hourly")) ORDER BY hour, transaction").rows
        rows += try connection.execute(
            "SELECT month::text, encode(trace_id, 'hex'), hour::text, cost_nusd::text, span_count::text FROM \(scratch.table("pending_attribution")) ORDER BY trace_id, month, hour").rows
        return rows
    }

    @Test("rows of one trace in several deltas leave the same ledger whether added before the COPY or by the upsert's GROUP BY")
    func mergedEqualsGrouped() async throws {
        for seed in UInt64(1)...3 {
            let merged = try await ScratchSchema.migrated()
            let grouped = try await ScratchSchema.migrated()
            defer { Task { await merged.drop(); await grouped.drop() } }
            let epochs = Self.randomEpochs(seed: seed)
            #expect(epochs.allSatisfy { $0.deltas.count > 1 }, "the fixture spreads repeated traces over deltas")
            let mergingWriter = LedgerEpochWriter(schema: merged.ledger)
            var groupingWriter = LedgerEpochWriter(schema: grouped.ledger)
            groupingWriter.mergesTransactionsBeforeCopy = false
            let writers = (mergingWriter, groupingWriter)
            let (a, b) = try await onThread { () -> ([[String?]], [[String?]]) in
                let connection = try connect()
                for epoch in epochs {
                    _ = try writers.0.write(epoch, on: connection)
                    _ = try writers.1.write(epoch, on: connection)
                }
                return (try Self.tables(merged, on: connection), try Self.tables(grouped, on: connection))
            }
            #expect(a.count > 200, "seed \(seed): rows written")
            #expect(a == b, "seed \(seed)")
            try await expectInvariant(merged)
            try await expectInvariant(grouped)
        }
    }

    @Test("a key whose sampled spans pass Int64 across two deltas is stored exactly (the GROUP BY path, in numeric)")
    func overflowFallsBackToNumeric() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        var epoch = EpochFixture.epoch()
        EpochFixture.add(to: &epoch, trace: EpochFixture.id(1), cost: 5, root: "checkout")
        EpochFixture.add(to: &epoch, trace: EpochFixture.id(1), cost: 6)
        #expect(epoch.deltas.count == 2)
        epoch.updateTrace(EpochFixture.id(1)) { $0.sampledSpansMicro = .max }
        #expect(EpochDelta.mergedTransactions(of: epoch.deltas) == nil)
        let sealed = epoch
        let rows = try await onThread {
            let connection = try connect()
            _ = try writer.write(sealed, on: connection)
            return try connection.execute(
                "SELECT transaction, cost_nusd::text, span_count::text, sampled_spans::text FROM \(scratch.table("transactions"))").rows
        }
        // 2 × (2^63 − 1) micro-spans.
        #expect(rows == [["checkout", "11", "2", "18446744073709.551614"]])
        try await expectInvariant(scratch)
    }
}
