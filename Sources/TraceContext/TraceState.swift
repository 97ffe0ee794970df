/// Reading a W3C `tracestate` header (W3C Trace Context, https://www.w3.org/TR/trace-context/) from raw bytes, without allocating.
///
/// Grammar (Level 2): up to 32 comma-separated list members, optional whitespace (spaces, tabs)
/// around commas, empty members allowed. Key: a lowercase letter or digit, then up to 255 of
/// `a-z 0-9 _ - * / @`. Value: 1–256 bytes in 0x20–0x7E except `,` and `=`, not ending in a space.
/// The header is valid or invalid as a whole: one bad member (or more than 32) makes every function
/// here throw, and the caller ignores the whole header, as the spec asks. A duplicate key is not
/// refused; lookups return its first (left-most, most recent) occurrence.
public enum TraceState {
    /// The most list members a valid header has.
    public static let membersMax = 32
    static let keyLengthMax = 256
    static let valueLengthMax = 256

    /// Calls `body(key, value)` for every non-empty member, left to right, after validating the whole
    /// header (so `body` never sees part of an invalid header). `body` returns false to stop early.
    public static func forEachMember(
        in bytes: UnsafeRawBufferPointer,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
    ) throws(TraceContextError) {
        _ = try scan(bytes) { _, _ in true }
        _ = try scan(bytes, visit: body)
    }

    /// Validates the header; returns the number of non-empty members.
    @discardableResult
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(TraceContextError) -> Int {
        try scan(bytes) { _, _ in true }
    }

    /// The value of the first member with `key`, or nil. Throws when the header is invalid.
    public static func value(
        forKey key: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer
    ) throws(TraceContextError) -> UnsafeRawBufferPointer? {
        var found: UnsafeRawBufferPointer?
        try forEachMember(in: bytes) { k, v in
            if bytesEqual(k, key) {
                found = v
                return false
            }
            return true
        }
        return found
    }

    /// The OpenTelemetry `ot` member's sampling threshold (`ot=th:<hex>`), or nil when there is no
    /// `ot` member or it has no valid `th`. Throws when the whole header is invalid.
    public static func otelThreshold(in bytes: UnsafeRawBufferPointer) throws(TraceContextError) -> OTelThreshold? {
        var ot: UnsafeRawBufferPointer?
        try forEachMember(in: bytes) { k, v in
            if k.count == 2, k[0] == UInt8(ascii: "o"), k[1] == UInt8(ascii: "t") {
                ot = v
                return false
            }
            return true
        }
        guard let ot else { return nil }
        return OTelThreshold(otValue: ot)
    }

