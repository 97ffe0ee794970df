import Aggregation
import Foundation
import Testing
import TestSupport
import TraceContext

@testable import Ledger

/// Builds epochs for tests: spans in the current month (its partitions exist after migrate).
struct EpochFixture {
    static let month: Month = {
        guard let month = try? Month(containing: Date()) else { preconditionFailure("clock out of range") }
        return month
    }()
    /// 01:30 UTC on the month's first day, in ns.
    static let startNanos = month.startUnixMicros * 1000 + 5_400_000_000_000
    static let hour = UTCHour(unixNanos: UInt64(startNanos))

    static func id(_ n: Int, salt: UInt64 = 0xC0FFEE) -> TraceID { TraceID(high: salt, low: UInt64(n)) }

    /// A trace's delta: one span of `cost` (root when `root` is given), plus its hour delta and root, in the
    /// epoch's last delta — or in a new one (as another shard's) when that delta already has the trace, so
    /// that the writer's `GROUP BY` merges them.
    static func add(
        to epoch: inout LedgerEpoch, trace: TraceID, cost: Int64, spans: Int64 = 1, root: String? = nil,
        startNanos: Int64 = startNanos, session: String? = nil
    ) {
        let start = UInt64(startNanos)
        let key = TransactionKey(month: Month(unixNanos: start), traceID: trace)
        if epoch.deltas.last.map({ $0.transactions[key] != nil || $0.roots[trace] != nil }) ?? true {
            epoch.deltas.append(EpochDelta())
        }
        var delta = TransactionDelta()
        delta.transaction = root
        delta.service = "svc"
        delta.environment = "production"
        delta.sessionID = session
        delta.costNanoUSD = cost
        delta.computeNanoUSD = cost
        delta.spanCount = spans
        delta.inputTokens = 10
        delta.outputTokens = 20
        delta.sampledSpansMicro = spans * 1_000_000
        delta.firstStartUnixNanos = start
        delta.lastEndUnixNanos = start + 1_000_000
        let hour = UTCHour(unixNanos: start)
        var hourDelta = TraceHourDelta()
        hourDelta.costNanoUSD = cost
        hourDelta.spanCount = spans
        let last = epoch.deltas.count - 1
        epoch.deltas[last].transactions[key] = delta
        epoch.deltas[last].traceHours[TraceHourKey(hour: hour, traceID: trace)] = hourDelta
        if let root { epoch.deltas[last].roots[trace] = RootSeen(hour: hour, transaction: root) }
    }

    static func epoch(
        writer: String = "w1", recordTimeMillis: Int64 = startNanos / 1_000_000, offsets: [PartitionAdvance] = []
    ) -> LedgerEpoch {
        LedgerEpoch(
            consumerGroup: "g", writerID: writer,
            plan: SealedEpochPlan(epochID: 0, generation: 0, advances: offsets, records: 0, maxRecordTimeUnixMillis: recordTimeMillis))
    }

    static func advance(_ partition: Int32, from: Int64?, to: Int64, topic: String = "otlp_spans") -> PartitionAdvance {
        PartitionAdvance(partition: PartitionKey(topic: topic, partition: partition), from: from, to: to, gaps: [])
    }

    static func session(
        _ id: String, cost: Int64, spans: Int64, depthMax: Int64? = nil, agentCount: Int64 = 0, ceilingHits: Int64 = 0,
        parentSession: String? = nil, lastEndOffset: Int64
    ) -> (SessionKey, SessionDelta) {
        var delta = SessionDelta()
        delta.costNanoUSD = cost
        delta.spanCount = spans
        delta.depthMax = depthMax
        delta.agentCount = agentCount
        delta.ceilingHits = ceilingHits
        delta.parentSession = parentSession
        delta.firstStartUnixNanos = UInt64(startNanos)
        delta.lastEndUnixNanos = UInt64(startNanos + lastEndOffset)
        return (SessionKey(month: month, sessionID: id), delta)
    }

    static func model(_ name: String, cost: Int64, inputTokens: Int64, outputTokens: Int64, calls: Int64) -> (ModelKey, ModelDelta) {
        var delta = ModelDelta()
        delta.costNanoUSD = cost
        delta.inputTokens = inputTokens
        delta.outputTokens = outputTokens
        delta.calls = calls
        return (ModelKey(hour: hour, model: name, service: "svc"), delta)
    }

