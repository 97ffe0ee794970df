import DevHarness
import Foundation
import Kafka
import Ledger
import Logging
import OTLPProto
import Pipeline
import SwiftProtobuf
import Testing
import TestSupport

// MARK: - building records with any values

func attr(_ key: String, _ value: String) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = key
    kv.value.stringValue = value
    return kv
}

func attr(_ key: String, int value: Int64) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = key
    kv.value.intValue = value
    return kv
}

func attr(_ key: String, double value: Double) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = key
    kv.value.doubleValue = value
    return kv
}

/// One span of a hostile or benign record.
struct SpanSpec {
    var trace: [UInt8]
    var span: [UInt8]
    var parent: [UInt8] = []
    var name = "GET /hostile"
    var start: UInt64
    var end: UInt64
    var attributes: [OTLPKeyValue] = []
}

func otlpRecord(_ spans: [SpanSpec], resource: [OTLPKeyValue] = [attr("service.name", "svc")]) throws -> [UInt8] {
    var request = OTLPExportTraceServiceRequest()
    var rs = OTLPResourceSpans()
    rs.resource.attributes = resource
    var ss = OTLPScopeSpans()
    for s in spans {
        var span = OTLPSpan()
        span.traceID = Data(s.trace)
        span.spanID = Data(s.span)
        span.parentSpanID = Data(s.parent)
        span.name = s.name
        span.kind = .server
        span.startTimeUnixNano = s.start
        span.endTimeUnixNano = s.end
        span.attributes = s.attributes
        ss.spans.append(span)
    }
    rs.scopeSpans = [ss]
    request.resourceSpans = [rs]
    return Array(try request.serializedData())
}

/// A trace id whose 16 bytes say which test record it belongs to.
func traceID(_ n: UInt32) -> [UInt8] { [0xAB, 0xCD] + bytes(10, 0x11) + withUnsafeBytes(of: n.bigEndian, Array.init) }
func spanID(_ n: UInt32) -> [UInt8] { [0x5A] + bytes(3, 0x22) + withUnsafeBytes(of: n.bigEndian, Array.init) }
func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

