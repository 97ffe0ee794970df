/// Reading a W3C `baggage` header (W3C Baggage, https://www.w3.org/TR/baggage/) from raw bytes, without allocating.
///
/// Grammar: comma-separated members `key OWS "=" OWS value *(OWS ";" OWS property)`; key is an
/// RFC 7230 token; value is zero or more baggage-octets (0x21, 0x23–0x2B, 0x2D–0x3A, 0x3C–0x5B,
/// 0x5D–0x7E), percent-encoded outside that range. Properties are validated and skipped. Empty
/// members (`a=1,,b=2`) are tolerated. One malformed member makes the whole header invalid (every
/// function throws). Values are handed out still percent-encoded (`rawValue`); decode them with
/// `percentDecode(_:into:)` (no allocation) or `decodedString(_:)`. A duplicate key is allowed; lookups
/// return its LAST occurrence. No size limit is enforced (the spec's 64 members / 8192 bytes are
/// minimums to propagate), but every loop is bounded by the input length.
public enum Baggage {
    /// Calls `body(key, rawValue)` for every member, left to right, after validating the whole header.
    /// `body` returns false to stop early.
    public static func forEachMember(
        in bytes: UnsafeRawBufferPointer,
        _ body: (_ key: UnsafeRawBufferPointer, _ rawValue: UnsafeRawBufferPointer) -> Bool
    ) throws(TraceContextError) {
        try scan(bytes) { _, _ in true }
        try scan(bytes, visit: body)
    }

    /// Validates the header.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(TraceContextError) {
        try scan(bytes) { _, _ in true }
    }

    /// The still percent-encoded value of the last member named `key`, or nil.
    public static func rawValue(
        forKey key: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer
    ) throws(TraceContextError) -> UnsafeRawBufferPointer? {
        try scan(bytes) { _, _ in true }
        var found: UnsafeRawBufferPointer?
        try scan(bytes) { k, v in
            if bytesEqual(k, key) { found = v }
            return true
        }
        return found
    }

    /// Percent-decodes `raw` into `out` and returns the number of bytes written. `out` needs at most
    /// `raw.count` bytes (decoding never grows); a shorter `out` truncates. A `%` not followed by two
    /// hex digits is kept as is. The result may be invalid UTF-8 (`decodedString` repairs it).
    public static func percentDecode(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        var i = 0
        var o = 0
        let n = raw.count
        while i < n, o < out.count {
            var c = raw[i]
            if c == UInt8(ascii: "%"), i + 2 < n {
                let hi = anyHexValue(raw[i + 1]), lo = anyHexValue(raw[i + 2])
                if hi != 0xFF, lo != 0xFF {
                    c = hi << 4 | lo
                    i += 2
                }
            }
            out[o] = c
            o += 1
            i += 1
        }
        return o
    }

    /// The percent-decoded value as a `String` (allocates; invalid UTF-8 becomes U+FFFD).
    public static func decodedString(_ raw: UnsafeRawBufferPointer) -> String {
        withUnsafeTemporaryAllocation(byteCount: max(raw.count, 1), alignment: 1) { buf in
            let n = percentDecode(raw, into: buf)
            return String(decoding: UnsafeRawBufferPointer(rebasing: buf[0..<n]), as: UTF8.self)
        }
    }

    private static func scan(
        _ p: UnsafeRawBufferPointer,
        visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws(TraceContextError) {
        let n = p.count
        var i = 0
        while true {
            while i < n, isOWS(p[i]) { i += 1 }
            if i == n { return }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            // key
            let keyStart = i
            while i < n, isTokenChar(p[i]) { i += 1 }
            guard i > keyStart else { throw TraceContextError(.badKey, at: i) }
            let keyEnd = i
            while i < n, isOWS(p[i]) { i += 1 }
            guard i < n, p[i] == UInt8(ascii: "=") else { throw TraceContextError(.missingEquals, at: i) }
            i += 1
            while i < n, isOWS(p[i]) { i += 1 }
            let valueStart = i
            while i < n, isBaggageOctet(p[i]) { i += 1 }
            let valueEnd = i
            // properties
            while true {
                while i < n, isOWS(p[i]) { i += 1 }
                if i == n || p[i] == UInt8(ascii: ",") { break }
                guard p[i] == UInt8(ascii: ";") else { throw TraceContextError(.badValue, at: i) }
                i += 1
                while i < n, isOWS(p[i]) { i += 1 }
                let pk = i
                while i < n, isTokenChar(p[i]) { i += 1 }
                guard i > pk else { throw TraceContextError(.badKey, at: i) }
                while i < n, isOWS(p[i]) { i += 1 }
                if i < n, p[i] == UInt8(ascii: "=") {
                    i += 1
                    while i < n, isOWS(p[i]) { i += 1 }
                    while i < n, isBaggageOctet(p[i]) { i += 1 }
                }
            }
            do {
                let key = UnsafeRawBufferPointer(rebasing: p[keyStart..<keyEnd])
                let value = UnsafeRawBufferPointer(rebasing: p[valueStart..<valueEnd])
                if !visit(key, value) { return }
            }
            if i < n { i += 1 }  // the comma
        }
    }

    /// RFC 7230 tchar.
    @inline(__always)
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
    @inline(__always)
    static func isBaggageOctet(_ c: UInt8) -> Bool {
        c >= 0x21 && c <= 0x7E && c != 0x22 && c != 0x2C && c != 0x3B && c != 0x5C
    }
}