    static func rejected(partition: Int32, offset: Int64, reason: RejectReason, sizeBytes: Int64) -> RejectedRecord {
        RejectedRecord(
            topic: "otlp_spans", partition: partition, offset: offset, reason: reason, detail: "", sizeBytes: sizeBytes,
            recordTimeUnixMillis: startNanos / 1_000_000)
    }
}

extension LedgerEpoch {
    /// The first delta (created when there is none): where tests put sessions, models and rejected records.
    var firstDelta: EpochDelta {
        get { deltas.first ?? EpochDelta() }
        set { if deltas.isEmpty { deltas = [newValue] } else { deltas[0] = newValue } }
    }

    /// Changes the transaction delta of `trace` in the current month, in every delta that has it.
    mutating func updateTrace(_ trace: TraceID, _ body: (inout TransactionDelta) -> Void) {
        let key = TransactionKey(month: EpochFixture.month, traceID: trace)
        for index in deltas.indices where deltas[index].transactions[key] != nil {
            body(&deltas[index].transactions[key]!)
        }
    }
}

/// Σ transactions, Σ domain_hourly, Σ pending_attribution (as exact integers).
func ledgerSums(_ connection: PGConnection, _ scratch: ScratchSchema) throws -> (transactions: Int64, domains: Int64, pending: Int64) {
    let result = try connection.execute(
        """
        SELECT (SELECT coalesce(sum(cost_nusd), 0) FROM \(scratch.table("transactions")))::bigint,
               (SELECT coalesce(sum(cost_nusd), 0) FROM \(scratch.table("domain_hourly")))::bigint,
               (SELECT coalesce(sum(cost_nusd), 0) FROM \(scratch.table("pending_attribution")))::bigint
        """)
    return (result.int64(0, 0) ?? -1, result.int64(0, 1) ?? -1, result.int64(0, 2) ?? -1)
}

func expectInvariant(_ scratch: ScratchSchema, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let sums = try await onThread { try ledgerSums(connect(), scratch) }
    #expect(sums.transactions == sums.domains + sums.pending, "ledger invariant", sourceLocation: sourceLocation)
}