/// Incompressible text (a URL with a JWT-like tail): `count` bytes of random base64url.
func incompressible(_ count: Int, seed: UInt64) -> String {
    var rng = SplitMix64(seed: seed)
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    var out = Array("https://idp.example/cb?token=".utf8)
    while out.count < count {
        out.append(alphabet[Int(rng.next() >> 58)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// A runner: a `KafkaLedgerScenario` (mock cluster, a topic of `partitions`, a migrated schema), a
/// producer and a worker; counts what it produced.
struct HostileHarness {
    let scenario: KafkaLedgerScenario
    let producer: KafkaProducer
    var produced: Int64 = 0
    var topic: String { scenario.topic }

    init(_ name: String, partitions: Int32 = 3) throws {
        let level = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        scenario = try KafkaLedgerScenario(name, topicPrefix: "t", partitions: Int(partitions), logLevel: level)
        producer = try scenario.producer()
    }

    mutating func produce(_ value: [UInt8], partition: Int32, timestampMillis: Int64) throws {
        try producer.produce(topic: topic, partition: partition, key: nil, value: value, timestampMilliseconds: timestampMillis)
        produced += 1
    }

    func flush() throws { try producer.flush(timeout: .seconds(60)) }

    func worker() -> InProcessWorker { scenario.startWorker() }

    func waitCommitted() async throws -> Bool { try await scenario.waitCommitted(produced) }

    @discardableResult
    func query(_ sql: String, _ params: [PGValue] = []) throws -> PGQueryResult {
        let c = try scenario.connect()
        let text = sql.replacingOccurrences(of: "$S", with: "\"\(scenario.schema)\"")
        return params.isEmpty ? try c.execute(text) : try c.execute(text, params)
    }

    /// `sum(cost_nusd)` (exact decimal text) and `sum(span_count)` of one trace.
    func trace(_ id: [UInt8]) throws -> (cost: String, spans: Int64, input: String) {
        let r = try query(
            "SELECT coalesce(sum(cost_nusd), 0)::text, coalesce(sum(span_count), 0), coalesce(sum(input_tokens), 0)::text FROM $S.transactions WHERE trace_id = decode($1, 'hex')",
            [.text(hex(id))])
        return (r.string(0, 0) ?? "", r.int64(0, 1) ?? -1, r.string(0, 2) ?? "")
    }

    /// Reason codes of the rejected records, by offset, of one partition.
    func rejected(partition: Int32) throws -> [Int64: String] {
        let r = try query(
            "SELECT \"offset\", reason FROM $S.rejected_records WHERE topic = $1 AND partition = $2", [.text(topic), .int4(partition)])
        var out: [Int64: String] = [:]
        for i in r.rows.indices { out[r.int64(i, 0) ?? -1] = r.string(i, 1) ?? "" }
        return out
    }
}

@Suite("hostile records beside normal traffic", .serialized)
struct HostileRecordTests {
    /// Normal traffic: every span carries an exact `cost.usd` string, so the expected ledger is a sum of
    /// the strings, independent of our pricing code.
    struct Benign {
        var ids: [[UInt8]] = []
        var expectedNanos: Int64 = 0
        var spans: Int64 = 0

        /// The ledger holds exactly the benign traces' cost and spans.
        func expectExact(in h: HostileHarness) throws {
            var cost: Int64 = 0
            var spans: Int64 = 0
            for id in ids {
                let row = try h.trace(id)
                cost += Int64(row.cost) ?? -1
                spans += row.spans
            }
            #expect(cost == expectedNanos)
            #expect(spans == self.spans)
        }

        mutating func record(_ n: UInt32, now: UInt64) throws -> [UInt8] {
            let id = traceID(0x1000_0000 + n)
            ids.append(id)
            let nanos = Int64(n % 977) * 1_003 + 7
            expectedNanos += nanos * 2
            spans += 2
            let usd = "0." + String(repeating: "0", count: 9 - String(nanos).count) + String(nanos)
            return try otlpRecord([
                SpanSpec(trace: id, span: spanID(1), name: "POST /checkout", start: now, end: now + 1_000_000,
                         attributes: [attr("cost.usd", usd)]),
                SpanSpec(trace: id, span: spanID(2), parent: spanID(1), start: now, end: now + 500_000,
                         attributes: [attr("cost.usd", usd)]),
            ])
        }
    }

    @Test("no record crashes or wedges a worker: overflowing sums are exact, absurd values bounded, bad times rejected, the normal traffic exact")
    func hostileMix() async throws {
        var h = try HostileHarness("it_hostile")
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let now = UInt64(nowMillis) * 1_000_000
        var benign = Benign()
        var n: UInt32 = 0
        func interleaveBenign(_ h: inout HostileHarness, _ count: Int) throws {
            for _ in 0..<count {
                n += 1
                try h.produce(try benign.record(n, now: now), partition: Int32(n % 3), timestampMillis: nowMillis)
            }
        }
        // Expected outcome per hostile record: (partition, offset) → reason, or a trace check.
        var expectRejected: [(partition: Int32, reason: String)] = []
        func hostile(_ h: inout HostileHarness, _ value: [UInt8], partition: Int32 = 0, time: Int64? = nil, reason: String? = nil) throws {
            try h.produce(value, partition: partition, timestampMillis: time ?? nowMillis)
            if let reason { expectRejected.append((partition, reason)) }
            try interleaveBenign(&h, 1)
        }
        let t = (tokens: traceID(1), cost: traceID(2), crossA: traceID(3), names: traceID(4), nul: traceID(5),
                 credit: traceID(6), bad: traceID(7))
        let span = { (id: [UInt8], i: UInt32, attrs: [OTLPKeyValue]) in
            SpanSpec(trace: id, span: spanID(i), parent: i == 1 ? [] : spanID(1), start: now, end: now + 1_000, attributes: attrs)
        }
        try interleaveBenign(&h, 10)
        // 1. Token sums beyond Int64 within one record (an unpriced model keeps the cost at 0).
        try hostile(&h, try otlpRecord([
            span(t.tokens, 1, [attr("gen_ai.request.model", "no-such-model"), attr("gen_ai.usage.input_tokens", int: 5_000_000_000_000_000_000)]),
            span(t.tokens, 2, [attr("gen_ai.request.model", "no-such-model"), attr("gen_ai.usage.input_tokens", int: 5_000_000_000_000_000_000)]),
        ]))
        // 2. A dozen spans of cost.usd = 1e9 (the largest allowed): 1.2e19 nUSD in one trace.
        try hostile(&h, try otlpRecord((1...12).map { span(t.cost, UInt32($0), [attr("cost.usd", int: 1_000_000_000)]) }))
        // 3. The same across records (and, below, across epochs).
        for i in 0..<6 {
            try hostile(&h, try otlpRecord([span(t.crossA, UInt32(10 + i), [attr("cost.usd", "1000000000")])]), partition: Int32(i % 3))
        }
        // 4. Invalid upstream costs are ignored (the span is priced by the catalog: nothing matches → 0).
        for (i, v) in [Double.nan, .infinity, -.infinity, 1e10].enumerated() {
            try hostile(&h, try otlpRecord([span(t.bad, UInt32(20 + i), [attr("cost.usd", double: v)])]))
        }
        try hostile(&h, try otlpRecord([span(t.bad, 30, [attr("cost.usd", "1e400"), attr("gen_ai.usage.input_tokens", int: -5)])]))
        // 5. A finite negative cost.usd is a credit.
        try hostile(&h, try otlpRecord([span(t.credit, 1, [attr("cost.usd", "-2.5")])]))
        // 6. 12 KB incompressible names and ids (root name, service, environment, session, model, parent session).
        let big = incompressible(12_000, seed: 1)
        var root = span(t.names, 1, [attr("session.id", big), attr("gen_ai.request.model", big), attr("agent.parent_session", big),
                                     attr("deployment.environment.name", big), attr("cost.usd", "0.000000042")])
        root.name = big
        try hostile(&h, try otlpRecord([root], resource: [attr("service.name", incompressible(12_000, seed: 2))]))
        // 7. NUL bytes and invalid UTF-8 in names and ids.
        var nul = span(t.nul, 1, [attr("session.id", "s\u{0}1"), attr("cost.usd", "0.000000001")])
        nul.name = "GET /\u{0}nul"
        try hostile(&h, try otlpRecord([nul]))
        // 8. Kafka timestamps: year 2100 (spans in 2100 too), past 2262, negative.
        let y2100 = Int64(4_102_444_800_000)
        try hostile(&h, try otlpRecord([span(traceID(8), 1, [])].map { var s = $0; s.start = UInt64(y2100) * 1_000_000; s.end = s.start + 1; return s }),
                    time: y2100, reason: "timestamp_out_of_range")
        try hostile(&h, try otlpRecord([span(traceID(9), 1, [])]), time: 50_000_000_000_000_000, reason: "timestamp_out_of_range")
        // 9. A span starting at UInt64.max.
        try hostile(&h, try otlpRecord([span(traceID(10), 1, [])].map { var s = $0; s.start = .max; s.end = .max; return s }),
                    reason: "timestamp_out_of_range")
        // 10. A length prefix claiming 2^62 bytes.
        try hostile(&h, [0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40], reason: "undecodable")
        // 11. agent.depth at the extremes.
        try hostile(&h, try otlpRecord([span(traceID(11), 1, [attr("session.id", "depth"), attr("agent.depth", int: .max)]),
                                        span(traceID(11), 2, [attr("session.id", "depth"), attr("agent.depth", int: .min)])]))
        try h.flush()

        let worker = h.worker()
        #expect(try await h.waitCommitted(), "every record's offset committed (nothing wedged)")
        // Across epochs: more 1e9 USD spans into the same trace after the first epochs committed.
        for i in 0..<6 {
            try hostile(&h, try otlpRecord([span(t.crossA, UInt32(40 + i), [attr("cost.usd", int: 1_000_000_000)])]), partition: Int32(i % 3))
        }
        try h.flush()
        #expect(try await h.waitCommitted(), "the later records committed too")
        try await worker.stop()

        // Exact beyond 64 bits.
        #expect(try h.trace(t.tokens).input == "10000000000000000000")
        #expect(try h.trace(t.tokens).spans == 2)
        #expect(try h.trace(t.cost).cost == "12000000000000000000")
        #expect(try h.trace(t.crossA).cost == "12000000000000000000")
        #expect(try h.trace(t.crossA).spans == 12)
        #expect(try h.trace(t.credit).cost == "-2500000000")
        let bad = try h.trace(t.bad)
        #expect(bad.cost == "0" && bad.spans == 5, "invalid cost.usd ignored: \(bad)")
        #expect(try h.trace(t.nul).spans == 1)
        #expect(try h.trace(traceID(11)).spans == 2)
        // Long names are stored bounded, and the row exists.
        let names = try h.query("SELECT octet_length(transaction), octet_length(service), octet_length(session_id) FROM $S.transactions WHERE trace_id = decode($1, 'hex')", [.text(hex(t.names))])
        #expect(names.rows.count == 1)
        for col in 0..<3 { #expect((names.int64(0, col) ?? 0) > 0 && (names.int64(0, col) ?? .max) <= 256) }
        let model = try h.query("SELECT max(octet_length(model)) FROM $S.model_hourly")
        #expect((model.int64(0, 0) ?? .max) <= 256)

        // Rejections: exactly the expected reasons.
        var rejected: [String] = []
        for p: Int32 in 0..<3 { rejected += try h.rejected(partition: p).values }
        #expect(rejected.sorted() == expectRejected.map(\.reason).sorted())

        // The normal traffic is exact.
        try benign.expectExact(in: h)
        let invariants = try h.scenario.invariantViolations()
        #expect(invariants.isEmpty, "\(invariants)")
    }

    /// A database that refuses one record's data (here a trigger, standing in for any data-level error
    /// the values could still raise): the record is isolated, rejected with a reason naming the SQLSTATE,
    /// and every other record commits.
    @Test(
        "a record the database refuses is found, rejected with its reason, and the rest of its epoch commits",
        arguments: [("22003", "value_out_of_range"), ("54000", "unwritable"), ("23514", "unwritable")])
    func dataLevelError(_ sqlState: String, _ reason: String) async throws {
        var h = try HostileHarness("it_dataerr", partitions: 2)
        try h.query(
            """
            CREATE FUNCTION $S.refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.transaction = 'refuse-me' THEN RAISE EXCEPTION 'refused by test' USING ERRCODE = '\(sqlState)'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON $S.domain_hourly FOR EACH ROW EXECUTE FUNCTION $S.refuse_marked();
            """)
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let now = UInt64(nowMillis) * 1_000_000
        var benign = Benign()
        var poisonOffset: Int64 = -1
        for n: UInt32 in 1...60 {
            if n == 37 {
                var s = SpanSpec(trace: traceID(99), span: spanID(1), start: now, end: now + 1, attributes: [attr("cost.usd", "1")])
                s.name = "refuse-me"
                poisonOffset = Int64(n / 2)  // partition 1 gets odd n: offsets 0, 1, ... in order
                try h.produce(try otlpRecord([s]), partition: 1, timestampMillis: nowMillis)
                continue
            }
            try h.produce(try benign.record(n, now: now), partition: Int32(n % 2), timestampMillis: nowMillis)
        }
        try h.flush()
        let worker = h.worker()
        #expect(try await h.waitCommitted(), "every offset committed: the refused record did not wedge its partition")
        try await worker.stop()

        #expect(try h.rejected(partition: 1) == [poisonOffset: reason])
        #expect(try h.rejected(partition: 0).isEmpty)
        #expect(try h.trace(traceID(99)).spans == 0)
        try benign.expectExact(in: h)
        let detail = try h.query("SELECT detail FROM $S.rejected_records").string(0, 0) ?? ""
        #expect(detail.contains(sqlState), "detail names the SQLSTATE: \(detail)")
    }
}
