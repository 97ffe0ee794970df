import PropertyBased
import Testing
import TraceContext
import struct W3CTraceContext.TraceContext

private let tid = "4bf92f3577b34da6a3ce929d0e0e4736"
private let pid = "00f067aa0ba902b7"

func withBytes<T>(_ s: String, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
    try Array(s.utf8).withUnsafeBytes(body)
}

func parseTP(_ s: String) -> Result<TraceParent, TraceContextError> {
    withBytes(s) { raw in Result { () throws(TraceContextError) in try TraceParent.parse(raw) } }
}

/// (input, expected flags or nil when invalid, expected error code)
let traceparentCases: [(String, UInt8?, TraceContextError.Code?)] = [
    ("00-\(tid)-\(pid)-01", 0x01, nil),
    ("00-\(tid)-\(pid)-00", 0x00, nil),
    ("00-\(tid)-\(pid)-03", 0x03, nil),  // L2 random flag
    ("00-\(tid)-\(pid)-ff", 0x03, nil),  // unknown flags masked
    ("00-\(tid)-\(pid)-09", 0x01, nil),
    ("  00-\(tid)-\(pid)-01\t", 0x01, nil),  // OWS around
    ("01-\(tid)-\(pid)-01", 0x01, nil),  // higher version, exact length
    ("cc-\(tid)-\(pid)-01-what-the-future-will-be-like", 0x01, nil),  // higher version, extra fields
    ("fe-\(tid)-\(pid)-01-", 0x01, nil),
    ("ff-\(tid)-\(pid)-01", nil, .badVersion),  // version ff invalid
    ("0g-\(tid)-\(pid)-01", nil, .badVersion),
    ("0A-\(tid)-\(pid)-01", nil, .badVersion),  // uppercase version
    ("00-\(tid)-\(pid)-01-", nil, .badLength),  // version 00 with extra data
    ("00-\(tid)-\(pid)-1", nil, .badLength),
    ("00-\(tid)-\(pid)-011", nil, .badLength),
    ("cc-\(tid)-\(pid)-01.what", nil, .badDelimiter),  // higher version: byte 55 must be '-'
    ("cc-\(tid)-\(pid)-0", nil, .badLength),  // higher version shorter than 55
    ("00-\(tid.uppercased())-\(pid)-01", nil, .badHex),  // uppercase trace id
    ("00-\(tid)-\(pid.uppercased())-01", nil, .badHex),
    ("00-\(tid)-\(pid)-0A", nil, .badHex),  // uppercase flags
    ("00-\(tid)-\(pid)-0x", nil, .badHex),
    ("00-00000000000000000000000000000000-\(pid)-01", nil, .zeroTraceID),
    ("00-\(tid)-0000000000000000-01", nil, .zeroParentID),
    ("00_\(tid)-\(pid)-01", nil, .badDelimiter),
    ("00-\(tid)_\(pid)-01", nil, .badDelimiter),
    ("00-\(tid)-\(pid)_01", nil, .badDelimiter),
    ("00-4bf92f3577b34da6a3ce929d0e0e473-\(pid)0-01", nil, .badDelimiter),  // short trace id
    ("00-\(tid)-\(pid)-0\u{00}", nil, .badHex),
    ("00-4bf92f3577b34da6a3ce929d0e0e473g-\(pid)-01", nil, .badHex),
    ("", nil, .badLength),
    ("0", nil, .badLength),
    ("00", nil, .badLength),
    ("00-", nil, .badLength),
    ("   ", nil, .badLength),
]

@Suite struct TraceParentTests {
    @Test(arguments: traceparentCases.indices)
    func traceparentTable(_ i: Int) {
        let (input, flags, code) = traceparentCases[i]
        switch parseTP(input) {
        case .success(let tp):
            #expect(flags == tp.flags, "\(input)")
            #expect(tp.traceID.description == tid && tp.parentID.description == pid)
        case .failure(let e):
            #expect(flags == nil, "\(input): \(e)")
            #expect(code == e.code, "\(input): \(e)")
        }
    }

