public import TraceContext

/// A zero-copy reader of OTLP `ExportTraceServiceRequest` protobuf bytes (opentelemetry-proto trace/v1/trace.proto).
///
/// Guarantees:
/// - It never copies or allocates per span or per attribute: every `ByteView` of a `DecodedSpan`
///   points into `bytes` and is valid only inside the `body` call.
/// - Every read is bounds-checked against the enclosing message; no input can make it trap (no force
///   unwrap, no trapping arithmetic on values read from input). Malformed input throws
///   `SpanDecodingError` with the byte offset.
/// - Protobuf rules: fields may come in any order and repeat (the last scalar wins; a repeated
///   `resource` or `status` is merged, as protobuf merges messages); unknown fields of every wire type
///   are skipped, groups included (nesting spends `depthMax`); a known field with an unexpected wire
///   type is treated as unknown (as swift-protobuf does). Only what traceledger reads is validated:
///   unread sub-messages (scope, events, links, array/kvlist values, unknown keys' values) are skipped
///   by length, and strings are not UTF-8 checked (`ByteView.string` repairs).
/// - Ids (docs/ledger.md): a span whose trace id is not 16 non-zero bytes, whose span id is not
///   8 non-zero bytes, or whose parent span id is neither empty nor 8 bytes makes the record fail with
///   `.badIDs` (reason `bad_ids`). An all-zero 8-byte parent id means "no parent", like an empty one.
/// - Spans are handed out in record order. A record that fails part-way has already handed out the
///   spans before the failure: callers that need all-or-nothing discard what they gathered on throw.
///   The resource's `KnownAttributes` are read once per `ResourceSpans` and overlaid under each span's.
public enum OTLPProtobufReader {
    /// Maximum nesting of unknown groups inside a message (swift-protobuf's default recursion limit).
    public static let depthMax = 100

    /// Calls `body` once per span in `bytes` (an `ExportTraceServiceRequest`). Empty input holds no span.
    public static func forEachSpan(
        in bytes: UnsafeRawBufferPointer, _ body: (borrowing DecodedSpan) -> Void
    ) throws(SpanDecodingError) {
        guard let base = bytes.baseAddress else { return }
        let r = ProtoReader(base: base)
        try r.request(0, bytes.count, body)
    }

    /// ``forEachSpan(in:_:)``, taking a `ResourceSpans`' resource from `cache` when the same bytes were
    /// decoded recently (only a `ResourceSpans` with exactly one `resource` field). The spans' views of
    /// resource attributes then point into the cache: valid until the next call with this cache.
    public static func forEachSpan(
        in bytes: UnsafeRawBufferPointer, cache: ResourceCache, _ body: (borrowing DecodedSpan) -> Void
    ) throws(SpanDecodingError) {
        cache.beginRecord()
        guard let base = bytes.baseAddress else { return }
        var r = ProtoReader(base: base)
        r.cache = cache
        try r.request(0, bytes.count, body)
    }

    /// Number of spans in the record, validating framing and ids but reading no attribute.
    public static func countSpans(in bytes: UnsafeRawBufferPointer) throws(SpanDecodingError) -> Int {
        var n = 0
        try forEachTraceID(in: bytes) { _ in n += 1 }
        return n
    }

    /// Calls `body` with the trace id of every span, in record order (cheap: reads only span framing
    /// and the id fields, not attributes). Throws `.badIDs` for a bad trace id.
    public static func forEachTraceID(
        in bytes: UnsafeRawBufferPointer, _ body: (TraceID) -> Void
    ) throws(SpanDecodingError) {
        guard let base = bytes.baseAddress else { return }
        let r = ProtoReader(base: base)
        try r.traceIDs(0, bytes.count, body)
    }

    /// Span count and whether all spans share one trace id, without allocating.
    public static func summarize(_ bytes: UnsafeRawBufferPointer) throws(SpanDecodingError) -> RecordSummary {
        var s = RecordSummary()
        try forEachTraceID(in: bytes) { id in
            if s.spanCount == 0 {
                s.firstTraceID = id
            } else if id != s.firstTraceID {
                s.isSingleTrace = false
            }
            s.spanCount += 1
        }
        return s
    }

    /// The distinct trace ids of the record, in order of first appearance (allocates the array).
    public static func distinctTraceIDs(in bytes: UnsafeRawBufferPointer) throws(SpanDecodingError) -> [TraceID] {
        var seen = Set<TraceID>()
        var out: [TraceID] = []
        try forEachTraceID(in: bytes) { id in
            if seen.insert(id).inserted { out.append(id) }
        }
        return out
    }
}

