import Foundation
import OTLPProto
import PropertyBased
import SpanDecoding
import SwiftProtobuf
import Testing
import TraceContext
import TestSupport

/// A PropertyBased generator of random valid requests (seeded by PropertyBased's RNG).
let requestSeedGen = Gen<UInt64>.value(in: 0...UInt64.max)

@Suite struct OTLPProtobufReaderTests {
    @Test func emptyInputHasNoSpans() throws {
        #expect(try decodeProto([]).isEmpty)
    }

    @Test func readsAHandBuiltSpan() throws {
        var req = OTLPExportTraceServiceRequest()
        var rs = OTLPResourceSpans()
        rs.resource.attributes = [kv("service.name", s: "checkout"), kv("host.type", s: "m5.large"),
                                  kv("cloud.region", s: "eu-west-1")]
        var span = OTLPSpan()
        span.traceID = Data((1...16).map { UInt8($0) })
        span.spanID = Data((1...8).map { UInt8($0) })
        span.name = "GET /cart"
        span.kind = .server
        span.startTimeUnixNano = 1_700_000_000_000_000_000
        span.endTimeUnixNano = 1_700_000_001_000_000_000
        span.attributes = [kv("host.type", s: "g5.xlarge"), kv("gen_ai.usage.input_tokens", i: 12),
                           kv("cost.usd", d: 0.25), kv("faas.trigger", s: "http")]
        span.status.code = .error
        span.flags = 0x101
        var ss = OTLPScopeSpans()
        ss.spans = [span]
        rs.scopeSpans = [ss]
        req.resourceSpans = [rs]
        let bytes = serialize(req)
        var seen = 0
        try bytes.withUnsafeBytes { raw in
            try OTLPProtobufReader.forEachSpan(in: raw) { s in
                seen += 1
                #expect(s.traceID == TraceID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10))
                #expect(s.spanID == SpanID(0x0102_0304_0506_0708))
                #expect(s.isRoot && !s.hasParent)
                #expect(s.name.equals("GET /cart"))
                #expect(s.kind == .server && s.statusCode == .error && s.flags == 0x101)
                #expect(s.attributes.hostType?.equals("g5.xlarge") == true)  // span over resource
                #expect(s.attributes.cloudRegion?.equals("eu-west-1") == true)  // from the resource
                #expect(s.attributes.serviceName?.equals("checkout") == true)
                #expect(s.attributes.inputTokens == 12)
                #expect(s.attributes.hasFaasAttribute)
                if case .double(let d)? = s.attributes.costUSD { #expect(d == 0.25) } else { Issue.record("cost.usd") }
            }
        }
        #expect(seen == 1)
        let summary = try bytes.withUnsafeBytes { try OTLPProtobufReader.summarize($0) }
        #expect(summary.spanCount == 1 && summary.isSingleTrace)
    }

    @Test(arguments: [(15, "trace"), (17, "trace"), (0, "trace"), (7, "span"), (9, "span"), (4, "parent"), (16, "parent")])
    func badIDLengthIsBadIDs(length: Int, which: String) throws {
        var s = OTLPSpan()
        s.traceID = Data(repeating: 1, count: which == "trace" ? length : 16)
        s.spanID = Data(repeating: 2, count: which == "span" ? length : 8)
        if which == "parent" { s.parentSpanID = Data(repeating: 3, count: length) }
        let bytes = wrap(span: serialize(s))
        #expect {
            try decodeProto(bytes)
        } throws: { ($0 as? SpanDecodingError)?.code == .badIDs && ($0 as? SpanDecodingError)?.code.rejectReason.description == "bad_ids" }
        #expect(throws: SpanDecodingError.self) { try decodeJSON(OTLPJSONEmitter.emit(request(s), rng: SplitMix64(seed: 1))) }
    }