    @Test func headerValueRoundTrips() throws {
        let tp = try parseTP("00-\(tid)-\(pid)-01").get()
        #expect(tp.headerValue == "00-\(tid)-\(pid)-01")
        #expect(tp.isSampled && !tp.isRandom)
    }

    @Test func kafkaKeys() {
        func key(_ b: [UInt8]) -> TraceID? { b.withUnsafeBytes { TraceID(kafkaKey: $0) } }
        #expect(key(Array(tid.utf8))?.description == tid)
        #expect(key(Array(tid.uppercased().utf8))?.description == tid)
        #expect(key((1...16).map { UInt8($0) }) == TraceID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10))
        #expect(key(Array(repeating: 0, count: 16)) == nil)
        #expect(key(Array(String(repeating: "0", count: 32).utf8)) == nil)
        #expect(key(Array("4bf92f3577b34da6a3ce929d0e0e473z".utf8)) == nil)
        #expect(key(Array("order-123".utf8)) == nil)
        #expect(key([]) == nil)
    }

    /// Random inputs: our parser agrees with swift-w3c-trace-context where both implement the same
    /// rule. Legitimate differences, excluded from the comparison: W3CTraceContext accepts only
    /// version 00 (we read a higher version by its first four fields, as the spec asks); it does
    /// not trim OWS (we do; the generator makes none); it keeps every flag bit (we mask to 0x03).
    @Test func agreesWithW3CTraceContext() async {
        let alphabet: [UInt8] = Array("0123456789abcdefABCDEFg-. ".utf8)
        let gen = Generator(run: { rng in
            // A valid-shaped header, then 0-3 byte mutations, sometimes a length change.
            var b = Array("00-\(tid)-\(pid)-01".utf8)
            for i in 0..<b.count where b[i] != UInt8(ascii: "-") && rng.next() % 3 == 0 {
                b[i] = rng.next() % 4 == 0 ? UInt8(ascii: "0") : alphabet[Int(rng.next() % 16)]
            }
            for _ in 0..<Int(rng.next() % 4) {
                b[Int(rng.next() % UInt64(b.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count - 1))]
            }
            if rng.next() % 8 == 0 { b.removeLast(Int(rng.next() % 3)) }
            if rng.next() % 8 == 0 { b += Array("-x".utf8) }
            if rng.next() % 6 == 0 { b[0] = alphabet[Int(rng.next() % 16)] }
            if rng.next() % 10 == 0 { for i in 3..<35 { b[i] = UInt8(ascii: "0") } }
            return b
        })
        await propertyCheck(count: 3000, input: gen) { b in
            let s = String(decoding: b, as: UTF8.self)
            let ours = b.withUnsafeBytes { TraceParent.parseOrNil($0) }
            let theirs = try? W3CTraceContext.TraceContext(traceParentHeaderValue: s)
            if b.count >= 2, b[0] == UInt8(ascii: "0"), b[1] == UInt8(ascii: "0") {
                #expect((ours == nil) == (theirs == nil), "\(s)")
                if let ours, let theirs {
                    #expect(ours.traceID.description == theirs.traceID.description)
                    #expect(ours.parentID.description == theirs.spanID.description)
                    #expect(ours.flags == theirs.flags.rawValue & TraceParent.knownFlagsMask)
                }
            } else {
                #expect(theirs == nil, "W3CTraceContext reads only version 00: \(s)")
            }
        }
    }
}

