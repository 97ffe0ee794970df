import DevHarness
import Foundation
import Kafka
import Ledger
import Logging
import Pipeline
import Synchronization
import Testing
import TestSupport

/// One OTLP/JSON record holding `spans` of one trace, every span priced by an upstream `cost.usd`
/// (so each span's cost is known exactly here, independently of the catalog).
private func record(trace: String, spans: [(id: String, parent: String, name: String, costUSD: String)], startNanos: UInt64) -> [UInt8] {
    let items = spans.map { s in
        #"{"traceId":"\#(trace)","spanId":"\#(s.id)","parentSpanId":"\#(s.parent)","name":"\#(s.name)","kind":\#(s.parent.isEmpty ? 2 : 1),"startTimeUnixNano":"\#(startNanos)","endTimeUnixNano":"\#(startNanos + 5_000_000)","attributes":[{"key":"cost.usd","value":{"stringValue":"\#(s.costUSD)"}}]}"#
    }
    return Array(
        #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"late-svc"}}]},"scopeSpans":[{"spans":[\#(items.joined(separator: ","))]}]}]}"#
            .utf8)
}

/// `n` nano-USD as a `cost.usd` decimal string (exact: 9 decimals).
private func usd(_ n: Int64) -> String { String(format: "0.%09lld", n) }

private func hex(_ v: UInt64, width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

/// Polls the ledger between commits: one statement (one snapshot) computes both sides of the invariant.
private final class InvariantWatcher: Sendable {
    let violations = Mutex<[String]>([])
    let observations = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)

    func run(conninfo: String, schema: SchemaName) throws {
        let c = try PGConnection.connect(conninfo: conninfo)
        let t = { (name: String) in "\(schema.quoted).\(name)" }
        let sql = """
            SELECT (SELECT coalesce(sum(cost_nusd), 0) FROM \(t("transactions")))::text,
                   ((SELECT coalesce(sum(cost_nusd), 0) FROM \(t("domain_hourly")))
                    + (SELECT coalesce(sum(cost_nusd), 0) FROM \(t("pending_attribution"))))::text,
                   (SELECT coalesce(sum(span_count), 0) FROM \(t("transactions")))::text,
                   ((SELECT coalesce(sum(span_count), 0) FROM \(t("domain_hourly")))
                    + (SELECT coalesce(sum(span_count), 0) FROM \(t("pending_attribution"))))::text
            """
        while !stop.load(ordering: .relaxed) {
            let r = try c.execute(sql)
            let (tx, rollups, txSpans, rollupSpans) = (r.string(0, 0), r.string(0, 1), r.string(0, 2), r.string(0, 3))
            if tx != rollups || txSpans != rollupSpans {
                violations.withLock { $0.append("cost \(tx ?? "?") vs \(rollups ?? "?"), spans \(txSpans ?? "?") vs \(rollupSpans ?? "?")") }
            }
            observations.add(1, ordering: .relaxed)
            Thread.sleep(forTimeInterval: 0.005)
        }
    }
}

