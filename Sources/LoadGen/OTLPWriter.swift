internal import TraceContext

/// A minimal protobuf writer for the OTLP trace subset the generator emits (opentelemetry-proto trace/v1/trace.proto), about an
/// order of magnitude faster than building swift-protobuf messages and serialising them (which
/// recomputes nested sizes at every level). Its output is checked by decoding it with the generated
/// swift-protobuf types in the tests.
struct ProtoWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        // Safe: 1 + floor(bits/7), bits ≤ 64 → at most 10.
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    @inline(__always)
    mutating func tag(_ field: UInt64, _ wireType: UInt64) { varint(field << 3 | wireType) }

    @inline(__always)
    mutating func string(_ field: UInt64, _ s: String) {
        tag(field, 2)
        varint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    @inline(__always)
    mutating func bytesField(_ field: UInt64, _ b: [UInt8]) {
        tag(field, 2)
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    @inline(__always)
    mutating func fixed64(_ field: UInt64, _ v: UInt64) {
        tag(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(8 * i))) }
    }

    @inline(__always)
    mutating func fixed32(_ field: UInt64, _ v: UInt32) {
        tag(field, 5)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(8 * i))) }
    }

    /// `KeyValue{key=1, value=2 AnyValue{string=1 | bool=2 | int=3 | double=4 | bytes=7}}` as field `field`.
    mutating func keyValue(_ field: UInt64, _ a: Attribute) {
        let keyCount = a.key.utf8.count
        let anyBody: Int
        switch a.value {
        case .string(let s):
            let n = s.utf8.count
            anyBody = 1 + Self.varintSize(UInt64(n)) + n
        case .bool: anyBody = 2
        case .int(let i): anyBody = 1 + Self.varintSize(UInt64(bitPattern: i))
        case .double: anyBody = 9
        case .other: anyBody = 2
        }
        let kvBody = 1 + Self.varintSize(UInt64(keyCount)) + keyCount + 1 + Self.varintSize(UInt64(anyBody)) + anyBody
        tag(field, 2)
        varint(UInt64(kvBody))
        string(1, a.key)
        tag(2, 2)
        varint(UInt64(anyBody))
        switch a.value {
        case .string(let s): string(1, s)
        case .bool(let b):
            tag(2, 0)
            varint(b ? 1 : 0)
        case .int(let i):
            tag(3, 0)
            varint(UInt64(bitPattern: i))
        case .double(let d): fixed64(4, d.bitPattern)
        case .other:
            tag(7, 2)
            varint(0)
        }
    }

    /// An 8- or 16-byte id (big-endian words) as a length-delimited field.
    @inline(__always)
    mutating func id(_ field: UInt64, _ words: UInt64...) {
        tag(field, 2)
        varint(UInt64(8 * words.count))
        for w in words {
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: w >> UInt64(56 - 8 * i))) }
        }
    }

    /// Appends `body` as a length-delimited field.
    @inline(__always)
    mutating func message(_ field: UInt64, _ body: [UInt8]) { bytesField(field, body) }
}

extension TrafficGenerator {
    /// `Resource{attributes=1}` body.
    static func encodeResource(_ attributes: [Attribute]) -> [UInt8] {
        var w = ProtoWriter(capacity: 512)
        for a in attributes { w.keyValue(1, a) }
        return w.bytes
    }

    /// One `Span` message body (opentelemetry-proto trace.proto field numbers).
    static func encodeSpan(_ s: SynthSpan, into w: inout ProtoWriter) {
        let t = s.facts.traceID
        w.id(1, t.high, t.low)
        w.id(2, s.spanID)
        if !s.traceState.isEmpty { w.string(3, s.traceState) }
        if s.parentSpanID != 0 { w.id(4, s.parentSpanID) }
        w.string(5, s.facts.name)
        if s.facts.kind != .unspecified {
            w.tag(6, 0)
            w.varint(UInt64(s.facts.kind.rawValue))
        }
        w.fixed64(7, s.facts.startTimeNanos)
        w.fixed64(8, s.facts.endTimeNanos)
        for a in s.attributes { w.keyValue(9, a) }
        if s.facts.isError {
            // Status{message=2 "upstream error", code=3 ERROR(2)}
            w.bytesField(15, [0x12, 14] + Array("upstream error".utf8) + [0x18, 2])
        } else if s.facts.kind == .server {
            w.bytesField(15, [0x18, 1])  // code OK
        }
        w.fixed32(16, 0x101)  // sampled + "has is_remote"
    }

    /// `ExportTraceServiceRequest` bytes: one ResourceSpans per resource (first-appearance order), one
    /// ScopeSpans each.
    mutating func encodeFast(_ spans: [SynthSpan]) -> [UInt8] {
        var order: [ResourceKey] = []
        var groups: [ResourceKey: [Int]] = [:]
        for (i, s) in spans.enumerated() {
            if groups[s.resource] == nil { order.append(s.resource) }
            groups[s.resource, default: []].append(i)
        }
        var request = ProtoWriter(capacity: spans.count * 900)
        var scratch = ProtoWriter(capacity: 1024)
        for key in order {
            var scope = ProtoWriter(capacity: (groups[key]?.count ?? 0) * 900)
            // InstrumentationScope{name=1, version=2}
            var scopeInfo = ProtoWriter(capacity: 64)
            scopeInfo.string(1, "io.opentelemetry." + TrafficModel.services[key.service].language)
            scopeInfo.string(2, "2.10.0")
            scope.message(1, scopeInfo.bytes)
            for i in groups[key] ?? [] {
                scratch.bytes.removeAll(keepingCapacity: true)
                Self.encodeSpan(spans[i], into: &scratch)
                scope.message(2, scratch.bytes)
            }
            var rs = ProtoWriter(capacity: scope.bytes.count + 1024)
            rs.message(1, resource(key).encoded)
            rs.message(2, scope.bytes)
            rs.string(3, "https://opentelemetry.io/schemas/1.27.0")
            request.message(1, rs.bytes)
        }
        return request.bytes
    }
}
