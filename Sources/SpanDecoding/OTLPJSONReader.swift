import TraceContext

/// A reader of OTLP/JSON `ExportTraceServiceRequest` (opentelemetry-proto docs/specification.md
/// `docs/specification.md`), producing the same `DecodedSpan` values as `OTLPProtobufReader`.
///
/// Accepted: lowerCamelCase keys; trace/span ids as hex strings (either case; `""` = absent);
/// enums as integers (or their proto names, e.g. `"SPAN_KIND_SERVER"`); int64/fixed64/fixed32 as
/// decimal strings or JSON numbers; `doubleValue` as a number or `"NaN"`, `"Infinity"`, `"-Infinity"`;
/// `null` as "absent". Unknown keys are skipped (with their values, any depth up to `depthMax`).
/// For a key repeated in one object the last wins (a `resource` after a `scopeSpans` applies to
/// those spans too). Id rules and `.badIDs` are as in `OTLPProtobufReader`.
///
/// Memory: strings with escapes are unescaped into the caller's ``JSONScratch``; `ByteView`s point
/// into `bytes` (strings without escapes) or into that scratch, so the spans are valid while both are
/// unchanged: until the scratch decodes the next record. Unescaping never grows a string, and a
/// string is unescaped at most twice (spans read again when their resource follows them), so a
/// scratch of twice the record's size never overflows.
public enum OTLPJSONReader {
    /// Maximum nesting of arrays/objects.
    public static let depthMax = 100

    /// Decodes one record and appends its spans to `spans`, in the record's order. On error `spans`
    /// may hold some of the record's spans after its old ones: the caller drops them.
    public static func appendSpans(
        in bytes: UnsafeRawBufferPointer, scratch: JSONScratch, to spans: inout [DecodedSpan]
    ) throws(SpanDecodingError) {
        guard let base = bytes.baseAddress else { throw SpanDecodingError(.badJSON, at: 0) }
        var p = JSONParser(base: base, end: bytes.count, scratch: scratch.prepare(recordBytes: bytes.count))
        swap(&p.spans, &spans)
        defer { swap(&p.spans, &spans) }
        p.skipWS()
        try p.request()
        p.skipWS()
        guard p.pos == p.end else { throw SpanDecodingError(.badJSON, at: p.pos) }
    }
}

/// The buffer an OTLP/JSON record's escaped strings are unescaped into, owned by the caller so that the
/// decoded spans, which may point into it, stay valid after the decode: until the next record is
/// decoded with the same scratch.
///
/// Guarantees: it holds at least twice the record's size + 64 bytes while a record is decoded (pages
/// of the second half are touched only when spans are read twice), and at most max(1 MiB, 4 × that)
/// between records (a buffer left large by one big record is given back at the next smaller one). One
/// owner: not thread-safe, not `Sendable` (one per shard's `RecordProcessor`).
public final class JSONScratch {
    private var storage: UnsafeMutableRawBufferPointer

    public init() { storage = .allocate(byteCount: 0, alignment: 8) }

    deinit { storage.deallocate() }

    /// The buffer for a record of `recordBytes`; what it held before is no longer in use.
    func prepare(recordBytes: Int) -> UnsafeMutableRawBufferPointer {
        // Safe: a record's size is that of a buffer in memory (< Int.max / 4 on a 64-bit machine).
        let needed = 2 * recordBytes + 64
        if storage.count < needed || storage.count > max(1 << 20, 4 * needed) {
            storage.deallocate()
            // Rounded up to 16 KiB, so that records of slowly growing sizes do not reallocate each time.
            storage = .allocate(byteCount: (needed + 16_383) & ~16_383, alignment: 8)
        }
        return storage
    }

    /// Bytes held now (for tests).
    public var capacity: Int { storage.count }
}

struct JSONParser {
    let base: UnsafeRawPointer
    let end: Int
    var pos = 0
    /// [0, 64): the key buffer (reused per key); [64, ...): unescaped string values.
    let scratch: UnsafeMutableRawBufferPointer
    var scratchUsed = 64
    /// The caller's span array while the record is decoded (``OTLPJSONReader/appendSpans(in:scratch:to:)``).
    var spans: [DecodedSpan] = []

