/// A parsed W3C `traceparent` header value (W3C Trace Context, https://www.w3.org/TR/trace-context/).
///
/// Guarantees: `traceID` and `parentID` are non-zero; `flags` holds only the flags this service
/// understands (`sampled` 0x01 and the Level 2 `random` 0x02), every other bit is masked off, as the
/// spec asks of a receiver. A plain `Sendable` value.
public struct TraceParent: Hashable, Sendable {
    public var traceID: TraceID
    public var parentID: SpanID
    /// Masked flags (`flags & TraceParent.knownFlagsMask`).
    public var flags: UInt8

    /// Bit 0: the caller may have recorded the trace.
    public static let sampledFlag: UInt8 = 0x01
    /// Bit 1 (Level 2): the right-most 7 bytes of the trace id are random.
    public static let randomFlag: UInt8 = 0x02
    /// Flags kept by `parse`; other bits are ignored.
    public static let knownFlagsMask: UInt8 = 0x03

    public init(traceID: TraceID, parentID: SpanID, flags: UInt8) {
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    public var isSampled: Bool { flags & Self.sampledFlag != 0 }
    public var isRandom: Bool { flags & Self.randomFlag != 0 }

    /// The version-00 form, `00-<32 hex>-<16 hex>-<2 hex>`.
    public var headerValue: String {
        let f = String(flags, radix: 16)
        return "00-\(traceID)-\(parentID)-\(f.count == 1 ? "0" + f : f)"
    }

    /// Parses a `traceparent` value from raw bytes (e.g. a Kafka header), without allocating.
    ///
    /// Rules: leading/trailing spaces and tabs are ignored (HTTP OWS; the W3C test suite sends them).
    /// Version: two lowercase hex digits, `ff` is invalid. Version `00` must be exactly 55 bytes. A higher
    /// version must be at least 55 bytes and is read by its first four fields: byte 55, if present,
    /// must be `-`, and the rest is ignored. Ids and flags are lowercase hex only; all-zero ids are
    /// invalid. Throws `TraceContextError` with the offending byte offset.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(TraceContextError) -> TraceParent {
        let (s, e) = trimmedOWS(bytes)
        let n = e - s
        // Version.
        guard n >= 2 else { throw TraceContextError(.badLength, at: s) }
        let v0 = lowerHexValue(bytes[s]), v1 = lowerHexValue(bytes[s + 1])
        guard v0 != 0xFF, v1 != 0xFF else { throw TraceContextError(.badVersion, at: s) }
        let version = v0 << 4 | v1
        guard version != 0xFF else { throw TraceContextError(.badVersion, at: s) }
        if version == 0 {
            guard n == 55 else { throw TraceContextError(.badLength, at: s) }
        } else {
            guard n >= 55 else { throw TraceContextError(.badLength, at: s) }
            if n > 55, bytes[s + 55] != UInt8(ascii: "-") { throw TraceContextError(.badDelimiter, at: s + 55) }
        }
        let dash = UInt8(ascii: "-")
        guard bytes[s + 2] == dash else { throw TraceContextError(.badDelimiter, at: s + 2) }
        guard bytes[s + 35] == dash else { throw TraceContextError(.badDelimiter, at: s + 35) }
        guard bytes[s + 52] == dash else { throw TraceContextError(.badDelimiter, at: s + 52) }
        var bad = 0
        guard let high = readHex64(bytes, s + 3, digits: 16, lowercaseOnly: true, badAt: &bad),
            let low = readHex64(bytes, s + 19, digits: 16, lowercaseOnly: true, badAt: &bad)
        else { throw TraceContextError(.badHex, at: bad) }
        guard let parent = readHex64(bytes, s + 36, digits: 16, lowercaseOnly: true, badAt: &bad) else {
            throw TraceContextError(.badHex, at: bad)
        }
        guard let flags = readHex64(bytes, s + 53, digits: 2, lowercaseOnly: true, badAt: &bad) else {
            throw TraceContextError(.badHex, at: bad)
        }
        guard high != 0 || low != 0 else { throw TraceContextError(.zeroTraceID, at: s + 3) }
        guard parent != 0 else { throw TraceContextError(.zeroParentID, at: s + 36) }
        return TraceParent(
            traceID: TraceID(high: high, low: low), parentID: SpanID(parent),
            flags: UInt8(truncatingIfNeeded: flags) & knownFlagsMask)
    }

    /// `parse`, or nil when the header is invalid (the spec's "ignore the header").
    public static func parseOrNil(_ bytes: UnsafeRawBufferPointer) -> TraceParent? {
        do { return try parse(bytes) } catch { return nil }
    }
}

extension TraceID {
    /// Reads a trace id from a Kafka record key: 32 hex digits (as the OpenTelemetry Collector's
    /// `partition_traces_by_id` writes them, lowercase; uppercase is accepted too) or 16 raw bytes.
    /// Nil for any other key and for the all-zero id. Does not allocate.
    public init?(kafkaKey key: UnsafeRawBufferPointer) {
        switch key.count {
        case 16:
            guard let id = TraceID(bytes: key), !id.isZero else { return nil }
            self = id
        case 32:
            var bad = 0
            guard let h = readHex64(key, 0, digits: 16, lowercaseOnly: false, badAt: &bad),
                let l = readHex64(key, 16, digits: 16, lowercaseOnly: false, badAt: &bad),
                h != 0 || l != 0
            else { return nil }
            self.init(high: h, low: l)
        default:
            return nil
        }
    }

    /// Parses 32 hex digits (either case). Nil otherwise (the all-zero id is returned, not refused).
    public init?(hex: UnsafeRawBufferPointer) {
        guard hex.count == 32 else { return nil }
        var bad = 0
        guard let h = readHex64(hex, 0, digits: 16, lowercaseOnly: false, badAt: &bad),
            let l = readHex64(hex, 16, digits: 16, lowercaseOnly: false, badAt: &bad)
        else { return nil }
        self.init(high: h, low: l)
    }
}

extension SpanID {
    /// Reads 8 raw bytes, big-endian; nil unless exactly 8 bytes are given.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 8 else { return nil }
        self.init(UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)))
    }

    /// Parses 16 hex digits (either case). Nil otherwise.
    public init?(hex: UnsafeRawBufferPointer) {
        guard hex.count == 16 else { return nil }
        var bad = 0
        guard let v = readHex64(hex, 0, digits: 16, lowercaseOnly: false, badAt: &bad) else { return nil }
        self.init(v)
    }
}