@Suite struct TraceStateTests {
    static let cases: [(String, Int?)] = [  // (input, member count or nil = invalid)
        ("", 0),
        ("ot=th:8", 1),
        ("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 2),
        ("rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE\t", 2),
        ("a=1,,b=2, ,", 2),  // empty members allowed
        ("tenant@vendor=x", 1),
        ("1a=x", 1),  // digit first (L2)
        ("a-b_c*d/e=v a l", 1),
        ("A=1", nil),  // uppercase key
        ("_a=1", nil),
        ("a=", nil),  // empty value
        ("a=b=c", nil),
        ("a", nil),
        ("a=\u{7F}", nil),
        ("a =1", nil),
        ("a=1\tx", nil),
        (String(repeating: "k", count: 257) + "=v", nil),
        ("k=" + String(repeating: "v", count: 257), nil),
        ((0..<32).map { "k\($0)=v" }.joined(separator: ","), 32),
        ((0..<33).map { "k\($0)=v" }.joined(separator: ","), nil),
    ]

    @Test(arguments: cases.indices)
    func tracestateTable(_ i: Int) {
        let (input, count) = Self.cases[i]
        let got = withBytes(input) { raw in try? TraceState.validate(raw) }
        #expect(got == count, "\(input)")
    }

    static let thresholds: [(String, Double?)] = [
        ("ot=th:0", 1), ("ot=th:8", 2), ("ot=th:c", 4), ("ot=rv:0123456789abcd;th:c", 4),
        ("vendor=x,ot=th:8;rv:0123456789abcd", 2), ("ot=th:fd70a4", 16_777_216.0 / 167_772.0),
        ("ot=th:", nil), ("ot=th:123456789abcdef", nil), ("ot=th:C", nil), ("ot=rv:01", nil), ("other=th:8", nil),
        ("ot=th:8,A=1", nil),  // invalid header: ignored whole
    ]

    @Test(arguments: thresholds.indices)
    func otThreshold(_ i: Int) {
        let (input, count) = Self.thresholds[i]
        let t = withBytes(input) { raw in (try? TraceState.otelThreshold(in: raw)) ?? nil }
        if let count {
            #expect(abs((t?.adjustedCount ?? -1) - count) < 1e-12, "\(input)")
        } else {
            #expect(t == nil, "\(input)")
        }
    }

    @Test func thresholdRatioIsExact() throws {
        let t = try #require(OTelThreshold(threshold: 0xC0_0000_0000_0000))
        #expect(t.adjustedCountRatio.numerator / t.adjustedCountRatio.denominator == 4)
        #expect(OTelThreshold(threshold: 1 << 56) == nil)
    }

    /// On valid L1 tracestates (unique simple keys, values without `=`), W3CTraceContext and our
    /// reader see the same members. (On invalid ones the libraries legitimately differ: it has no
    /// 32-member limit and accepts `=` in values, for example.)
    @Test func agreesWithW3CTraceContextOnValidHeaders() async {
        let keyChars = Array("abcdefghijklmnopqrstuvwxyz0123456789_-*/".utf8)
        let valueChars = Array((0x20...0x7E).map { UInt8($0) }.filter { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") })
        let gen = Generator(run: { rng in
            (0..<Int(rng.next() % 33)).map { i -> (String, String) in
                let k = "k\(i)x" + String(decoding: (0..<Int(rng.next() % 6)).map { _ in keyChars[Int(rng.next() % UInt64(keyChars.count))] }, as: UTF8.self)
                var v = (0..<Int(1 + rng.next() % 10)).map { _ in valueChars[Int(rng.next() % UInt64(valueChars.count))] }
                if v.last == 0x20 { v[v.count - 1] = UInt8(ascii: "x") }
                if v.first == 0x20 { v[0] = UInt8(ascii: "y") }
                return (k, String(decoding: v, as: UTF8.self))
            }
        })
        await propertyCheck(count: 500, input: gen) { members in
            let header = members.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            var ours: [(String, String)] = []
            let ok = withBytes(header) { raw in
                (try? TraceState.forEachMember(in: raw) { k, v in
                    ours.append((String(decoding: k, as: UTF8.self), String(decoding: v, as: UTF8.self)))
                    return true
                }) != nil
            }
            #expect(ok, "\(header)")
            let theirs = try? W3CTraceContext.TraceContext(
                traceParentHeaderValue: "00-\(tid)-\(pid)-01", traceStateHeaderValue: header)
            let theirMembers = theirs.map { $0.state.map { ($0.vendor.rawValue, $0.value) } } ?? []
            #expect(ours.map(\.0) == theirMembers.map(\.0), "\(header)")
            #expect(ours.map(\.1) == theirMembers.map(\.1), "\(header)")
        }
    }
}

@Suite struct BaggageTests {
    static let cases: [(String, String, String?, Bool)] = [  // (header, key, decoded value, header valid)
        ("session.id=abc123", "session.id", "abc123", true),
        ("userId=alice,session.id=s%201,x=y", "session.id", "s 1", true),
        ("session.id = s1 ; prop1 ; p2=v2 , other=1", "session.id", "s1", true),
        ("session.id=%E4%B8%AD", "session.id", "中", true),
        ("session.id=%FF", "session.id", "\u{FFFD}", true),  // bad UTF-8 → U+FFFD
        ("session.id=a%2", "session.id", "a%2", true),  // a stray % is kept
        ("session.id=1,session.id=2", "session.id", "2", true),  // last duplicate wins
        ("session.id=", "session.id", "", true),
        ("a=1,,b=2", "b", "2", true),
        ("a=1", "session.id", nil, true),
        ("", "session.id", nil, true),
        ("session.id=a b", "session.id", nil, false),  // space inside a value
        ("session.id=\"x\"", "session.id", nil, false),
        ("=x", "session.id", nil, false),
        ("session.id", "session.id", nil, false),
        ("a=1;", "a", nil, false),
        ("(k)=v", "(k)", nil, false),
    ]

    @Test(arguments: cases.indices)
    func baggageTable(_ i: Int) {
        let (header, key, value, valid) = Self.cases[i]
        let valid2 = withBytes(header) { raw in (try? Baggage.validate(raw)) != nil }
        #expect(valid2 == valid, "\(header)")
        let got: String? = withBytes(header) { raw -> String? in
            withBytes(key) { k -> String? in
                guard let v = try? Baggage.rawValue(forKey: k, in: raw) else { return nil }
                return Baggage.decodedString(v)
            }
        }
        #expect(got == value, "\(header)")
    }
}

@Suite struct TraceContextFuzzTests {
    /// Random bytes and mutated valid headers never crash any parser (fixed seed, 20k inputs).
    @Test func randomHeadersDoNotCrash() {
        var state: UInt64 = 0xC0FFEE
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let seeds = [
            Array("00-\(tid)-\(pid)-01".utf8), Array("cc-\(tid)-\(pid)-01-xyz".utf8),
            Array("ot=th:c;rv:0123456789abcd,rojo=00f067aa0ba902b7".utf8),
            Array("session.id=s%201;p=1, userId=alice".utf8),
        ]
        var accepted = 0
        for i in 0..<20_000 {
            var b = seeds[i % seeds.count]
            if i % 7 == 0 {
                b = (0..<Int(next() % 80)).map { _ in UInt8(truncatingIfNeeded: next()) }
            } else {
                for _ in 0..<Int(1 + next() % 4) where !b.isEmpty {
                    let j = Int(next() % UInt64(b.count))
                    switch next() % 3 {
                    case 0: b[j] = UInt8(truncatingIfNeeded: next())
                    case 1: b.remove(at: j)
                    default: b.insert(UInt8(truncatingIfNeeded: next() % 128), at: j)
                    }
                }
            }
            b.withUnsafeBytes { raw in
                if TraceParent.parseOrNil(raw) != nil { accepted += 1 }
                _ = try? TraceState.validate(raw)
                _ = try? TraceState.otelThreshold(in: raw)
                _ = try? Baggage.validate(raw)
                if let v = (try? Baggage.rawValue(forKey: UnsafeRawBufferPointer(rebasing: raw[0..<min(raw.count, 3)]), in: raw)) ?? nil {
                    _ = Baggage.decodedString(v)
                }
                _ = TraceID(kafkaKey: raw)
            }
        }
        #expect(accepted > 0)
    }
}