    init(base: UnsafeRawPointer, end: Int, scratch: UnsafeMutableRawBufferPointer) {
        self.base = base
        self.end = end
        self.scratch = scratch
    }

    @inline(__always) func byte(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

    @inline(__always) mutating func skipWS() {
        while pos < end {
            let c = byte(pos)
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    @inline(__always) mutating func expect(_ c: UInt8) throws(SpanDecodingError) {
        skipWS()
        guard pos < end, byte(pos) == c else { throw SpanDecodingError(.badJSON, at: pos) }
        pos += 1
    }

    /// True (and consumes it) when the next token is `null`.
    mutating func takeNull() -> Bool {
        skipWS()
        guard end - pos >= 4, byte(pos) == UInt8(ascii: "n"), byte(pos + 1) == UInt8(ascii: "u"),
            byte(pos + 2) == UInt8(ascii: "l"), byte(pos + 3) == UInt8(ascii: "l")
        else { return false }
        pos += 4
        return true
    }

    @inline(__always) mutating func peek() throws(SpanDecodingError) -> UInt8 {
        skipWS()
        guard pos < end else { throw SpanDecodingError(.truncated, at: pos) }
        return byte(pos)
    }

    // MARK: Objects and arrays

    /// Consumes `{`. Then loop `while try nextMember(&first) { let k = try key(); value }`.
    mutating func beginObject() throws(SpanDecodingError) {
        guard try peek() == UInt8(ascii: "{") else { throw SpanDecodingError(.badJSONValue, at: pos) }
        pos += 1
    }

    mutating func nextMember(_ first: inout Bool) throws(SpanDecodingError) -> Bool {
        let c = try peek()
        if c == UInt8(ascii: "}") {
            pos += 1
            return false
        }
        if !first {
            guard c == UInt8(ascii: ",") else { throw SpanDecodingError(.badJSON, at: pos) }
            pos += 1
        }
        first = false
        return true
    }

    mutating func beginArray() throws(SpanDecodingError) {
        guard try peek() == UInt8(ascii: "[") else { throw SpanDecodingError(.badJSONValue, at: pos) }
        pos += 1
    }

    mutating func nextElement(_ first: inout Bool) throws(SpanDecodingError) -> Bool {
        let c = try peek()
        if c == UInt8(ascii: "]") {
            pos += 1
            return false
        }
        if !first {
            guard c == UInt8(ascii: ",") else { throw SpanDecodingError(.badJSON, at: pos) }
            pos += 1
        }
        first = false
        return true
    }

    /// A member name followed by `:`. The view is valid until the next `key()` call.
    mutating func key() throws(SpanDecodingError) -> UnsafeRawBufferPointer {
        guard try peek() == UInt8(ascii: "\"") else { throw SpanDecodingError(.badJSON, at: pos) }
        let k = try string(intoKeyBuffer: true)
        try expect(UInt8(ascii: ":"))
        return k
    }

    @inline(__always)
    static func eq(_ k: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard k.count == s.utf8CodeUnitCount else { return false }
        guard let b = k.baseAddress else { return true }
        return fastBytesEqual(b, s.utf8Start, k.count)
    }

    // MARK: Strings

    /// Parses a string at `pos` (which is `"`). Without escapes the view points into the input; with
    /// escapes it is unescaped into the key buffer (keys; truncated past 64 bytes, which then matches no
    /// known key) or the value area of the scratch buffer.
    mutating func string(intoKeyBuffer: Bool) throws(SpanDecodingError) -> UnsafeRawBufferPointer {
        pos += 1  // the opening quote
        let start = pos
        pos = plainRunEnd(from: pos)
        guard pos < end else { throw SpanDecodingError(.truncated, at: pos) }
        let stop = byte(pos)
        if stop == UInt8(ascii: "\"") {
            let v = UnsafeRawBufferPointer(start: base + start, count: pos - start)
            pos += 1
            return v
        }
        guard stop >= 0x20 else { throw SpanDecodingError(.badJSON, at: pos) }
        // Slow path: unescape. Output never exceeds input (each escape shrinks or keeps size).
        let outStart = intoKeyBuffer ? 0 : scratchUsed
        let outMax = intoKeyBuffer ? 64 : scratch.count
        var o = outStart
        @inline(__always) func put(_ b: UInt8, _ o: inout Int) {
            if o < outMax { scratch[o] = b }
            o += 1
        }
        var i = start
        while true {
            guard i < end else { throw SpanDecodingError(.truncated, at: i) }
            let c = byte(i)
            if c == UInt8(ascii: "\"") { break }
            guard c >= 0x20 else { throw SpanDecodingError(.badJSON, at: i) }
            if c != UInt8(ascii: "\\") {
                put(c, &o)
                i += 1
                continue
            }
            guard end - i >= 2 else { throw SpanDecodingError(.truncated, at: i) }
            let e = byte(i + 1)
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): put(e, &o)
            case UInt8(ascii: "b"): put(0x08, &o)
            case UInt8(ascii: "f"): put(0x0C, &o)
            case UInt8(ascii: "n"): put(0x0A, &o)
            case UInt8(ascii: "r"): put(0x0D, &o)
            case UInt8(ascii: "t"): put(0x09, &o)
            case UInt8(ascii: "u"):
                var scalar = try hex4(&i)
                if scalar >= 0xD800, scalar < 0xDC00 {
                    // A high surrogate: a low one must follow, else U+FFFD.
                    if end - i >= 6, byte(i) == UInt8(ascii: "\\"), byte(i + 1) == UInt8(ascii: "u") {
                        var j = i + 2
                        let low = try hex4(&j)
                        if low >= 0xDC00, low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i = j
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00, scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                // UTF-8 encode (scalar ≤ 0x10FFFF by construction).
                if scalar < 0x80 {
                    put(UInt8(scalar), &o)
                } else if scalar < 0x800 {
                    put(UInt8(0xC0 | (scalar >> 6)), &o)
                    put(UInt8(0x80 | (scalar & 0x3F)), &o)
                } else if scalar < 0x10000 {
                    put(UInt8(0xE0 | (scalar >> 12)), &o)
                    put(UInt8(0x80 | ((scalar >> 6) & 0x3F)), &o)
                    put(UInt8(0x80 | (scalar & 0x3F)), &o)
                } else {
                    put(UInt8(0xF0 | (scalar >> 18)), &o)
                    put(UInt8(0x80 | ((scalar >> 12) & 0x3F)), &o)
                    put(UInt8(0x80 | ((scalar >> 6) & 0x3F)), &o)
                    put(UInt8(0x80 | (scalar & 0x3F)), &o)
                }
            default:
                throw SpanDecodingError(.badJSON, at: i - 1)
            }
        }
        pos = i + 1
        let written = min(o, outMax) - outStart
        if !intoKeyBuffer { scratchUsed = outStart + written }
        // A key longer than the key buffer is reported with a length that matches no known key.
        let count = (intoKeyBuffer && o > outMax) ? 0 : written
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch)[outStart..<(outStart + count)])
    }

    mutating func hex4(_ i: inout Int) throws(SpanDecodingError) -> UInt32 {
        guard end - i >= 4 else { throw SpanDecodingError(.truncated, at: i) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = byte(i + k)
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw SpanDecodingError(.badJSON, at: i + k)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    /// A string value (a `ByteView` valid for the whole call).
    mutating func stringValue() throws(SpanDecodingError) -> ByteView {
        guard try peek() == UInt8(ascii: "\"") else { throw SpanDecodingError(.badJSONValue, at: pos) }
        return ByteView(try string(intoKeyBuffer: false))
    }

    // MARK: Skipping

    mutating func skipValue(depth: Int = 0) throws(SpanDecodingError) {
        guard depth < OTLPJSONReader.depthMax else { throw SpanDecodingError(.tooDeep, at: pos) }
        let c = try peek()
        switch c {
        case UInt8(ascii: "{"):
            pos += 1
            var first = true
            while try nextMember(&first) {
                _ = try key()
                try skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            pos += 1
            var first = true
            while try nextElement(&first) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            try skipString()
        default:
            _ = try scalarToken()
        }
    }

    mutating func skipString() throws(SpanDecodingError) {
        pos += 1
        while true {
            pos = plainRunEnd(from: pos)
            guard pos < end else { throw SpanDecodingError(.truncated, at: pos) }
            let c = byte(pos)
            if c == UInt8(ascii: "\"") {
                pos += 1
                return
            }
            guard c >= 0x20 else { throw SpanDecodingError(.badJSON, at: pos) }
            // A backslash: one escape.
            guard end - pos >= 2 else { throw SpanDecodingError(.truncated, at: pos) }
            switch byte(pos + 1) {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                pos += 2
            case UInt8(ascii: "u"):
                var i = pos + 2
                _ = try hex4(&i)
                pos = i
            default:
                throw SpanDecodingError(.badJSON, at: pos)
            }
        }
    }

    /// The position of the first byte at or after `from` that ends a run of plain string bytes: a `"`,
    /// a `\`, or a control character (< 0x20); `end` if there is none. Eight bytes a step (SWAR, see
    /// ``stringStopMask(_:)``), then byte by byte; the same answer as a byte-by-byte scan.
    @inline(__always) func plainRunEnd(from: Int) -> Int {
        var i = from
        while end - i >= 8 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let mask = Self.stringStopMask(word)
            if mask != 0 { return i + mask.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end {
            let c = byte(i)
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { return i }
            i += 1
        }
        return end
    }

    /// For eight bytes (byte k in bits 8k..<8k+8): a mask whose LOWEST set bit is bit 7 of the first
    /// byte that is `"`, `\` or < 0x20 (0 when no byte is). Each term is the classic "has a zero byte"
    /// test, `(v - 0x01…) & ~v & 0x80…`, on `word ^ "…` (quote), `word ^ \…` (backslash), and
    /// `(word - 0x20…) & ~word` (below 0x20: a byte ≥ 0x80 has bit 7 clear in `~word`). A borrow only
    /// leaves a byte that matched, so bits above the lowest match may be spurious, never bits below it.
    @inline(__always) static func stringStopMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let quoteHit = (quote &- ones) & ~quote
        let backslashHit = (backslash &- ones) & ~backslash
        let controlHit = (word &- ones &* 0x20) & ~word
        return (quoteHit | backslashHit | controlHit) & highs
    }

    /// A bare token (number, true, false, null): its bytes.
    mutating func scalarToken() throws(SpanDecodingError) -> UnsafeRawBufferPointer {
        skipWS()
        let start = pos
        while pos < end {
            let c = byte(pos)
            let ok =
                (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: "E")
            guard ok else { break }
            pos += 1
        }
        guard pos > start else { throw SpanDecodingError(pos < end ? .badJSON : .truncated, at: start) }
        let t = UnsafeRawBufferPointer(start: base + start, count: pos - start)
        if t[0] == UInt8(ascii: "t") || t[0] == UInt8(ascii: "f") || t[0] == UInt8(ascii: "n") {
            guard Self.eq(t, "true") || Self.eq(t, "false") || Self.eq(t, "null") else {
                throw SpanDecodingError(.badJSON, at: start)
            }
        } else {
            guard Self.isJSONNumber(t) else { throw SpanDecodingError(.badJSON, at: start) }
        }
        return t
    }

    /// RFC 8259 number grammar.
    static func isJSONNumber(_ t: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = t.count
        @inline(__always) func digit(_ i: Int) -> Bool { i < n && t[i] >= UInt8(ascii: "0") && t[i] <= UInt8(ascii: "9") }
        if i < n, t[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return false }
        if t[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while digit(i) { i += 1 }
        }
        if i < n, t[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        if i < n, t[i] == UInt8(ascii: "e") || t[i] == UInt8(ascii: "E") {
            i += 1
            if i < n, t[i] == UInt8(ascii: "+") || t[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        return i == n
    }

    // MARK: Scalars

    /// A JSON number or a string holding a decimal integer, read as the bit pattern of a 64-bit
    /// integer: `signed` allows a leading `-`. Out-of-range values are `.badJSONValue`.
    mutating func integer(signed: Bool) throws(SpanDecodingError) -> UInt64 {
        let at = pos
        let t: UnsafeRawBufferPointer
        if try peek() == UInt8(ascii: "\"") {
            t = try string(intoKeyBuffer: true)
        } else {
            t = try scalarToken()
        }
        guard let v = Self.parseInteger(t, signed: signed) else { throw SpanDecodingError(.badJSONValue, at: at) }
        return v
    }

    /// Decimal digits with an optional `-` (when signed); also a JSON number with an integral value
    /// written with a fraction or exponent of zeros is refused (OTLP writes plain integers).
    static func parseInteger(_ t: UnsafeRawBufferPointer, signed: Bool) -> UInt64? {
        var i = 0
        var negative = false
        if signed, t.count > 0, t[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        guard i < t.count else { return nil }
        var v: UInt64 = 0
        while i < t.count {
            let c = t[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            v = a
            i += 1
        }
        if signed {
            if negative {
                guard v <= UInt64(Int64.max) + 1 else { return nil }
                return UInt64(bitPattern: 0 &- Int64(bitPattern: v))  // Safe: v ≤ 2^63, wraps only at 2^63 = Int64.min.
            }
            guard v <= UInt64(Int64.max) else { return nil }
        }
        return v
    }

    mutating func double() throws(SpanDecodingError) -> Double {
        let at = pos
        if try peek() == UInt8(ascii: "\"") {
            let t = try string(intoKeyBuffer: true)
            if Self.eq(t, "NaN") { return .nan }
            if Self.eq(t, "Infinity") { return .infinity }
            if Self.eq(t, "-Infinity") { return -.infinity }
            guard Self.isJSONNumber(t), let d = Double(String(decoding: t, as: UTF8.self)) else {
                throw SpanDecodingError(.badJSONValue, at: at)
            }
            return d
        }
        let t = try scalarToken()
        guard Self.isJSONNumber(t), let d = Double(String(decoding: t, as: UTF8.self)) else {
            throw SpanDecodingError(.badJSONValue, at: at)
        }
        return d
    }

    mutating func bool() throws(SpanDecodingError) -> Bool {
        let at = pos
        let t = try scalarToken()
        if Self.eq(t, "true") { return true }
        if Self.eq(t, "false") { return false }
        throw SpanDecodingError(.badJSONValue, at: at)
    }

    /// An enum: an integer, or one of `names` (index = value).
    mutating func enumValue(names: [StaticString]) throws(SpanDecodingError) -> Int64 {
        let at = pos
        if try peek() == UInt8(ascii: "\"") {
            let t = try string(intoKeyBuffer: true)
            for (i, n) in names.enumerated() where Self.eq(t, n) { return Int64(i) }
            if let v = Self.parseInteger(t, signed: true) { return Int64(bitPattern: v) }
            throw SpanDecodingError(.badJSONValue, at: at)
        }
        return Int64(bitPattern: try integer(signed: true))
    }

    /// A hex id string; returns (high, low, byte count) for 16- or 8-byte ids, count 0 when empty.
    mutating func hexID() throws(SpanDecodingError) -> (UInt64, UInt64, Int, Int) {
        let at = pos
        let t = try stringValue().bytes
        switch t.count {
        case 0: return (0, 0, 0, at)
        case 16:
            guard let s = SpanID(hex: t) else { throw SpanDecodingError(.badIDs, at: at) }
            return (s.value, 0, 8, at)
        case 32:
            guard let id = TraceID(hex: t) else { throw SpanDecodingError(.badIDs, at: at) }
            return (id.high, id.low, 16, at)
        default:
            throw SpanDecodingError(.badIDs, at: at)
        }
    }

    // MARK: OTLP messages

    mutating func request() throws(SpanDecodingError) {
        try beginObject()
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            if Self.eq(k, "resourceSpans") {
                try beginArray()
                var f2 = true
                while try nextElement(&f2) { try resourceSpans() }
            } else {
                try skipValue()
            }
        }
    }

    /// One `ResourceSpans`, in one pass when its `resource` comes before its `scopeSpans` (as every
    /// exporter writes it). A `resource` member after spans were read (the JSON order is free, and
    /// the last of repeated keys wins) makes the spans of this object be read again with it.
    mutating func resourceSpans() throws(SpanDecodingError) {
        if takeNull() { return }
        try beginObject()
        let membersStart = pos
        let spansBefore = spans.count
        var resource = KnownAttributes()
        var resourceAfterSpans = false
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            if Self.eq(k, "resource") {
                resource = KnownAttributes()  // a repeated JSON key: the last wins
                try self.resource(&resource)
                // Spans of this object already read took an earlier resource.
                resourceAfterSpans = resourceAfterSpans || spans.count > spansBefore
            } else if Self.eq(k, "scopeSpans") {
                try scopeSpansList(resource)
            } else {
                try skipValue()
            }
        }
        guard resourceAfterSpans else { return }
        let objectEnd = pos
        spans.removeSubrange(spansBefore...)
        pos = membersStart
        first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            if Self.eq(k, "scopeSpans") {
                try scopeSpansList(resource)
            } else {
                try skipValue()
            }
        }
        assert(pos == objectEnd)
    }

    mutating func scopeSpansList(_ resource: borrowing KnownAttributes) throws(SpanDecodingError) {
        try beginArray()
        var first = true
        while try nextElement(&first) { try scopeSpans(resource) }
    }

    mutating func resource(_ attrs: inout KnownAttributes) throws(SpanDecodingError) {
        try beginObject()
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            if Self.eq(k, "attributes") {
                try attributes(&attrs)
            } else {
                try skipValue()
            }
        }
    }

    mutating func attributes(_ attrs: inout KnownAttributes) throws(SpanDecodingError) {
        try beginArray()
        var first = true
        while try nextElement(&first) { try keyValue(&attrs) }
    }

    mutating func scopeSpans(_ resource: borrowing KnownAttributes) throws(SpanDecodingError) {
        if takeNull() { return }
        try beginObject()
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            if Self.eq(k, "spans") {
                try beginArray()
                var f2 = true
                while try nextElement(&f2) { try span(resource) }
            } else {
                try skipValue()
            }
        }
    }

    static let kindNames: [StaticString] = [
        "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
    ]
    static let statusNames: [StaticString] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]

    mutating func span(_ resource: borrowing KnownAttributes) throws(SpanDecodingError) {
        let spanStart = pos
        try beginObject()
        var trace: (UInt64, UInt64, Int, Int) = (0, 0, 0, spanStart)
        var spanID: (UInt64, UInt64, Int, Int) = (0, 0, 0, spanStart)
        var parent: (UInt64, UInt64, Int, Int) = (0, 0, 0, spanStart)
        let empty = ByteView(UnsafeRawBufferPointer(start: base, count: 0))
        var name = empty, traceState = empty
        var kind = SpanKind.unspecified
        var startTime: UInt64 = 0, endTime: UInt64 = 0
        var status = StatusCode.unset
        var flags: UInt32 = 0
        var attrs = KnownAttributes()
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            switch k.count {
            case 4 where Self.eq(k, "name"): name = try stringValue()
            case 4 where Self.eq(k, "kind"):
                let v = try enumValue(names: Self.kindNames)
                kind = (v >= 0 && v <= 5) ? SpanKind(rawValue: UInt8(v)) ?? .unspecified : .unspecified
            case 5 where Self.eq(k, "flags"):
                let v = try integer(signed: false)
                guard v <= UInt64(UInt32.max) else { throw SpanDecodingError(.badJSONValue, at: pos) }
                flags = UInt32(v)
            case 6 where Self.eq(k, "spanId"): spanID = try hexID()
            case 6 where Self.eq(k, "status"): try self.status(&status)
            case 7 where Self.eq(k, "traceId"): trace = try hexID()
            case 10 where Self.eq(k, "traceState"): traceState = try stringValue()
            case 10 where Self.eq(k, "attributes"):
                attrs = KnownAttributes()  // a repeated JSON key: the last wins
                try attributes(&attrs)
            case 12 where Self.eq(k, "parentSpanId"): parent = try hexID()
            case 17 where Self.eq(k, "startTimeUnixNano"): startTime = try integer(signed: false)
            case 15 where Self.eq(k, "endTimeUnixNano"): endTime = try integer(signed: false)
            default: try skipValue()
            }
        }
        guard trace.2 == 16, trace.0 != 0 || trace.1 != 0 else { throw SpanDecodingError(.badIDs, at: trace.3) }
        guard spanID.2 == 8, spanID.0 != 0 else { throw SpanDecodingError(.badIDs, at: spanID.3) }
        guard parent.2 == 0 || parent.2 == 8 else { throw SpanDecodingError(.badIDs, at: parent.3) }
        attrs.fillAbsent(from: resource)  // span first, then resource
        spans.append(
            DecodedSpan(
                traceID: TraceID(high: trace.0, low: trace.1), spanID: SpanID(spanID.0),
                parentSpanID: SpanID(parent.2 == 8 ? parent.0 : 0), name: name, kind: kind,
                startTimeUnixNano: startTime, endTimeUnixNano: endTime, statusCode: status,
                traceState: traceState, attributes: attrs, flags: flags))
    }

    mutating func status(_ code: inout StatusCode) throws(SpanDecodingError) {
        try beginObject()
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            if Self.eq(k, "code") {
                let v = try enumValue(names: Self.statusNames)
                code = (v >= 0 && v <= 2) ? StatusCode(rawValue: UInt8(v)) ?? .unset : .unset
            } else {
                try skipValue()
            }
        }
    }

    mutating func keyValue(_ attrs: inout KnownAttributes) throws(SpanDecodingError) {
        if takeNull() { return }
        try beginObject()
        var known: KnownKey?
        var valuePos = -1
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if Self.eq(k, "key") {
                if takeNull() {
                    known = nil
                } else {
                    guard try peek() == UInt8(ascii: "\"") else { throw SpanDecodingError(.badJSONValue, at: pos) }
                    known = KnownKey.classify(try string(intoKeyBuffer: true))
                }
            } else if Self.eq(k, "value") {
                skipWS()
                valuePos = pos
                try skipValue()
            } else {
                try skipValue()
            }
        }
        guard let known else { return }
        guard known.needsValue, valuePos >= 0 else {
            attrs.apply(known, nil)
            return
        }
        let after = pos
        pos = valuePos
        let v = try anyValue()
        pos = after
        attrs.apply(known, v)
    }

    mutating func anyValue() throws(SpanDecodingError) -> AttributeValue? {
        if takeNull() { return nil }
        try beginObject()
        var value: AttributeValue?
        var first = true
        while try nextMember(&first) {
            let k = try key()
            if takeNull() { continue }
            if Self.eq(k, "stringValue") {
                value = .string(try stringValue())
            } else if Self.eq(k, "boolValue") {
                value = .bool(try bool())
            } else if Self.eq(k, "intValue") {
                value = .int(Int64(bitPattern: try integer(signed: true)))
            } else if Self.eq(k, "doubleValue") {
                value = .double(try double())
            } else if Self.eq(k, "arrayValue") || Self.eq(k, "kvlistValue") || Self.eq(k, "bytesValue") {
                try skipValue()
                value = .other
            } else {
                try skipValue()
            }
        }
        return value
    }
}