    @Test func zeroIDsAreBadIDs() throws {
        var s = OTLPSpan()
        s.traceID = Data(count: 16)
        s.spanID = Data(repeating: 2, count: 8)
        #expect(throws: SpanDecodingError(.badIDs, at: 8)) { try decodeProto(wrap(span: serialize(s))) }
        s.traceID = Data(repeating: 1, count: 16)
        s.spanID = Data(count: 8)
        #expect(throws: SpanDecodingError.self) { try decodeProto(wrap(span: serialize(s))) }
        // An all-zero 8-byte parent is "no parent".
        s.spanID = Data(repeating: 2, count: 8)
        s.parentSpanID = Data(count: 8)
        #expect(try decodeProto(wrap(span: serialize(s))).first?.parent == SpanID(0))
    }

    /// Found by the 1M fuzz run (it crashed the test oracle, not the reader): negative and
    /// out-of-range enum values map to the default case.
    @Test func negativeEnumValuesMapToDefault() throws {
        var s = OTLPSpan()
        s.traceID = Data(repeating: 1, count: 16)
        s.spanID = Data(repeating: 2, count: 8)
        let neg = varint(UInt64(bitPattern: -5))  // 10 bytes
        let status = lenField(15, [0x18] + neg)
        let bytes = wrap(span: serialize(s) + [0x30] + neg + status + [0x30, 0x80, 0x02])  // kind -5, then 256
        let got = try #require(try decodeProto(bytes).first)
        #expect(got.kind == 0 && got.status == 0)
        let oracle = try OTLPExportTraceServiceRequest(serializedBytes: bytes)
        #expect([got] == Oracle.expectedSpans(oracle))
    }

    @Test func malformedInputsThrowTypedErrors() throws {
        let cases: [([UInt8], SpanDecodingError.Code)] = [
            ([0x0A], .truncated),  // tag, no length
            ([0x0A, 0x05, 0x01], .truncated),  // length past the end
            ([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], .malformedVarint),
            ([0x0E], .badWireType),  // wire type 6
            ([0x0F], .badWireType),  // wire type 7
            ([0x0C], .badWireType),  // end group without start
            ([0x00, 0x00], .badFieldNumber),  // field 0
            ([0x0B, 0x14], .badWireType),  // group 1 closed by group 2's end
            ([0x0B], .truncated),  // unterminated group
            ([0x09, 1, 2, 3], .truncated),  // fixed64 cut
            ([0x0D, 1, 2], .truncated),  // fixed32 cut
            (Array(repeating: 0x0B, count: 200), .tooDeep),
        ]
        for (bytes, code) in cases {
            #expect(throws: SpanDecodingError.self) { try decodeProto(bytes) }
            do {
                _ = try decodeProto(bytes)
            } catch let e as SpanDecodingError {
                #expect(e.code == code, "\(bytes): \(e)")
            }
        }
    }