@Suite("late roots across workers", .serialized)
struct LateRootTests {
    @Test("roots arriving after their children, in a later epoch and on another worker, land in the right domain-hour; the grace sweep moves the rest to (unattributed); the invariant holds between every commit")
    func lateRootsOnAnotherWorker() async throws {
        let scenario = try KafkaLedgerScenario("it_late", topicPrefix: "late", partitions: 2)
        let (conninfo, schema, topic) = (scenario.conninfo, try scenario.schemaName, scenario.topic)
        var config = scenario.workerConfiguration()
        config.kafkaEncodings = [topic: .otlpJSON]
        config.attributionGrace = .seconds(60)
        let producer = try scenario.producer(properties: ["linger.ms": "1"])

        let watcher = InvariantWatcher()
        let watching = Thread { try? watcher.run(conninfo: conninfo, schema: schema) }
        watching.start()
        defer { watcher.stop.store(true, ordering: .relaxed) }

        let a = scenario.startWorker(config)
        let b = scenario.startWorker(config)
        // Record time: fixed, so the grace rule is driven by the records, never the wall clock.
        let t0 = Int64(Date().timeIntervalSince1970 * 1000) / 1000 * 1000
        let start = UInt64(t0 - 10_000) * 1_000_000
        var produced: Int64 = 0
        var probe: UInt64 = 0
        func send(_ value: [UInt8], partition: Int32, at millis: Int64) throws {
            try producer.produce(topic: topic, partition: partition, key: nil, value: value, timestampMilliseconds: millis)
            try producer.flush(timeout: .seconds(10))
            produced += 1
        }
        func committed(timeout: Duration = .seconds(60)) async throws -> Bool {
            try await scenario.waitCommitted(produced, timeout: timeout)
        }
        /// Which worker consumes `partition` now: a complete probe trace is sent and the worker whose
        /// record count moves owns it.
        func owner(of partition: Int32) async throws -> String? {
            let before = (a.pipeline.progress.records, b.pipeline.progress.records)
            probe += 1
            let trace = hex(0xAB00_0000 + probe, width: 32)
            try send(
                record(trace: trace, spans: [(hex(probe, width: 16), "", "probe", "0.000000001")], startNanos: start),
                partition: partition, at: t0)
            guard try await committed() else { return nil }
            if a.pipeline.progress.records > before.0 { return "a" }
            if b.pipeline.progress.records > before.1 { return "b" }
            return nil
        }
        // Wait until the group settles with one partition per worker.
        var owners: (String?, String?) = (nil, nil)
        let settleDeadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < settleDeadline {
            owners = (try await owner(of: 0), try await owner(of: 1))
            if let o0 = owners.0, let o1 = owners.1, o0 != o1 { break }
            try await Task.sleep(for: .seconds(1))
        }
        try #require(owners.0 != nil && owners.1 != nil && owners.0 != owners.1, "partitions never split across the workers: \(owners)")
        let childPartition: Int32 = 0  // owned by one worker
        let rootPartition: Int32 = 1  // owned by the other

        // Phase 1 (epoch 1, worker of partition 0): the children of every trace, no root.
        let traces = 12
        var childCost: [Int64] = []
        var rootCost: [Int64] = []
        for i in 0..<traces {
            let trace = hex(0xC0DE_0000 + UInt64(i), width: 32)
            let root = hex(UInt64(i) * 16 + 1, width: 16)
            let c1 = Int64(1_000 + 7 * i), c2 = Int64(20_000 + 13 * i)
            childCost.append(c1 + c2)
            rootCost.append(Int64(300_000 + i))
            try send(
                record(
                    trace: trace,
                    spans: [(hex(UInt64(i) * 16 + 2, width: 16), root, "child", usd(c1)), (hex(UInt64(i) * 16 + 3, width: 16), root, "child", usd(c2))],
                    startNanos: start), partition: childPartition, at: t0)
        }
        #expect(try await committed())
        let c = try scenario.connect()
        func scalar(_ sql: String) throws -> String? { try c.execute(sql).string(0, 0) }
        let pendingAfterChildren = try scalar("SELECT coalesce(sum(cost_nusd), 0)::text FROM \(schema.quoted).pending_attribution")
        #expect(pendingAfterChildren == String(childCost.reduce(0, +)), "children wait in pending_attribution")

        // Phase 2 (a later epoch, the OTHER worker): roots of the first half arrive, within the grace.
        let named = traces / 2
        for i in 0..<named {
            let trace = hex(0xC0DE_0000 + UInt64(i), width: 32)
            try send(
                record(trace: trace, spans: [(hex(UInt64(i) * 16 + 1, width: 16), "", "POST /late", usd(rootCost[i]))], startNanos: start),
                partition: rootPartition, at: t0 + 100)
        }
        #expect(try await committed())

        // Phase 3: a record past the grace (record time) sweeps what is still pending.
        try send(
            record(trace: hex(0x7100_0000, width: 32), spans: [(hex(0x77, width: 16), "", "tick", "0.000000005")], startNanos: start),
            partition: childPartition, at: t0 + 61_000)
        #expect(try await committed())
        // One more epoch on the other worker too (its sweep finds nothing left).
        try send(
            record(trace: hex(0x7100_0001, width: 32), spans: [(hex(0x78, width: 16), "", "tick", "0.000000005")], startNanos: start),
            partition: rootPartition, at: t0 + 61_000)
        #expect(try await committed())

        try await a.stop()
        try await b.stop()
        watcher.stop.store(true, ordering: .relaxed)

        // Domains, summed over hours (all spans started in one hour), against the values sent.
        let rows = try c.execute(
            """
            SELECT transaction, sum(cost_nusd)::text, sum(span_count)::text, sum(trace_count)::text, count(DISTINCT hour)::text
            FROM \(schema.quoted).domain_hourly GROUP BY transaction ORDER BY transaction
            """)
        var domains: [String: [String]] = [:]
        for i in rows.rows.indices {
            domains[rows.string(i, 0) ?? "?"] = (1...4).map { rows.string(i, $0) ?? "?" }
        }
        let namedCost = (0..<named).reduce(Int64(0)) { $0 + childCost[$1] + rootCost[$1] }
        let unattributedCost = (named..<traces).reduce(Int64(0)) { $0 + childCost[$1] }
        let hourOfStart = Int64(start / 3_600_000_000_000)
        #expect(domains["POST /late"] == [String(namedCost), String(3 * named), String(named), "1"])
        #expect(domains["(unattributed)"] == [String(unattributedCost), String(2 * (traces - named)), "0", "1"])
        #expect(domains["tick"] == ["10", "2", "2", "1"])
        // The right hour: the spans' start hour.
        let hours = try scalar(
            "SELECT (extract(epoch FROM hour)::bigint / 3600)::text FROM \(schema.quoted).domain_hourly WHERE transaction = 'POST /late'")
        #expect(hours == String(hourOfStart))
        #expect(try scalar("SELECT count(*)::text FROM \(schema.quoted).pending_attribution") == "0")
        // The named traces carry their root's name; the swept ones are still unnamed in transactions.
        #expect(try scalar("SELECT count(*)::text FROM \(schema.quoted).transactions WHERE transaction = 'POST /late'") == String(named))
        #expect(
            try scalar("SELECT count(*)::text FROM \(schema.quoted).transactions WHERE transaction IS NULL")
                == String(traces - named))

        // The invariant held at every observation between commits, and there were observations.
        watching.cancel()
        try await Task.sleep(for: .milliseconds(50))
        #expect(watcher.violations.withLock { $0 }.isEmpty, "\(watcher.violations.withLock { $0.prefix(5) })")
        #expect(watcher.observations.load(ordering: .relaxed) > 10)
        let invariants = try scenario.invariantViolations()
        #expect(invariants.isEmpty, "\(invariants)")
    }
}
