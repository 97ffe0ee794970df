import Testing
@testable import TraceContext

/// The eight-digits-at-once reader of 16 lowercase hex digits (`readHex64`'s fast path) against the
/// digit-by-digit reader it replaces on that path (`readHex64Scalar`).
@Suite("hex ids read eight digits at a time")
struct HexDigitsTests {
    static func read(_ bytes: [UInt8], fast: Bool) -> (UInt64?, Int) {
        var bad = -1
        let v = bytes.withUnsafeBytes { p in
            fast
                ? readHex64(p, 0, digits: 16, lowercaseOnly: true, badAt: &bad)
                : readHex64Scalar(p, 0, digits: 16, lowercaseOnly: true, badAt: &bad)
        }
        return (v, bad)
    }

    @Test("every byte value at every position of an otherwise valid id: same value, or nil with the same bad offset")
    func everyByteAtEveryPosition() {
        let valid = Array("0123456789abcdef".utf8)
        var mismatches = 0
        for position in 0..<16 {
            for b in 0...255 {
                var bytes = valid
                bytes[position] = UInt8(b)
                let fast = Self.read(bytes, fast: true), scalar = Self.read(bytes, fast: false)
                if fast.0 != scalar.0 || (scalar.0 == nil && fast.1 != scalar.1) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(Self.read(valid, fast: true).0 == 0x0123_4567_89ab_cdef)
        #expect(Self.read(Array("ffffffffffffffff".utf8), fast: true).0 == UInt64.max)
        #expect(Self.read(Array("0000000000000000".utf8), fast: true).0 == 0)
    }

    @Test("random ids over hex digits and their neighbours ('/', ':', '`', 'g', 'A', 'F', 0x80, 0xE6): the two readers agree")
    func randomNearMisses() {
        let alphabet = Array("0123456789abcdef/:`gAF".utf8) + [0x80, 0xE6, 0x00]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var mismatches = 0, valid = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<16 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                // Mostly hex digits, so that many ids are valid and the rest fail at varied positions.
                let r = Int(truncatingIfNeeded: state >> 33)
                bytes.append(r % 8 == 0 ? alphabet[r / 8 % alphabet.count] : alphabet[r / 8 % 16])
            }
            let fast = Self.read(bytes, fast: true), scalar = Self.read(bytes, fast: false)
            if fast.0 != scalar.0 || (scalar.0 == nil && fast.1 != scalar.1) { mismatches += 1 }
            if scalar.0 != nil { valid += 1 }
        }
        #expect(mismatches == 0)
        #expect(valid > 1000 && valid < 19_000, "both valid and invalid ids were tried (\(valid) valid)")
    }
}