    /// Known fields arriving twice: the last scalar wins, messages (resource, status, AnyValue) merge.
    @Test func repeatedFieldsFollowProtobufMergeRules() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<300 {
            let a = RequestGen.request(&rng, resources: 1...1, spans: 1...1, unknownRate: 0.3)
            let b = RequestGen.request(&rng, resources: 1...1, spans: 1...1, unknownRate: 0.3)
            guard let sa = a.resourceSpans.first?.scopeSpans.first?.spans.first,
                let sb = b.resourceSpans.first?.scopeSpans.first?.spans.first
            else { continue }
            // One span whose bytes are two spans' bytes concatenated (protobuf: merge), in a resource
            // whose bytes are two resources concatenated, placed AFTER the scope spans.
            let spanBytes = serialize(sa) + serialize(sb)
            let resBytes = serialize(a.resourceSpans[0].resource) + serialize(b.resourceSpans[0].resource)
            let rsBytes = lenField(2, lenField(2, spanBytes)) + lenField(1, resBytes)
            let bytes = lenField(1, rsBytes)
            let oracle = try OTLPExportTraceServiceRequest(serializedBytes: bytes)
            #expect(try decodeProto(bytes) == Oracle.expectedSpans(oracle))
        }
    }

    @Test func agreesWithSwiftProtobufOnRandomRequests() async {
        await propertyCheck(count: 300, input: requestSeedGen) { seed in
            var rng = SplitMix64(seed: seed)
            let req = RequestGen.request(&rng)
            let bytes = serialize(req)
            // Round-trip through swift-protobuf so the oracle sees exactly the bytes we read.
            guard let oracle = try? OTLPExportTraceServiceRequest(serializedBytes: bytes) else {
                Issue.record("swift-protobuf refused its own output")
                return
            }
            let expected = Oracle.expectedSpans(oracle)
            do {
                let got = try decodeProto(bytes)
                #expect(got == expected, "seed \(seed)")
                let ids = try bytes.withUnsafeBytes { try OTLPProtobufReader.distinctTraceIDs(in: $0) }
                var want: [TraceID] = []
                for s in expected where !want.contains(s.traceID) { want.append(s.traceID) }
                #expect(ids == want)
                #expect(try bytes.withUnsafeBytes { try OTLPProtobufReader.countSpans(in: $0) } == expected.count)
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }

    @Test func jsonAgreesWithSwiftProtobufOnRandomRequests() async {
        await propertyCheck(count: 300, input: requestSeedGen) { seed in
            var rng = SplitMix64(seed: seed)
            let req = RequestGen.request(&rng)
            let expected = Oracle.expectedSpans(req)
            let json = OTLPJSONEmitter.emit(req, rng: SplitMix64(seed: seed ^ 0x5555))
            do {
                let got = try decodeJSON(json)
                #expect(got == expected, "seed \(seed): \(String(decoding: json, as: UTF8.self))")
            } catch {
                Issue.record("seed \(seed): \(error)\n\(String(decoding: json, as: UTF8.self))")
            }
        }
    }

    @Test func jsonReadsTheSpecExampleShape() throws {
        let json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
            "scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0","attributes":[{"key":"my.scope.attribute","value":{"stringValue":"some scope attribute"}}]},
            "spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"EEE19B7EC3C1B173",
            "name":"I'm a server span","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000","kind":2,
            "attributes":[{"key":"gen_ai.usage.output_tokens","value":{"intValue":"42"}},{"key":"cost.usd","value":{"stringValue":"0.10"}},
            {"key":"my.span.attr","value":{"stringValue":"some value"}}]}]}]}]}
            """
        let spans = try decodeJSON(Array(json.utf8))
        #expect(spans.count == 1)
        let s = try #require(spans.first)
        #expect(s.traceID.description == "5b8efff798038103d269b633813fc60c")
        #expect(s.parent.description == "eee19b7ec3c1b173")
        #expect(s.kind == 2 && s.start == 1_544_712_660_000_000_000)
        #expect(s.attrs["service.name"] == .string(Array("my.service".utf8)))
        #expect(s.attrs["gen_ai.usage.output_tokens"] == .int(42))
        #expect(s.attrs["cost.usd"] == .string(Array("0.10".utf8)))
    }

    /// The string scanner reads eight bytes a step: every special byte at every position and alignment
    /// must stop it exactly where a byte-by-byte reading would (the expected values below are built
    /// from the bytes, not from the reader).
    @Test func jsonStringScanStopsAtEveryQuoteEscapeAndControlByteWhateverItsAlignment() throws {
        // (JSON bytes inserted, the bytes they decode to; nil = a control byte the reader must refuse).
        let specials: [([UInt8], [UInt8]?)] = [
            (Array(#"\""#.utf8), [0x22]), (Array(#"\\"#.utf8), [0x5C]), (Array(#"\u00e9"#.utf8), [0xC3, 0xA9]),
            (Array(#"\n"#.utf8), [0x0A]), ([0x01], nil), ([0x1F], nil), ([0x09], nil), ([0x00], nil),
            ([0x80], [0x80]), ([0xFF], [0xFF]), ([0x20], [0x20]), ([0x21], [0x21]), ([0x23], [0x23]),
            ([0x5B], [0x5B]), ([0x5D], [0x5D]), ([0x7F], [0x7F]),
        ]
        let ids = #""traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331""#
        var checked = 0
        for length in 0...24 {
            for at in 0...length {
                for (insert, decoded) in specials {
                    var raw: [UInt8] = []
                    var want: [UInt8] = []
                    for i in 0..<length { raw.append(UInt8(ascii: "a") + UInt8(i % 26)); want.append(raw.last!) }
                    raw.insert(contentsOf: insert, at: at)
                    want.insert(contentsOf: decoded ?? [], at: at)
                    for shift in 0..<8 {
                        let pad = [UInt8](repeating: 0x20, count: shift)
                        for inName in [false, true] {
                            var doc = pad + Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"#.utf8) + Array(ids.utf8)
                            doc += Array(#","x-unknown-key":""#.utf8) + (inName ? [0x7A] : raw) + Array(#"","name":""#.utf8)
                            doc += (inName ? raw : [0x6E]) + Array(#""}]}]}]}"#.utf8)
                            if decoded == nil {
                                let offset = try #require(doc.firstIndex(of: insert[0]))
                                #expect(throws: SpanDecodingError(.badJSON, at: offset)) { try decodeJSON(doc) }
                            } else {
                                let spans = try decodeJSON(doc)
                                #expect(spans.map(\.name) == [inName ? want : [0x6E]], "length \(length) at \(at) shift \(shift)")
                            }
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked == 325 * 16 * 8 * 2)
    }

    /// `null` is "absent" for every member, including the containers the reader descends into (before
    /// session 16 a `null` there made the record undecodable).
    @Test func jsonNullMembersAreAbsent() throws {
        let span = #"{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"n","status":{"code":null},"attributes":null}"#
        let doc = #"{"resourceSpans":[null,{"resource":{"attributes":null},"scopeSpans":null},{"resource":null,"scopeSpans":[null,{"spans":null},{"spans":[\#(span)]}]}]}"#
        let spans = try decodeJSON(Array(doc.utf8))
        #expect(spans.count == 1)
        #expect(spans.first?.attrs.isEmpty == true)
        #expect(try decodeJSON(Array(#"{"resourceSpans":null}"#.utf8)).isEmpty)
    }

    /// The resource applies to its spans wherever it stands in the object, and the last of repeated
    /// `resource` members wins, also when it comes after the spans (read again then).
    @Test func jsonResourceAfterSpansAndRepeatedResourceLastWins() throws {
        func resource(_ service: String) -> String {
            #""resource":{"attributes":[{"key":"service.name","value":{"stringValue":"\#(service)"}}]}"#
        }
        let spans = #""scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"},{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203332"}]}]"#
        let other = #"{\#(resource("other")),\#(spans)}"#
        for (members, service) in [
            ("\(resource("a")),\(spans)", "a"), ("\(spans),\(resource("a"))", "a"),
            ("\(resource("a")),\(spans),\(resource("b"))", "b"), ("\(resource("a")),\(resource("b")),\(spans)", "b"),
            ("\(spans),\(resource("a")),\(spans)", "a"),
        ] {
            let doc = #"{"resourceSpans":[\#(other),{\#(members)},\#(other)]}"#
            let got = try decodeJSON(Array(doc.utf8))
            let services = got.map { $0.attrs["service.name"] }
            let want = members.components(separatedBy: "scopeSpans").count - 1
            let a = OwnedValue.string(Array("other".utf8)), b = OwnedValue.string(Array(service.utf8))
            #expect(services == [a, a] + Array(repeating: b, count: 2 * want) + [a, a], "\(members)")
        }
    }

    /// A `KeyValue`'s members in either order, and repeated: the last `key` and the last `value` win, the
    /// same attributes whatever the order, and a record is refused only when the FINAL key needs a value
    /// that does not read (a bad value under a known key that a later duplicate replaces by an unknown one
    /// is skipped). Guards any reader that reads a value before it has seen the whole object.
    @Test func jsonKeyValueReadsTheSameInEitherOrderAndOnlyTheFinalKeyDecides() throws {
        func doc(_ kv: String) -> [UInt8] {
            let span = #"{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[\#(kv)]}"#
            return Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[\#(span)]}]}]}"#.utf8)
        }
        let model = OwnedValue.string(Array("gpt-4o/é".utf8))
        for kv in [
            #"{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o\/é"}}"#,
            #"{"value":{"stringValue":"gpt-4o\/é"},"key":"gen_ai.request.model"}"#,
            #"{"key":"other","value":{"stringValue":"gpt-4o\/é"},"key":"gen_ai.request.model"}"#,
            #"{"key":"gen_ai.request.model","value":{"intValue":"x"},"value":{"stringValue":"gpt-4o\/é"}}"#,
        ] {
            let spans = try decodeJSON(doc(kv))
            #expect(spans.first?.attrs["gen_ai.request.model"] == model, "\(kv)")
        }
        // A bad value: refused under a known key whichever member comes first, ignored once an unknown key replaces it.
        let bad = #"{"intValue":"not a number"}"#
        #expect(throws: SpanDecodingError.self) { try decodeJSON(doc(#"{"key":"gen_ai.usage.input_tokens","value":\#(bad)}"#)) }
        #expect(throws: SpanDecodingError.self) { try decodeJSON(doc(#"{"value":\#(bad),"key":"gen_ai.usage.input_tokens"}"#)) }
        let replaced = try decodeJSON(doc(#"{"key":"gen_ai.usage.input_tokens","value":\#(bad),"key":"unknown.key"}"#))
        #expect(replaced.first?.attrs.isEmpty == true)
        // Malformed JSON in a value is refused whatever the key.
        #expect(throws: SpanDecodingError.self) { try decodeJSON(doc(#"{"key":"unknown.key","value":{"stringValue":}}"#)) }
    }

    /// Spans read again because their resource follows them unescape their strings a second time; the
    /// scratch must hold both readings (it once held one: the second was cut short, silently).
    @Test func jsonSpansReadTwiceKeepEveryUnescapedByte() throws {
        let name = String(repeating: "a", count: 5000) + #"\/"#
        let spans = (1...3).map { i in
            #"{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b716920333\#(i)","name":"\#(name)"}"#
        }
        let doc = #"{"resourceSpans":[{"scopeSpans":[{"spans":[\#(spans.joined(separator: ","))]}],"resource":{}}]}"#
        let got = try decodeJSON(Array(doc.utf8))
        #expect(got.map(\.name) == Array(repeating: Array((String(repeating: "a", count: 5000) + "/").utf8), count: 3))
    }

    /// The scratch a record's escapes are unescaped into is reused, and gives back what one large
    /// record made it hold at the next smaller one.
    @Test func jsonScratchIsReusedAndShrinksAfterALargeRecord() throws {
        let scratch = JSONScratch()
        var spans: [DecodedSpan] = []
        func decode(padding: Int) throws {
            let doc = Array(#"{"resourceSpans":[],"x":"\#(String(repeating: "a", count: padding))"}"#.utf8)
            try doc.withUnsafeBytes { try OTLPJSONReader.appendSpans(in: $0, scratch: scratch, to: &spans) }
        }
        try decode(padding: 1000)
        let small = scratch.capacity
        #expect(small >= 1064 && small <= 1 << 20)
        try decode(padding: 900)
        #expect(scratch.capacity == small)
        try decode(padding: 3 << 20)
        #expect(scratch.capacity >= 3 << 20)
        try decode(padding: 1000)
        #expect(scratch.capacity <= 1 << 20)
    }

    @Test func jsonMalformedThrows() {
        for bad in ["", "{", "[]", "{\"resourceSpans\":[{]}", "{\"resourceSpans\":1}", "{\"a\":tru}", "{\"a\":\"\\x\"}",
                    "{\"resourceSpans\":[]} x", String(repeating: "[", count: 500)] {
            #expect(throws: SpanDecodingError.self, "\(bad)") { try decodeJSON(Array(bad.utf8)) }
        }
    }
}

// MARK: - helpers

func kv(_ k: String, s: String) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = k
    kv.value.stringValue = s
    return kv
}

func kv(_ k: String, i: Int64) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = k
    kv.value.intValue = i
    return kv
}

func kv(_ k: String, d: Double) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = k
    kv.value.doubleValue = d
    return kv
}

func wrap(span: [UInt8]) -> [UInt8] { lenField(1, lenField(2, lenField(2, span))) }

func request(_ s: OTLPSpan) -> OTLPExportTraceServiceRequest {
    var ss = OTLPScopeSpans()
    ss.spans = [s]
    var rs = OTLPResourceSpans()
    rs.scopeSpans = [ss]
    var req = OTLPExportTraceServiceRequest()
    req.resourceSpans = [rs]
    return req
}
