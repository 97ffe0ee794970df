import Aggregation
import Foundation
import Pricing
import Testing
import TraceContext

/// One OTLP/JSON record of spans of one trace, built as text (the JSON reader is the worker's own).
private func jsonRecord(trace: String, spans: [(id: String, parent: String, traceState: String, session: String?)], startNanos: UInt64) -> [UInt8] {
    let items = spans.map { s -> String in
        var attrs: [String] = []
        if let session = s.session { attrs.append(#"{"key":"session.id","value":{"stringValue":"\#(session)"}}"#) }
        return #"{"traceId":"\#(trace)","spanId":"\#(s.id)","parentSpanId":"\#(s.parent)","traceState":"\#(s.traceState)","name":"op","kind":2,"startTimeUnixNano":"\#(startNanos)","endTimeUnixNano":"\#(startNanos + 1_000_000)","attributes":[\#(attrs.joined(separator: ","))]}"#
    }
    let text = #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[\#(items.joined(separator: ","))]}]}]}"#
    return Array(text.utf8)
}

private let recordMillis: Int64 = 1_795_000_000_000
private let trace = "0102030405060708090a0b0c0d0e0f10"

/// Processes one JSON record with the given headers; returns the delta.
private func process(
    _ value: [UInt8], baggage: String? = nil, tracestate: String? = nil, keys: [String] = ["session.id"]
) throws -> EpochDelta {
    let catalog = try PriceCatalog(yaml: "compute: []", sourceName: "<test>")
    var limits = RecordLimits()
    limits.baggageSessionKeys = keys
    var processor = RecordProcessor(pricer: SpanPricer(catalog: catalog), limits: limits)
    var delta = EpochDelta()
    func bytes(_ s: String?) -> [UInt8]? { s.map { Array($0.utf8) } }
    let bag = bytes(baggage), ts = bytes(tracestate)
    let outcome = value.withUnsafeBytes { v in
        withOptionalBytes(bag) { b in
            withOptionalBytes(ts) { t in
                processor.process(
                    RecordView(
                        topic: "t", partition: 0, offset: 0, timestampUnixMillis: recordMillis, value: v, isJSON: true,
                        baggage: b, tracestate: t), into: &delta)
            }
        }
    }
    #expect(outcome == .counted(spans: value.isEmpty ? 0 : outcomeSpans(value)))
    return delta
}

private func outcomeSpans(_ value: [UInt8]) -> Int {
    String(decoding: value, as: UTF8.self).components(separatedBy: "\"spanId\"").count - 1
}

private func withOptionalBytes<R>(_ b: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let b else { return body(nil) }
    return b.withUnsafeBytes { body($0) }
}

private var start: UInt64 { UInt64(recordMillis) * 1_000_000 - 60_000_000_000 }

@Suite("sessions from baggage keys")
struct BaggageSessionTests {
    @Test("every configured baggage key gives a session id; the first key in list order that is present wins")
    func configuredKeysInOrder() throws {
        let value = jsonRecord(trace: trace, spans: [("0000000000000001", "", "", nil)], startNanos: start)
        let keys = ["agent.session", "gen_ai.conversation.id"]
        let both = try process(value, baggage: "gen_ai.conversation.id=conv-9, agent.session=sess%2D1", keys: keys)
        #expect(both.sessions.keys.map(\.sessionID) == ["sess-1"])
        let second = try process(value, baggage: "other=1,gen_ai.conversation.id=conv-9", keys: keys)
        #expect(second.sessions.keys.map(\.sessionID) == ["conv-9"])
        #expect(second.counters.spansWithSession == 1)
        #expect(second.transactions.values.first?.sessionID == "conv-9")
    }

    @Test("session.id in baggage is honoured even when the configured list leaves it out, after the listed keys")
    func sessionIDAlways() throws {
        let value = jsonRecord(trace: trace, spans: [("0000000000000001", "", "", nil)], startNanos: start)
        let d = try process(value, baggage: "session.id=s-plain", keys: ["agent.session"])
        #expect(d.sessions.keys.map(\.sessionID) == ["s-plain"])
        let d2 = try process(value, baggage: "session.id=s-plain,agent.session=s-agent", keys: ["agent.session"])
        #expect(d2.sessions.keys.map(\.sessionID) == ["s-agent"])
    }

    @Test("a span's own session.id attribute wins over baggage; an invalid baggage header gives no session")
    func attributeWinsAndInvalidIgnored() throws {
        let value = jsonRecord(
            trace: trace, spans: [("0000000000000001", "", "", "attr-s"), ("0000000000000002", "0000000000000001", "", nil)],
            startNanos: start)
        let d = try process(value, baggage: "session.id=bag-s")
        #expect(Set(d.sessions.keys.map(\.sessionID)) == ["attr-s", "bag-s"])
        #expect(d.counters.spansWithSession == 2)
        let bad = try process(value, baggage: "session.id=\"quoted\"")
        #expect(bad.sessions.keys.map(\.sessionID) == ["attr-s"])
    }
}

@Suite("session rollup fields")
struct SessionRollupTests {
    @Test("depth_max, agent_count and ceiling_hits add up; parent_session is the least name in byte order whatever the merge order")
    func orderIndependent() {
        var a = SessionDelta()
        a.depthMax = 1
        a.agentCount = 2
        a.ceilingHits = 1
        a.parentSession = "zeta"
        var b = SessionDelta()
        b.depthMax = 4
        b.agentCount = 1
        b.parentSession = "Zeta"  // 'Z' 0x5A < 'z' 0x7A
        var c = SessionDelta()
        c.agentCount = 5
        var ab = a
        ab.merge(b)
        ab.merge(c)
        var cba = c
        cba.merge(b)
        cba.merge(a)
        #expect(ab == cba)
        #expect(ab.depthMax == 4 && ab.agentCount == 8 && ab.ceilingHits == 1 && ab.parentSession == "Zeta")
        #expect(SessionDelta.leastName(nil, "x") == "x" && SessionDelta.leastName("é", "f") == "f")
    }
}

@Suite("sampling adjusted counts")
struct SamplingTests {
    /// Independent oracle: 2^56 / (2^56 − T) rounded half to even to 6 decimals, with Foundation Decimal.
    func oracleMicro(_ hexDigits: String) -> Int64 {
        let t = UInt64(hexDigits.padding(toLength: 14, withPad: "0", startingAt: 0), radix: 16) ?? 0
        var q = Decimal(UInt64(1) << 56) / Decimal((UInt64(1) << 56) - t)
        var r = Decimal()
        NSDecimalRound(&r, &q, 6, .bankers)
        return NSDecimalNumber(decimal: r * Decimal(1_000_000)).int64Value
    }

    @Test("adjusted counts are exact for power-of-two thresholds and rounded half to even to 6 decimals otherwise")
    func rounding() throws {
        for digits in ["0", "8", "c", "e", "f", "fc", "4", "55", "aaaaaaaaaaaaab", "fd70a4", "ffffff"] {
            let value = "th:\(digits)"
            let threshold = try #require(Array(value.utf8).withUnsafeBytes { OTelThreshold(otValue: $0) })
            #expect(SampledSpans.micro(threshold) == oracleMicro(digits), "th:\(digits)")
        }
        #expect(SampledSpans.micro(nil) == 1_000_000)
        #expect(SampledSpans.whole(nil) == 1)
        let c = try #require(OTelThreshold(threshold: 0xc << 52))
        #expect(SampledSpans.whole(c) == 4)
        // The most extreme threshold is capped at 2^32 spans, never traps.
        let extreme = try #require(OTelThreshold(threshold: (1 << 56) - 1))
        #expect(SampledSpans.whole(extreme) == 1 << 32)
    }

    @Test("a span's own ot=th threshold wins over the record's tracestate header; unsampled spans count 1; cost is not multiplied")
    func foldedPerTrace() throws {
        let value = jsonRecord(
            trace: trace,
            spans: [
                ("0000000000000001", "", "ot=th:c", nil),  // own: 4
                ("0000000000000002", "0000000000000001", "", nil),  // header th:8: 2
                ("0000000000000003", "0000000000000001", "ot=th:4", nil),  // own: 1.333333
            ], startNanos: start)
        let d = try process(value, tracestate: "ot=th:8")
        let tx = try #require(d.transactions.values.first)
        #expect(tx.sampledSpansMicro == 4_000_000 + 2_000_000 + 1_333_333)
        #expect(d.counters.sampledSpans == 4 + 2 + 1)
        #expect(tx.spanCount == 3)
        let unsampled = try process(value.map { $0 }, tracestate: nil)
        // Without the header, the middle span is unsampled (1).
        let unsampledTx = try #require(unsampled.transactions.values.first)
        let expectedMicro: Int64 = 4_000_000 + 1_000_000 + 1_333_333
        #expect(unsampledTx.sampledSpansMicro == expectedMicro)
        #expect(unsampled.counters.sampledSpans == 5)
        // Cost is the same with or without sampling information.
        #expect(d.totalCostNanoUSD == unsampled.totalCostNanoUSD)
    }

    @Test("merging deltas adds adjusted counts exactly")
    func mergeAdds() throws {
        let value = jsonRecord(trace: trace, spans: [("0000000000000001", "", "ot=th:8", nil)], startNanos: start)
        var a = try process(value)
        let b = try process(value)
        a.merge(b)
        #expect(a.transactions.values.first?.sampledSpansMicro == 4_000_000)
        #expect(a.counters.sampledSpans == 4)
    }
}