@Suite("epoch writer", .enabled(if: hasDatabase, "needs DATABASE_URL"))
struct EpochWriterTests {
    @Test("two epochs add up exactly, integers beyond double precision included")
    func additive() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        let big: Int64 = 1_234_567_890_123_456_789  // not representable as a Double
        var first = EpochFixture.epoch(offsets: [EpochFixture.advance(0, from: nil, to: 100)])
        EpochFixture.add(to: &first, trace: EpochFixture.id(1), cost: big, root: "checkout", session: "s1")
        EpochFixture.add(to: &first, trace: EpochFixture.id(2), cost: 7)
        let (sessionKey, session) = EpochFixture.session("s1", cost: big, spans: 1, depthMax: 2, agentCount: 1, lastEndOffset: 5)
        first.firstDelta.sessions = [sessionKey: session]
        let (modelKey, model) = EpochFixture.model("gpt-4o-mini", cost: 3, inputTokens: 10, outputTokens: 20, calls: 1)
        first.firstDelta.models = [modelKey: model]
        first.firstDelta.rejected = [EpochFixture.rejected(partition: 0, offset: 42, reason: .undecodable, sizeBytes: 9)]
        var second = first
        second.plan.advances = [EpochFixture.advance(0, from: 100, to: 200)]
        for index in second.deltas.indices {
            second.deltas[index].roots = [:]
            for key in second.deltas[index].transactions.keys { second.deltas[index].transactions[key]?.transaction = nil }
        }
        second.firstDelta.sessions[sessionKey]?.depthMax = 5
        second.firstDelta.rejected = []
        second.plan.advances[0].gaps = [OffsetGap(from: 100, to: 150)]
        let (firstEpoch, secondEpoch) = (first, second)
        let rows = try await onThread { () -> [[String?]] in
            let connection = try connect()
            _ = try writer.write(firstEpoch, on: connection)
            _ = try writer.write(secondEpoch, on: connection)
            var rows = try connection.execute(
                "SELECT encode(trace_id, 'hex'), transaction, cost_nusd::text, span_count::text, input_tokens::text FROM \(scratch.table("transactions")) ORDER BY trace_id").rows
            rows += try connection.execute(
                "SELECT transaction, cost_nusd::text, span_count::text, trace_count::text FROM \(scratch.table("domain_hourly")) ORDER BY transaction").rows
            rows += try connection.execute(
                "SELECT session_id, cost_nusd::text, span_count::text, depth_max::text, agent_count::text FROM \(scratch.table("sessions"))").rows
            rows += try connection.execute(
                "SELECT model, cost_nusd::text, calls::text, input_tokens::text FROM \(scratch.table("model_hourly"))").rows
            rows += try connection.execute(
                "SELECT count(*)::text FROM \(scratch.table("rejected_records")) UNION ALL SELECT count(*)::text FROM \(scratch.table("retention_gaps"))").rows
            rows += try connection.execute(
                "SELECT next_offset::text, writer FROM \(scratch.table("ingest_offsets"))").rows
            return rows
        }
        let doubled = String(2 * big)
        #expect(rows == [
            ["0000000000c0ffee0000000000000001", "checkout", doubled, "2", "20"],
            ["0000000000c0ffee0000000000000002", nil, "14", "2", "20"],
            ["checkout", doubled, "2", "1"],
            ["s1", doubled, "2", "5", "2"],
            ["gpt-4o-mini", "6", "2", "20"],
            ["1"], ["1"],
            ["200", "w1"],
        ])
        try await expectInvariant(scratch)
    }

    @Test("a session over two months with different parents: the API's detail names the same parent as session_costs (least in byte order)")
    func sessionParentAgreesWithView() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        var epoch = EpochFixture.epoch(offsets: [EpochFixture.advance(0, from: nil, to: 2)])
        let (current, lower) = EpochFixture.session("s1", cost: 5, spans: 1, parentSession: "zeta", lastEndOffset: 1)
        var upper = lower
        upper.parentSession = "Zeta"  // 'Z' 0x5A < 'z' 0x7A
        let previous = SessionKey(month: try EpochFixture.month.adding(months: -1), sessionID: "s1")
        epoch.firstDelta.sessions = [current: lower, previous: upper]
        let written = epoch
        let (detail, viewParent) = try await onThread { () -> (LedgerReader.SessionDetail?, String?) in
            let connection = try connect()
            _ = try LedgerEpochWriter(schema: scratch.ledger).write(written, on: connection)
            let detail = try LedgerReader(schema: scratch.ledger.schema).sessionDetail(id: "s1", on: connection)
            let view = try connection.execute("SELECT parent_session FROM \(scratch.table("session_costs")) WHERE session_id = 's1'")
            return (detail, view.string(0, 0))
        }
        #expect(viewParent == "Zeta")
        #expect(detail?.parentSession == viewParent)
        #expect(detail?.costNanoUSD == 10)
    }

    @Test("a writer with a stale from_offset is fenced and nothing of its epoch is visible")
    func fencing() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        var owner1 = EpochFixture.epoch(writer: "owner", offsets: [EpochFixture.advance(3, from: nil, to: 10)])
        EpochFixture.add(to: &owner1, trace: EpochFixture.id(1), cost: 5, root: "a")
        var zombieFirst = EpochFixture.epoch(writer: "zombie", offsets: [EpochFixture.advance(3, from: nil, to: 7)])
        EpochFixture.add(to: &zombieFirst, trace: EpochFixture.id(99), cost: 1000, root: "z")
        var owner2 = EpochFixture.epoch(writer: "owner", offsets: [EpochFixture.advance(3, from: 10, to: 20)])
        EpochFixture.add(to: &owner2, trace: EpochFixture.id(2), cost: 6)
        var zombieStale = EpochFixture.epoch(writer: "zombie", offsets: [
            EpochFixture.advance(1, from: nil, to: 4), EpochFixture.advance(3, from: 10, to: 15),
        ])
        EpochFixture.add(to: &zombieStale, trace: EpochFixture.id(98), cost: 2000, root: "z")
        zombieStale.firstDelta.rejected = [EpochFixture.rejected(partition: 3, offset: 11, reason: .empty, sizeBytes: 0)]
        let epochs = (owner1, zombieFirst, owner2, zombieStale)
        let (errors, visible) = try await onThread { () -> ([LedgerError], [[String?]]) in
            let connection = try connect()
            var errors: [LedgerError] = []
            _ = try writer.write(epochs.0, on: connection)
            do { _ = try writer.write(epochs.1, on: connection) } catch let error as LedgerError { errors.append(error) }
            _ = try writer.write(epochs.2, on: connection)
            do { _ = try writer.write(epochs.3, on: connection) } catch let error as LedgerError { errors.append(error) }
            let visible = try connection.execute(
                """
                SELECT (SELECT count(*) FROM \(scratch.table("transactions")) WHERE transaction = 'z')::text,
                       (SELECT count(*) FROM \(scratch.table("domain_hourly")) WHERE transaction = 'z')::text,
                       (SELECT count(*) FROM \(scratch.table("rejected_records")))::text,
                       (SELECT string_agg(partition || ':' || next_offset || ':' || writer, ',' ORDER BY partition) FROM \(scratch.table("ingest_offsets")))
                """).rows
            return (errors, visible)
        }
        #expect(errors.map(\.code) == [.fenced, .fenced])
        #expect(errors.map(\.partition) == [PartitionKey(topic: "otlp_spans", partition: 3), PartitionKey(topic: "otlp_spans", partition: 3)])
        #expect(visible == [["0", "0", "0", "3:20:owner"]])
        try await expectInvariant(scratch)
    }

    @Test("pending cost moves to the domain when the root arrives in a later epoch")
    func pendingToDomain() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        let trace = EpochFixture.id(7)
        var children = EpochFixture.epoch()
        EpochFixture.add(to: &children, trace: trace, cost: 100, spans: 3)
        var rootEpoch = EpochFixture.epoch()
        EpochFixture.add(to: &rootEpoch, trace: trace, cost: 50, root: "checkout")
        let epochs = (children, rootEpoch)
        let (afterChildren, afterRoot) = try await onThread {
            let connection = try connect()
            _ = try writer.write(epochs.0, on: connection)
            let first = try ledgerSums(connection, scratch)
            _ = try writer.write(epochs.1, on: connection)
            return (first, try ledgerSums(connection, scratch))
        }
        #expect(afterChildren.transactions == 100 && afterChildren.domains == 0 && afterChildren.pending == 100)
        #expect(afterRoot.transactions == 150 && afterRoot.domains == 150 && afterRoot.pending == 0)
        let domain = try await onThread {
            try connect().execute("SELECT transaction, cost_nusd::text, span_count::text, trace_count::text FROM \(scratch.table("domain_hourly"))").rows
        }
        #expect(domain == [["checkout", "150", "4", "1"]])
        try await expectInvariant(scratch)
    }

    @Test("roots of one domain-hour in several shards' deltas count once each in trace_count")
    func rootsCountPerDomainHour() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        var epoch = EpochFixture.epoch()
        // 5 checkout traces, 2 search traces in one hour, 1 checkout trace an hour later; the deltas are
        // split like shards' (a new delta every 3 traces), so equal (hour, transaction) pairs span deltas.
        let laterNanos = EpochFixture.startNanos + 3_600_000_000_000
        let traces: [(cost: Int64, root: String, start: Int64)] =
            [(1, "checkout", EpochFixture.startNanos), (2, "checkout", EpochFixture.startNanos), (3, "search", EpochFixture.startNanos),
             (4, "checkout", EpochFixture.startNanos), (5, "checkout", EpochFixture.startNanos), (6, "search", EpochFixture.startNanos),
             (7, "checkout", EpochFixture.startNanos), (8, "checkout", laterNanos)]
        for (n, t) in traces.enumerated() {
            if n % 3 == 0 { epoch.deltas.append(EpochDelta()) }
            EpochFixture.add(to: &epoch, trace: EpochFixture.id(n), cost: t.cost, root: t.root, startNanos: t.start)
        }
        let sealed = epoch
        let rows = try await onThread {
            let connection = try connect()
            _ = try writer.write(sealed, on: connection)
            return try connection.execute(
                "SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24'), transaction, cost_nusd::text, span_count::text, trace_count::text FROM \(scratch.table("domain_hourly")) ORDER BY hour, transaction").rows
        }
        #expect(rows == [["01", "checkout", "19", "5", "5"], ["01", "search", "9", "2", "2"], ["02", "checkout", "8", "1", "1"]])
        try await expectInvariant(scratch)
    }

    @Test("pending cost moves to (unattributed) after the grace period, measured in record time")
    func graceByRecordTime() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger, attributionGrace: .seconds(15 * 60))
        // Record times in 2021, unrelated to the wall clock and to span times.
        let t0: Int64 = 1_610_000_000_000
        var orphan = EpochFixture.epoch(recordTimeMillis: t0)
        EpochFixture.add(to: &orphan, trace: EpochFixture.id(1), cost: 40)
        var at14 = EpochFixture.epoch(recordTimeMillis: t0 + 14 * 60_000)
        EpochFixture.add(to: &at14, trace: EpochFixture.id(2), cost: 1, root: "other")
        var at16 = EpochFixture.epoch(recordTimeMillis: t0 + 16 * 60_000)
        EpochFixture.add(to: &at16, trace: EpochFixture.id(3), cost: 2, root: "other")
        let epochs = (orphan, at14, at16)
        let (mid, end, rows) = try await onThread {
            let connection = try connect()
            _ = try writer.write(epochs.0, on: connection)
            _ = try writer.write(epochs.1, on: connection)
            let mid = try ledgerSums(connection, scratch)
            _ = try writer.write(epochs.2, on: connection)
            let rows = try connection.execute(
                "SELECT transaction, cost_nusd::text FROM \(scratch.table("domain_hourly")) ORDER BY transaction").rows
            return (mid, try ledgerSums(connection, scratch), rows)
        }
        #expect(mid.pending == 40)
        #expect(end.pending == 0)
        #expect(rows == [[LedgerEpochWriter.unattributed, "40"], ["other", "3"]])
        try await expectInvariant(scratch)
    }

    @Test("two writers upserting overlapping keys concurrently finish without a visible deadlock and sum exactly")
    func concurrentWriters() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        let epochsPerWriter = 8
        let tracesPerEpoch = 300
        let reports = try await onThreads(2) { index -> [EpochWriteReport] in
            let connection = try connect()
            var next: Int64? = nil
            var reports: [EpochWriteReport] = []
            for round in 0..<epochsPerWriter {
                var epoch = EpochFixture.epoch(
                    writer: "w\(index)", offsets: [EpochFixture.advance(Int32(index), from: next, to: Int64(round + 1) * 10)])
                // Same keys for both writers, in opposite orders; every 50th trace gets its root.
                let order = index == 0 ? Array(0..<tracesPerEpoch) : Array((0..<tracesPerEpoch).reversed())
                for n in order {
                    EpochFixture.add(to: &epoch, trace: EpochFixture.id(n), cost: Int64(n + 1),
                                     root: (n % 50 == 0 && round == index) ? "root\(n % 3)" : nil)
                }
                // One model row per trace (7 keys): as many rows as several shards' deltas would stage.
                for n in order {
                    var shard = EpochDelta()
                    let (key, model) = EpochFixture.model("m\(n % 7)", cost: 1, inputTokens: 1, outputTokens: 1, calls: 1)
                    shard.models[key] = model
                    epoch.deltas.append(shard)
                }
                reports.append(try writer.write(epoch, on: connection))
                next = Int64(round + 1) * 10
            }
            return reports
        }
        #expect(reports.flatMap { $0 }.count == 2 * epochsPerWriter)
        print("concurrent writers: \(reports.flatMap { $0 }.map(\.attempts).reduce(0, +)) attempts for \(2 * epochsPerWriter) epochs")
        let expected = Int64(2 * epochsPerWriter) * Int64(tracesPerEpoch * (tracesPerEpoch + 1) / 2)
        let sums = try await onThread { try ledgerSums(connect(), scratch) }
        #expect(sums.transactions == expected)
        let calls = try await onThread {
            try connect().execute("SELECT sum(calls)::bigint FROM \(scratch.table("model_hourly"))").int64(0, 0)
        }
        #expect(calls == Int64(2 * epochsPerWriter * tracesPerEpoch))
        try await expectInvariant(scratch)
    }

    @Test("an epoch for a month without a partition creates it (23514 path) and succeeds")
    func missingPartition() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        let far = try Month(year: 2035, month: 6)
        let farStart = far.startUnixMicros * 1000 + 3_600_000_000_000
        var epoch = EpochFixture.epoch(offsets: [EpochFixture.advance(0, from: nil, to: 5)])
        EpochFixture.add(to: &epoch, trace: EpochFixture.id(1), cost: 11, root: "future", startNanos: farStart)
        let frozen = epoch
        let (report, sums) = try await onThread {
            let connection = try connect()
            let report = try writer.write(frozen, on: connection)
            return (report, try ledgerSums(connection, scratch))
        }
        #expect(report.attempts == 2)
        #expect(report.partitionsCreated.sorted() == PartitionedTable.allCases.map { $0.partitionName(far) }.sorted())
        #expect(sums.transactions == 11 && sums.domains == 11)
        try await expectInvariant(scratch)
    }

    @Test("readOffsets returns stored offsets of the asked partitions only")
    func readOffsets() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let worker = LedgerWorkerThread { try connect() }
        let writer = EpochWriter(worker: worker, writer: LedgerEpochWriter(schema: scratch.ledger))
        defer { writer.shutdown() }
        _ = try await writer.write(EpochFixture.epoch(offsets: [
            EpochFixture.advance(0, from: nil, to: 5), EpochFixture.advance(1, from: nil, to: 9),
            EpochFixture.advance(0, from: nil, to: 3, topic: "other"),
        ]))
        let offsets = try await writer.readOffsets(group: "g", partitions: [
            PartitionKey(topic: "otlp_spans", partition: 0), PartitionKey(topic: "otlp_spans", partition: 2),
            PartitionKey(topic: "other", partition: 0),
        ])
        #expect(offsets == [PartitionKey(topic: "otlp_spans", partition: 0): 5, PartitionKey(topic: "other", partition: 0): 3])
        #expect(try await writer.readOffsets(group: "nobody", partitions: [PartitionKey(topic: "otlp_spans", partition: 0)]).isEmpty)
    }

    @Test("an epoch whose trace and hour sums differ is refused before any I/O")
    func invalidEpoch() throws {
        var epoch = EpochFixture.epoch()
        EpochFixture.add(to: &epoch, trace: EpochFixture.id(1), cost: 5)
        epoch.deltas[0].traceHours[TraceHourKey(hour: EpochFixture.hour, traceID: EpochFixture.id(1))]?.costNanoUSD = 4
        #expect(throws: LedgerError.self) { try epoch.validate() }
        var twice = EpochFixture.epoch(offsets: [EpochFixture.advance(0, from: 1, to: 2), EpochFixture.advance(0, from: 1, to: 2)])
        #expect(throws: LedgerError.self) { try twice.validate() }
        twice.plan.advances = [EpochFixture.advance(0, from: 5, to: 2)]
        #expect(throws: LedgerError.self) { try twice.validate() }
        // An hour before 1970 (not one a span time can give) has no month: refused as invalidMonth.
        var early = EpochFixture.epoch()
        early.firstDelta.traceHours[TraceHourKey(hour: UTCHour(hoursSinceEpoch: -1), traceID: EpochFixture.id(1))] = TraceHourDelta()
        #expect { try early.validate() } throws: { ($0 as? LedgerError)?.code == .invalidMonth }
    }

    @Test("write time of one epoch with 50k traces (printed)")
    func fiftyThousandTraces() async throws {
        let scratch = try await ScratchSchema.migrated()
        defer { Task { await scratch.drop() } }
        let writer = LedgerEpochWriter(schema: scratch.ledger)
        let traces = 50_000
        func makeEpoch(_ round: Int) -> LedgerEpoch {
            var epoch = EpochFixture.epoch(offsets: [EpochFixture.advance(0, from: round == 0 ? nil : Int64(round) * 1000, to: Int64(round + 1) * 1000)])
            epoch.deltas = [EpochDelta()]
            epoch.deltas[0].transactions.reserveCapacity(traces)
            epoch.deltas[0].traceHours.reserveCapacity(traces)
            for n in 0..<traces {
                // A quarter of the roots arrive in each round; 4 spans a trace: 200k spans an epoch.
                EpochFixture.add(to: &epoch, trace: EpochFixture.id(n &* 2_654_435_761 % 1_000_003), cost: Int64(n % 977 + 1),
                                 spans: 4, root: n % 4 == round ? "domain\(n % 40)" : nil, session: n % 10 == 0 ? "s\(n % 500)" : nil)
            }
            for n in 0..<500 {
                let (key, session) = EpochFixture.session("s\(n)", cost: 1, spans: 4, lastEndOffset: 1)
                epoch.deltas[0].sessions[key] = session
            }
            for n in 0..<200 {
                let (key, model) = EpochFixture.model("m\(n)", cost: 1, inputTokens: 1, outputTokens: 1, calls: 1)
                epoch.deltas[0].models[key] = model
            }
            return epoch
        }
        let epochs = (0..<3).map(makeEpoch)
        let durations = try await onThread { () -> [Duration] in
            let connection = try connect()
            return try epochs.map { try writer.write($0, on: connection).duration }
        }
        for (round, duration) in durations.enumerated() {
            print("epoch write, 50k traces / 200k spans, round \(round) (\(round == 0 ? "inserts" : "updates")): \(duration)")
        }
        #expect(durations.allSatisfy { $0 < .seconds(60) })
        try await expectInvariant(scratch)
    }
}
