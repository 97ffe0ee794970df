import Aggregation
import Pricing
import Testing

/// OTLP/JSON strings with escapes are unescaped into a buffer beside the record; the fold reads them
/// after decoding, so that buffer must outlive the decode (it once did not: a use after free).
@Suite("OTLP/JSON escaped strings in the fold")
struct JSONEscapeTests {
    static let recordMillis: Int64 = 1_795_000_000_000

    /// One trace of a root and a child, every string that becomes a key written with escapes, plus an
    /// unknown member of `padding` bytes.
    static func record(padding: Int) -> [UInt8] {
        let start = UInt64(recordMillis) * 1_000_000 - 60_000_000_000
        let trace = "0102030405060708090a0b0c0d0e0f10"
        let session = #"{"key":"session.id","value":{"stringValue":"s\/\u00e9-1"}}"#
        let root = #"{"traceId":"\#(trace)","spanId":"0000000000000001","name":"GET \/items\u002F{id}","kind":2,"startTimeUnixNano":"\#(start)","endTimeUnixNano":"\#(start + 1_000_000)","attributes":[\#(session)]}"#
        let child = #"{"traceId":"\#(trace)","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"q\"uery","startTimeUnixNano":"\#(start)","endTimeUnixNano":"\#(start + 500_000)","attributes":[\#(session)]}"#
        let resource = #"{"attributes":[{"key":"service.name","value":{"stringValue":"check\u006Fut"}},{"key":"deployment.environment.name","value":{"stringValue":"pr\u006Fd"}}]}"#
        let pad = String(repeating: "a", count: padding)
        let text = #"{"resourceSpans":[{"resource":\#(resource),"scopeSpans":[{"spans":[\#(root),\#(child)]}],"schemaUrl":"\#(pad)"}]}"#
        return Array(text.utf8)
    }

    func fold(_ value: [UInt8]) throws -> (RecordOutcome, EpochDelta) {
        let catalog = try PriceCatalog(yaml: "compute: []", sourceName: "<test>")
        var processor = RecordProcessor(pricer: SpanPricer(catalog: catalog), limits: RecordLimits(maxBytes: 64 << 20))
        var delta = EpochDelta()
        let outcome = value.withUnsafeBytes { v in
            processor.process(
                RecordView(
                    topic: "t", partition: 0, offset: 0, timestampUnixMillis: Self.recordMillis, value: v, isJSON: true,
                    traceparent: nil, baggage: nil, tracestate: nil),
                into: &delta)
        }
        return (outcome, delta)
    }

    @Test("escaped names, services and session ids reach the ledger unescaped, in small records and in one of 33 MiB")
    func escapedKeysSurviveTheDecode() throws {
        // 33 MiB is above glibc's largest mmap threshold: a buffer of the record's size is its own
        // mapping, unmapped when freed, so reading it after the decode would crash, not pass by luck.
        for padding in [0, 33 << 20] {
            let (outcome, delta) = try fold(Self.record(padding: padding))
            #expect(outcome == .counted(spans: 2))
            let tx = try #require(delta.transactions.values.first)
            #expect(tx.transaction == "GET /items/{id}")
            #expect(tx.service == "checkout")
            #expect(tx.environment == "prod")
            #expect(tx.sessionID == "s/é-1")
            #expect(delta.sessions.keys.map(\.sessionID) == ["s/é-1"])
        }
    }
}