/// What `summarize` finds: enough for the pipeline to decide whether a record must be split by trace.
public struct RecordSummary: Hashable, Sendable {
    public var spanCount: Int = 0
    /// The first span's trace id (nil when the record has no span).
    public var firstTraceID: TraceID?
    /// True when every span has `firstTraceID` (also for an empty record).
    public var isSingleTrace: Bool = true
    public init() {}
}

// MARK: - The reader

/// Wire types.
@usableFromInline enum Wire {
    static let varint: UInt8 = 0, i64: UInt8 = 1, len: UInt8 = 2, startGroup: UInt8 = 3, endGroup: UInt8 = 4, i32: UInt8 = 5
}

/// The reader proper: a base pointer; every method takes the [pos, end) window of the message it
/// reads, and checks `pos < end` (or `end - pos >= n`) before each load. Offsets are from the record
/// start, so errors carry them directly.
struct ProtoReader {
    let base: UnsafeRawPointer
    /// Decoded resources of recent records (``OTLPProtobufReader/forEachSpan(in:cache:_:)``), if any.
    var cache: ResourceCache? = nil

    @inline(__always)
    func byte(_ pos: Int) -> UInt8 { base.load(fromByteOffset: pos, as: UInt8.self) }

    @inline(__always)
    func view(_ pos: Int, _ count: Int) -> ByteView {
        ByteView(UnsafeRawBufferPointer(start: base + pos, count: count))
    }

    @inline(__always)
    func varint(_ pos: inout Int, _ end: Int) throws(SpanDecodingError) -> UInt64 {
        guard pos < end else { throw SpanDecodingError(.truncated, at: pos) }
        let b0 = byte(pos)
        if b0 < 0x80 {
            pos += 1
            return UInt64(b0)
        }
        return try varintSlow(&pos, end)
    }