    /// One pass: validates, and visits members when `visit` is given. Returns the member count.
    private static func scan(
        _ p: UnsafeRawBufferPointer,
        visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws(TraceContextError) -> Int {
        let n = p.count
        var i = 0
        var members = 0
        while true {
            // OWS before a member.
            while i < n, isOWS(p[i]) { i += 1 }
            if i == n { return members }
            if p[i] == UInt8(ascii: ",") {  // empty member
                i += 1
                continue
            }
            // Key.
            let keyStart = i
            let c0 = p[i]
            guard (c0 >= UInt8(ascii: "a") && c0 <= UInt8(ascii: "z")) || (c0 >= UInt8(ascii: "0") && c0 <= UInt8(ascii: "9"))
            else { throw TraceContextError(.badKey, at: i) }
            i += 1
            while i < n, isTraceStateKeyChar(p[i]) { i += 1 }
            guard i - keyStart <= keyLengthMax else { throw TraceContextError(.badKey, at: keyStart) }
            guard i < n else { throw TraceContextError(.missingEquals, at: i) }
            guard p[i] == UInt8(ascii: "=") else {
                throw TraceContextError(isTraceStateValueChar(p[i]) || isOWS(p[i]) ? .missingEquals : .badKey, at: i)
            }
            let keyEnd = i
            i += 1
            // Value: up to the next comma or the end; trailing OWS belongs to the list syntax.
            let valueStart = i
            while i < n, p[i] != UInt8(ascii: ",") {
                guard isTraceStateValueChar(p[i]) || p[i] == 0x09 else { throw TraceContextError(.badValue, at: i) }
                i += 1
            }
            var valueEnd = i
            while valueEnd > valueStart, isOWS(p[valueEnd - 1]) { valueEnd -= 1 }
            // A tab is only allowed as trailing OWS, never inside the value.
            var j = valueStart
            while j < valueEnd {
                if p[j] == 0x09 { throw TraceContextError(.badValue, at: j) }
                j += 1
            }
            guard valueEnd > valueStart, valueEnd - valueStart <= valueLengthMax else {
                throw TraceContextError(.badValue, at: valueStart)
            }
            members += 1
            guard members <= membersMax else { throw TraceContextError(.tooManyMembers, at: keyStart) }
            do {
                let key = UnsafeRawBufferPointer(rebasing: p[keyStart..<keyEnd])
                let value = UnsafeRawBufferPointer(rebasing: p[valueStart..<valueEnd])
                if !visit(key, value) { return members }
            }
            if i < n { i += 1 }  // the comma
        }
    }

    @inline(__always)
    static func isTraceStateKeyChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "@"):
            return true
        default: return false
        }
    }

    /// 0x20–0x7E except `,` and `=`.
    @inline(__always)
    static func isTraceStateValueChar(_ c: UInt8) -> Bool {
        c >= 0x20 && c <= 0x7E && c != UInt8(ascii: ",") && c != UInt8(ascii: "=")
    }
}

/// The OpenTelemetry consistent-probability sampling threshold carried as `ot=th:<hex>` in
/// `tracestate` (opentelemetry-specification `tracestate-probability-sampling.md`).
///
/// `th` is 1–14 lowercase hex digits, right-padded with zeros to 14 digits: the 56-bit rejection
/// threshold T. A span was kept iff its randomness R ≥ T, so it stands for
/// `adjustedCount = 2^56 / (2^56 − T)` spans: `th:0` → 1, `th:8` → 2, `th:c` → 4.
public struct OTelThreshold: Hashable, Sendable {
    /// The 56-bit rejection threshold T (0 ≤ T < 2^56).
    public let threshold: UInt64

    /// 2^56.
    public static let maxThreshold: UInt64 = 1 << 56

    public init?(threshold: UInt64) {
        guard threshold < Self.maxThreshold else { return nil }
        self.threshold = threshold
    }

    /// Reads the `th` sub-key of an `ot` tracestate value (`th:…;rv:…`); nil when absent or invalid.
    public init?(otValue v: UnsafeRawBufferPointer) {
        let n = v.count
        var i = 0
        while i < n {
            let start = i
            while i < n, v[i] != UInt8(ascii: ";") { i += 1 }
            // Sub-key `th:` followed by 1...14 lowercase hex digits and nothing else.
            if i - start >= 3, v[start] == UInt8(ascii: "t"), v[start + 1] == UInt8(ascii: "h"),
                v[start + 2] == UInt8(ascii: ":")
            {
                let digits = i - start - 3
                guard digits >= 1, digits <= 14 else { return nil }
                var bad = 0
                guard let raw = readHex64(v, start + 3, digits: digits, lowercaseOnly: true, badAt: &bad) else {
                    return nil
                }
                // Safe: digits ≤ 14, so the shift is ≤ 52 and raw < 16^digits keeps T < 2^56.
                self.threshold = raw << UInt64(4 * (14 - digits))
                return
            }
            i += 1  // the ';'
        }
        return nil
    }

    /// `2^56 / (2^56 − T)` as a Double (exact for the common power-of-two thresholds).
    public var adjustedCount: Double {
        Double(Self.maxThreshold) / Double(Self.maxThreshold - threshold)
    }

    /// The adjusted count as an exact ratio `numerator / denominator` (both ≤ 2^56).
    public var adjustedCountRatio: (numerator: UInt64, denominator: UInt64) {
        (Self.maxThreshold, Self.maxThreshold - threshold)
    }
}

@inline(__always)
func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var i = 0
    while i < a.count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
