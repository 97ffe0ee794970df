/// Why a `traceparent`, `tracestate`, `baggage` header or a Kafka key was refused.
///
/// A plain value (no heap storage): throwing it on the hot path does not allocate. `offset` is the
/// byte offset in the input where the problem was found (after leading whitespace was skipped).
/// A refused header is an operating condition (count it, use the body's ids), never a crash.
public struct TraceContextError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. Compare with the static members (`.badLength`, `.badHex`, ...).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let raw: UInt8
        @usableFromInline init(_ raw: UInt8) { self.raw = raw }

        /// Wrong total length (version 00 must be exactly 55 bytes; a higher version at least 55).
        public static let badLength = Code(1)
        /// The version is not two lowercase hex digits, or is the invalid version `ff`.
        public static let badVersion = Code(2)
        /// A `-` separator is missing, or a higher version has trailing data not introduced by `-`.
        public static let badDelimiter = Code(3)
        /// A character that is not a lowercase hex digit where one is required.
        public static let badHex = Code(4)
        /// The trace id is all zeros.
        public static let zeroTraceID = Code(5)
        /// The parent (span) id is all zeros.
        public static let zeroParentID = Code(6)
        /// A `tracestate` / `baggage` key does not follow the grammar (or is too long).
        public static let badKey = Code(7)
        /// A `tracestate` / `baggage` value does not follow the grammar (or is too long).
        public static let badValue = Code(8)
        /// More `tracestate` list members than the 32 allowed.
        public static let tooManyMembers = Code(9)
        /// A list member without `=`.
        public static let missingEquals = Code(10)

        public var description: String {
            switch raw {
            case 1: "bad_length"
            case 2: "bad_version"
            case 3: "bad_delimiter"
            case 4: "bad_hex"
            case 5: "zero_trace_id"
            case 6: "zero_parent_id"
            case 7: "bad_key"
            case 8: "bad_value"
            case 9: "too_many_members"
            case 10: "missing_equals"
            default: "unknown"
            }
        }
    }

    public let code: Code
    /// Byte offset in the input at which the problem was detected.
    public let offset: Int

    @inlinable
    public init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "\(code) at byte \(offset)" }
}

// MARK: - Byte helpers shared by the parsers (internal).

/// Value of a lowercase hex digit, or 0xFF.
@inline(__always)
func lowerHexValue(_ c: UInt8) -> UInt8 {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")  // Safe: c >= "0".
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10  // Safe: c >= "a", < 16.
    default: return 0xFF
    }
}

/// Value of a hex digit of either case, or 0xFF.
@inline(__always)
func anyHexValue(_ c: UInt8) -> UInt8 {
    switch c {
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10  // Safe: as above.
    default: return lowerHexValue(c)
    }
}

/// Reads `2 * byteCount` (≤ 16) hex digits at `start` into a big-endian integer. Returns nil on a
/// non-hex byte; `badAt` receives its offset. The caller guarantees `start + 2*byteCount <= count`.
@inline(__always)
func readHex64(
    _ p: UnsafeRawBufferPointer, _ start: Int, digits: Int, lowercaseOnly: Bool, badAt: inout Int
) -> UInt64? {
    // 16 lowercase digits (every id of a `traceparent`): eight at a time; anything else, or a bad digit
    // (whose offset the loop below finds), goes digit by digit.
    if digits == 16, lowercaseOnly, let base = p.baseAddress,
        let high = lowerHex8(base.loadUnaligned(fromByteOffset: start, as: UInt64.self)),
        let low = lowerHex8(base.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
    {
        return UInt64(high) << 32 | UInt64(low)
    }
    return readHex64Scalar(p, start, digits: digits, lowercaseOnly: lowercaseOnly, badAt: &badAt)
}

/// Eight ASCII bytes as loaded from memory (the first digit in the lowest byte on this little-endian
/// platform) read as eight lowercase hex digits, the first the most significant; nil if any is not
/// one of `0-9a-f`. SWAR: every byte is checked and converted at once, without branches per digit.
@inline(__always)
func lowerHex8(_ raw: UInt64) -> UInt32? {
    let x = UInt64(littleEndian: raw)
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    guard x & high == 0 else { return nil }  // Every byte < 0x80: the sums below cannot carry across bytes.
    // A byte b in [lo, hi] ⇔ b + (0x80 - lo) has its top bit set and b + (0x7F - hi) has not.
    let digit = (x &+ 0x50 &* ones) & ~(x &+ 0x46 &* ones) & high  // '0' (0x30) ... '9' (0x39)
    let letter = (x &+ 0x1F &* ones) & ~(x &+ 0x19 &* ones) & high  // 'a' (0x61) ... 'f' (0x66)
    guard digit | letter == high else { return nil }
    // Nibbles: the low four bits, + 9 for a letter ('a' = 0x61 → 1 + 9).
    let nibbles = (x & 0x0F0F_0F0F_0F0F_0F0F) &+ (letter >> 7) &* 9
    // Pairs of digits into bytes (the earlier digit high), then the four bytes in reading order.
    let bytes = ((nibbles & 0x000F_000F_000F_000F) << 4 | (nibbles >> 8) & 0x000F_000F_000F_000F)
    let pairs = (bytes | bytes >> 8) & 0x0000_FFFF_0000_FFFF
    let packed = UInt32(truncatingIfNeeded: pairs | pairs >> 16)
    return packed.byteSwapped
}

/// ``readHex64``, one digit at a time (also its oracle in tests).
@inline(__always)
func readHex64Scalar(
    _ p: UnsafeRawBufferPointer, _ start: Int, digits: Int, lowercaseOnly: Bool, badAt: inout Int
) -> UInt64? {
    var v: UInt64 = 0
    var i = start
    let end = start + digits
    while i < end {
        let d = lowercaseOnly ? lowerHexValue(p[i]) : anyHexValue(p[i])
        if d == 0xFF {
            badAt = i
            return nil
        }
        v = (v << 4) | UInt64(d)
        i += 1
    }
    return v
}

@inline(__always)
func isOWS(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

/// `bytes` with leading and trailing spaces/tabs removed, and the offset of its first byte.
@inline(__always)
func trimmedOWS(_ bytes: UnsafeRawBufferPointer) -> (start: Int, end: Int) {
    var s = 0
    var e = bytes.count
    while s < e, isOWS(bytes[s]) { s += 1 }
    while e > s, isOWS(bytes[e - 1]) { e -= 1 }
    return (s, e)
}