    func varintSlow(_ pos: inout Int, _ end: Int) throws(SpanDecodingError) -> UInt64 {
        let start = pos
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw SpanDecodingError(.truncated, at: pos) }
            let b = byte(pos)
            pos += 1
            // Bits beyond 64 are discarded (protobuf rule); `<<` on UInt64 never traps.
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift >= 70 { throw SpanDecodingError(.malformedVarint, at: start) }
        }
    }

    /// Reads a tag; returns (field number, wire type).
    @inline(__always)
    func tag(_ pos: inout Int, _ end: Int) throws(SpanDecodingError) -> (UInt32, UInt8) {
        let at = pos
        let t = try varint(&pos, end)
        let field = t >> 3
        guard field != 0, field <= 0x1FFF_FFFF else { throw SpanDecodingError(.badFieldNumber, at: at) }
        return (UInt32(truncatingIfNeeded: field), UInt8(truncatingIfNeeded: t & 7))
    }

    /// Reads a length prefix and checks it fits in [pos, end).
    @inline(__always)
    func length(_ pos: inout Int, _ end: Int) throws(SpanDecodingError) -> Int {
        let at = pos
        let n = try varint(&pos, end)
        // Safe: end >= pos here, so end - pos cannot overflow; n is compared before conversion.
        guard n <= UInt64(end - pos) else { throw SpanDecodingError(.truncated, at: at) }
        return Int(truncatingIfNeeded: n)
    }

    @inline(__always)
    func fixed64(_ pos: inout Int, _ end: Int) throws(SpanDecodingError) -> UInt64 {
        guard end - pos >= 8 else { throw SpanDecodingError(.truncated, at: pos) }
        let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
        pos += 8
        return v
    }

    @inline(__always)
    func fixed32(_ pos: inout Int, _ end: Int) throws(SpanDecodingError) -> UInt32 {
        guard end - pos >= 4 else { throw SpanDecodingError(.truncated, at: pos) }
        let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
        pos += 4
        return v
    }

    /// Skips one field's value of wire type `wire`. `depth` counts enclosing groups.
    func skip(_ wire: UInt8, field: UInt32, _ pos: inout Int, _ end: Int, depth: Int) throws(SpanDecodingError) {
        switch wire {
        case Wire.varint: _ = try varint(&pos, end)
        case Wire.i64:
            guard end - pos >= 8 else { throw SpanDecodingError(.truncated, at: pos) }
            pos += 8
        case Wire.len:
            let n = try length(&pos, end)
            pos += n
        case Wire.i32:
            guard end - pos >= 4 else { throw SpanDecodingError(.truncated, at: pos) }
            pos += 4
        case Wire.startGroup:
            guard depth < OTLPProtobufReader.depthMax else { throw SpanDecodingError(.tooDeep, at: pos) }
            while true {
                let at = pos
                let (f, w) = try tag(&pos, end)
                if w == Wire.endGroup {
                    guard f == field else { throw SpanDecodingError(.badWireType, at: at) }
                    return
                }
                try skip(w, field: f, &pos, end, depth: depth + 1)
            }
        default:  // an end group without its start, or wire type 6/7
            throw SpanDecodingError(.badWireType, at: pos)
        }
    }

    // MARK: Messages

    func request(_ start: Int, _ end: Int, _ body: (borrowing DecodedSpan) -> Void) throws(SpanDecodingError) {
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            if f == 1, w == Wire.len {
                let n = try length(&pos, end)
                try resourceSpans(pos, pos + n, body)
                pos += n
            } else {
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
    }

    func resourceSpans(_ start: Int, _ end: Int, _ body: (borrowing DecodedSpan) -> Void) throws(SpanDecodingError) {
        // Pass 1: the resource (it may follow the spans on the wire; repeated resources merge). With a
        // cache, the first resource field is decoded only once it is known to be the only one.
        var resource = KnownAttributes()
        var pos = start
        var hasScopeSpans = false
        var deferred: (start: Int, count: Int)? = nil
        var resourceFields = 0
        while pos < end {
            let (f, w) = try tag(&pos, end)
            if f == 1, w == Wire.len {
                let n = try length(&pos, end)
                resourceFields += 1
                if let d = deferred {
                    try self.resource(d.start, d.start + d.count, &resource)
                    deferred = nil
                    try self.resource(pos, pos + n, &resource)
                } else if cache != nil, resourceFields == 1 {
                    deferred = (pos, n)
                } else {
                    try self.resource(pos, pos + n, &resource)
                }
                pos += n
            } else {
                if f == 2, w == Wire.len { hasScopeSpans = true }
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
        if let d = deferred, let cache {  // The only resource field (deferred only with a cache).
            resource = try cachedResource(d.start, d.count, cache)
        }
        guard hasScopeSpans else { return }
        // Pass 2: the spans.
        pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            if f == 2, w == Wire.len {
                let n = try length(&pos, end)
                try scopeSpans(pos, pos + n, resource, body)
                pos += n
            } else {
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
    }

    /// The resource at `start` (`count` bytes) from the cache, or decoded here (errors name offsets in
    /// the record) and then stored, decoded again from the cache's copy.
    func cachedResource(_ start: Int, _ count: Int, _ cache: ResourceCache) throws(SpanDecodingError) -> KnownAttributes {
        let bytes = UnsafeRawBufferPointer(start: base + start, count: count)
        let hash = ByteHash.of(bytes)
        if let hit = cache.lookup(bytes, hash: hash) { return hit }
        var attrs = KnownAttributes()
        try resource(start, start + count, &attrs)
        let stored = cache.store(bytes, hash: hash) { copy, n in
            var fromCopy = KnownAttributes()
            do { try ProtoReader(base: copy).resource(0, n, &fromCopy) } catch { return nil }
            return fromCopy
        }
        return stored ?? attrs
    }

    func resource(_ start: Int, _ end: Int, _ attrs: inout KnownAttributes) throws(SpanDecodingError) {
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            if f == 1, w == Wire.len {
                let n = try length(&pos, end)
                try keyValue(pos, pos + n, &attrs)
                pos += n
            } else {
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
    }

    func scopeSpans(
        _ start: Int, _ end: Int, _ resource: borrowing KnownAttributes, _ body: (borrowing DecodedSpan) -> Void
    ) throws(SpanDecodingError) {
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            if f == 2, w == Wire.len {
                let n = try length(&pos, end)
                try span(pos, pos + n, resource, body)
                pos += n
            } else {
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
    }

    @inline(__always)
    func span(
        _ start: Int, _ end: Int, _ resource: borrowing KnownAttributes, _ body: (borrowing DecodedSpan) -> Void
    ) throws(SpanDecodingError) {
        var traceIDPos = start, traceIDLen = 0
        var spanIDPos = start, spanIDLen = 0
        var parentPos = start, parentLen = 0
        var name = view(start, 0)
        var traceState = view(start, 0)
        var kind = SpanKind.unspecified
        var startTime: UInt64 = 0, endTime: UInt64 = 0
        var status = StatusCode.unset
        var flags: UInt32 = 0
        var attrs = KnownAttributes()
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            switch (f, w) {
            case (1, Wire.len):
                traceIDLen = try length(&pos, end)
                traceIDPos = pos
                pos += traceIDLen
            case (2, Wire.len):
                spanIDLen = try length(&pos, end)
                spanIDPos = pos
                pos += spanIDLen
            case (3, Wire.len):
                let n = try length(&pos, end)
                traceState = view(pos, n)
                pos += n
            case (4, Wire.len):
                parentLen = try length(&pos, end)
                parentPos = pos
                pos += parentLen
            case (5, Wire.len):
                let n = try length(&pos, end)
                name = view(pos, n)
                pos += n
            case (6, Wire.varint):
                kind = SpanKind(rawValue: enumValue(try varint(&pos, end))) ?? .unspecified
            case (7, Wire.i64):
                startTime = try fixed64(&pos, end)
            case (8, Wire.i64):
                endTime = try fixed64(&pos, end)
            case (9, Wire.len):
                let n = try length(&pos, end)
                try keyValue(pos, pos + n, &attrs)
                pos += n
            case (15, Wire.len):
                let n = try length(&pos, end)
                try self.status(pos, pos + n, &status)
                pos += n
            case (16, Wire.i32):
                flags = try fixed32(&pos, end)
            default:
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
        guard traceIDLen == 16 else { throw SpanDecodingError(.badIDs, at: traceIDPos) }
        guard spanIDLen == 8 else { throw SpanDecodingError(.badIDs, at: spanIDPos) }
        guard parentLen == 0 || parentLen == 8 else { throw SpanDecodingError(.badIDs, at: parentPos) }
        let traceID = TraceID(
            high: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: traceIDPos, as: UInt64.self)),
            low: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: traceIDPos + 8, as: UInt64.self)))
        let spanID = SpanID(UInt64(bigEndian: base.loadUnaligned(fromByteOffset: spanIDPos, as: UInt64.self)))
        guard !traceID.isZero else { throw SpanDecodingError(.badIDs, at: traceIDPos) }
        guard !spanID.isZero else { throw SpanDecodingError(.badIDs, at: spanIDPos) }
        let parent =
            parentLen == 8
            ? SpanID(UInt64(bigEndian: base.loadUnaligned(fromByteOffset: parentPos, as: UInt64.self))) : SpanID(0)
        attrs.fillAbsent(from: resource)  // span first, then resource
        let span = DecodedSpan(
            traceID: traceID, spanID: spanID, parentSpanID: parent, name: name, kind: kind,
            startTimeUnixNano: startTime, endTimeUnixNano: endTime, statusCode: status,
            traceState: traceState, attributes: attrs, flags: flags)
        body(span)
    }

    func status(_ start: Int, _ end: Int, _ code: inout StatusCode) throws(SpanDecodingError) {
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            if f == 3, w == Wire.varint {
                code = StatusCode(rawValue: enumValue(try varint(&pos, end))) ?? .unset
            } else {
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
    }

    /// A protobuf enum is an int32 on the wire: unknown values map to nil (then the default case).
    @inline(__always)
    func enumValue(_ v: UInt64) -> UInt8 {
        let i = Int32(truncatingIfNeeded: v)
        return i >= 0 && i <= 255 ? UInt8(truncatingIfNeeded: i) : 255
    }

    /// One `KeyValue`: recognizes the key by bytes, reads the value only for a known key.
    @inline(__always)
    func keyValue(_ start: Int, _ end: Int, _ attrs: inout KnownAttributes) throws(SpanDecodingError) {
        // The usual layout, checked without throwing: a key (field 1) of < 128 bytes, then one value
        // (field 2) of < 16 KiB that ends the message. Anything else, malformed input included, takes
        // the general loop below, which reads the same bytes the same way and reports errors.
        if end - start >= 4, byte(start) == 0x0A, byte(start + 1) < 0x80 {
            let keyLen = Int(byte(start + 1))
            let valueTag = start + 2 + keyLen
            if valueTag + 2 <= end, byte(valueTag) == 0x12 {
                var valuePos = valueTag + 2
                var valueLen = Int(byte(valueTag + 1))
                var plain = true
                if valueLen >= 0x80 {
                    if valuePos < end, byte(valuePos) < 0x80 {
                        valueLen = (valueLen & 0x7F) | Int(byte(valuePos)) << 7
                        valuePos += 1
                    } else {
                        plain = false
                    }
                }
                if plain, end - valuePos == valueLen {
                    guard let key = KnownKey.classify(base + start + 2, keyLen) else { return }
                    guard key.needsValue else {
                        attrs.apply(key, nil)
                        return
                    }
                    attrs.apply(key, try anyValue(valuePos, end))
                    return
                }
            }
        }
        var keyPos = start, keyLen = 0
        var valuePos = start, valueLen = 0
        var valueCount = 0
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            if f == 1, w == Wire.len {
                keyLen = try length(&pos, end)
                keyPos = pos
                pos += keyLen
            } else if f == 2, w == Wire.len {
                valueLen = try length(&pos, end)
                valuePos = pos
                valueCount += 1
                pos += valueLen
            } else {
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
        guard let key = KnownKey.classify(base + keyPos, keyLen) else { return }
        guard key.needsValue else {
            attrs.apply(key, nil)
            return
        }
        var value: AttributeValue?
        if valueCount == 1 {
            value = try anyValue(valuePos, valuePos + valueLen)
        } else if valueCount > 1 {
            // A repeated message field merges: apply each occurrence in order.
            pos = start
            while pos < end {
                let (f, w) = try tag(&pos, end)
                if f == 2, w == Wire.len {
                    let n = try length(&pos, end)
                    if let v = try anyValue(pos, pos + n) { value = v }
                    pos += n
                } else {
                    try skip(w, field: f, &pos, end, depth: 0)
                }
            }
        }
        attrs.apply(key, value)
    }

    /// One `AnyValue` (a oneof: the last member present wins); nil when no member is present.
    @inline(__always)
    func anyValue(_ start: Int, _ end: Int) throws(SpanDecodingError) -> AttributeValue? {
        var value: AttributeValue?
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            switch (f, w) {
            case (1, Wire.len):
                let n = try length(&pos, end)
                value = .string(view(pos, n))
                pos += n
            case (2, Wire.varint):
                value = .bool(try varint(&pos, end) != 0)
            case (3, Wire.varint):
                value = .int(Int64(bitPattern: try varint(&pos, end)))
            case (4, Wire.i64):
                value = .double(Double(bitPattern: try fixed64(&pos, end)))
            case (5, Wire.len), (6, Wire.len), (7, Wire.len):
                let n = try length(&pos, end)
                value = .other
                pos += n
            default:
                try skip(w, field: f, &pos, end, depth: 0)
            }
        }
        return value
    }

    // MARK: Trace ids only

    func traceIDs(_ start: Int, _ end: Int, _ body: (TraceID) -> Void) throws(SpanDecodingError) {
        var pos = start
        while pos < end {
            let (f, w) = try tag(&pos, end)
            guard f == 1, w == Wire.len else {
                try skip(w, field: f, &pos, end, depth: 0)
                continue
            }
            let rsEndLen = try length(&pos, end)
            let rsEnd = pos + rsEndLen  // Safe: length() checked it is ≤ end - pos.
            while pos < rsEnd {
                let (f2, w2) = try tag(&pos, rsEnd)
                guard f2 == 2, w2 == Wire.len else {
                    try skip(w2, field: f2, &pos, rsEnd, depth: 0)
                    continue
                }
                let ssEndLen = try length(&pos, rsEnd)
            let ssEnd = pos + ssEndLen  // Safe: length() checked it is ≤ rsEnd - pos.
                while pos < ssEnd {
                    let (f3, w3) = try tag(&pos, ssEnd)
                    guard f3 == 2, w3 == Wire.len else {
                        try skip(w3, field: f3, &pos, ssEnd, depth: 0)
                        continue
                    }
                    let spanEndLen = try length(&pos, ssEnd)
            let spanEnd = pos + spanEndLen  // Safe: length() checked it is ≤ ssEnd - pos.
                    var idPos = pos, idLen = 0
                    while pos < spanEnd {
                        let (f4, w4) = try tag(&pos, spanEnd)
                        if f4 == 1, w4 == Wire.len {
                            idLen = try length(&pos, spanEnd)
                            idPos = pos
                            pos += idLen
                        } else {
                            try skip(w4, field: f4, &pos, spanEnd, depth: 0)
                        }
                    }
                    guard idLen == 16 else { throw SpanDecodingError(.badIDs, at: idPos) }
                    let id = TraceID(
                        high: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: idPos, as: UInt64.self)),
                        low: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: idPos + 8, as: UInt64.self)))
                    guard !id.isZero else { throw SpanDecodingError(.badIDs, at: idPos) }
                    body(id)
                }
            }
        }
    }
}
