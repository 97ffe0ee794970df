import Aggregation
import Foundation
import Testing
import TestSupport

@testable import Ledger

@Suite("epoch writer: sampled spans and session rollups", .enabled(if: hasDatabase, "needs DATABASE_URL"))
struct SampledSpansWriterTests {
    @Test("sampled_spans adds exactly across epochs (micro-spans → numeric with 6 decimals) and shows in transaction_costs; session depth_max, agent_count, ceiling_hits, parent_session fold")
    func sampledAndSessions() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        var first = EpochFixture.epoch(offsets: [EpochFixture.advance(0, from: nil, to: 10)])
        EpochFixture.add(to: &first, trace: EpochFixture.id(1), cost: 5, spans: 3, root: "r")
        first.updateTrace(EpochFixture.id(1)) { $0.sampledSpansMicro = 1_333_333 + 4_000_000 + 1_000_000 }
        EpochFixture.add(to: &first, trace: EpochFixture.id(2), cost: 1, spans: 2)  // unsampled: 2.000000 by default
        let (firstKey, firstSession) = EpochFixture.session(
            "s1", cost: 5, spans: 3, depthMax: 1, agentCount: 2, ceilingHits: 1, parentSession: "p0", lastEndOffset: 5)
        first.firstDelta.sessions = [firstKey: firstSession]
        var second = EpochFixture.epoch(offsets: [EpochFixture.advance(0, from: 10, to: 20)])
        EpochFixture.add(to: &second, trace: EpochFixture.id(1), cost: 7, spans: 1)
        second.updateTrace(EpochFixture.id(1)) { $0.sampledSpansMicro = 100_000_095 }
        let (secondKey, secondSession) = EpochFixture.session(
            "s1", cost: 7, spans: 1, depthMax: 3, agentCount: 1, ceilingHits: 2, parentSession: "p-later", lastEndOffset: 9)
        second.firstDelta.sessions = [secondKey: secondSession]
        let (a, b) = (first, second)
        let rows = try await onThread { () -> [[String?]] in
            let connection = try connect()
            _ = try writer.write(a, on: connection)
            _ = try writer.write(b, on: connection)
            var rows = try connection.execute(
                "SELECT trace_id, sampled_spans::text, span_count::text FROM \(scratch.table("transaction_costs")) ORDER BY trace_id").rows
            rows += try connection.execute(
                "SELECT session_id, depth_max::text, agent_count::text, ceiling_hits::text, parent_session, span_count::text FROM \(scratch.table("session_costs"))").rows
            return rows
        }
        // Independent sums: 6.333333 + 100.000095 = 106.333428; 2 spans unsampled = 2.000000.
        #expect(rows == [
            ["0000000000c0ffee0000000000000001", "106.333428", "4"],
            ["0000000000c0ffee0000000000000002", "2.000000", "2"],
            // parent_session: the least in byte order ('-' 0x2D < '0' 0x30), whichever epoch wrote it first.
            ["s1", "3", "3", "3", "p-later", "4"],
        ])
    }
}
