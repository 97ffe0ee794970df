import Foundation
import OTLPProto
import SpanDecoding
import SwiftProtobuf
import TraceContext
import TestSupport

// MARK: - Deterministic randomness

// The seeded generator is TestSupport's `SplitMix64`: failures reproduce from the seed in the message.

extension RandomNumberGenerator {
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &self) }
}

// MARK: - Owned (comparable) form of a decoded span

enum OwnedValue: Equatable, CustomStringConvertible {
    case string([UInt8]), bool(Bool), int(Int64), double(UInt64), other
    var description: String {
        switch self {
        case .string(let b): "s(\(String(decoding: b, as: UTF8.self)))"
        case .bool(let b): "b(\(b))"
        case .int(let i): "i(\(i))"
        case .double(let d): "d(\(Double(bitPattern: d)))"
        case .other: "other"
        }
    }
}

struct OwnedSpan: Equatable {
    var traceID: TraceID
    var spanID: SpanID
    var parent: SpanID
    var name: [UInt8]
    var kind: UInt8
    var start: UInt64
    var end: UInt64
    var status: UInt8
    var traceState: [UInt8]
    var flags: UInt32
    /// Known attribute name → value, after the span-over-resource overlay; absent = nil.
    var attrs: [String: OwnedValue]
    var hasFaas: Bool
}

extension OwnedValue {
    init(_ v: AttributeValue) {
        switch v {
        case .string(let b): self = .string(Array(b.bytes))
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d.bitPattern)
        case .other: self = .other
        }
    }
}

extension OwnedSpan {
    init(_ s: borrowing DecodedSpan) {
        let a = s.attributes
        var m: [String: OwnedValue] = [:]
        func put(_ k: String, _ v: ByteView?) { if let v { m[k] = .string(Array(v.bytes)) } }
        func put(_ k: String, _ v: Int64?) { if let v { m[k] = .int(v) } }
        if let c = a.costUSD { m["cost.usd"] = OwnedValue(c) }
        put("host.type", a.hostType)
        put("cloud.region", a.cloudRegion)
        put("cloud.platform", a.cloudPlatform)
        put("faas.max_memory", a.faasMaxMemoryBytes)
        put("gen_ai.response.model", a.responseModel)
        put("gen_ai.request.model", a.requestModel)
        put("gen_ai.usage.input_tokens", a.inputTokens)
        put("gen_ai.usage.output_tokens", a.outputTokens)
        put("gen_ai.usage.cache_read.input_tokens", a.cacheReadInputTokens)
        put("gen_ai.usage.cache_creation.input_tokens", a.cacheCreationInputTokens)
        put("gen_ai.usage.prompt_tokens", a.promptTokens)
        put("gen_ai.usage.completion_tokens", a.completionTokens)
        put("deployment.environment.name", a.environmentName)
        put("deployment.environment", a.environmentLegacy)
        put("service.name", a.serviceName)
        put("session.id", a.sessionID)
        put("agent.depth", a.agentDepth)
        if let b = a.agentCeilingHit { m["agent.ceiling_hit"] = .bool(b) }
        put("agent.parent_session", a.agentParentSession)
        self.init(
            traceID: s.traceID, spanID: s.spanID, parent: s.parentSpanID, name: Array(s.name.bytes),
            kind: s.kind.rawValue, start: s.startTimeUnixNano, end: s.endTimeUnixNano, status: s.statusCode.rawValue,
            traceState: Array(s.traceState.bytes), flags: s.flags, attrs: m, hasFaas: a.hasFaasAttribute)
    }
}

func decodeProto(_ bytes: [UInt8]) throws -> [OwnedSpan] {
    var out: [OwnedSpan] = []
    try bytes.withUnsafeBytes { raw in
        try OTLPProtobufReader.forEachSpan(in: raw) { out.append(OwnedSpan($0)) }
    }
    return out
}

func decodeJSON(_ bytes: [UInt8]) throws -> [OwnedSpan] {
    let scratch = JSONScratch()
    var spans: [DecodedSpan] = []
    return try bytes.withUnsafeBytes { raw in
        try OTLPJSONReader.appendSpans(in: raw, scratch: scratch, to: &spans)
        return spans.map { OwnedSpan($0) }
    }
}

// MARK: - The oracle: expected spans computed from swift-protobuf's generated types

enum Oracle {
    /// Known keys and the type each one takes ("any" for cost.usd).
    static let knownKeys: [(String, String)] = [
        ("cost.usd", "any"), ("host.type", "s"), ("cloud.region", "s"), ("cloud.platform", "s"),
        ("faas.max_memory", "i"), ("gen_ai.response.model", "s"), ("gen_ai.request.model", "s"),
        ("gen_ai.usage.input_tokens", "i"), ("gen_ai.usage.output_tokens", "i"),
        ("gen_ai.usage.cache_read.input_tokens", "i"), ("gen_ai.usage.cache_creation.input_tokens", "i"),
        ("gen_ai.usage.prompt_tokens", "i"), ("gen_ai.usage.completion_tokens", "i"),
        ("deployment.environment.name", "s"), ("deployment.environment", "s"), ("service.name", "s"),
        ("session.id", "s"), ("agent.depth", "i"), ("agent.ceiling_hit", "b"), ("agent.parent_session", "s"),
    ]

    static func value(_ kv: OTLPKeyValue) -> OwnedValue? {
        guard kv.hasValue, let v = kv.value.value else { return nil }
        switch v {
        case .stringValue(let s): return .string(Array(s.utf8))
        case .boolValue(let b): return .bool(b)
        case .intValue(let i): return .int(i)
        case .doubleValue(let d): return .double(d.bitPattern)
        case .arrayValue, .kvlistValue, .bytesValue: return .other
        }
    }

    /// The typed value of the LAST occurrence of `key`, or nil (absent, or of another type).
    static func lookup(_ key: String, _ type: String, in attrs: [OTLPKeyValue]) -> OwnedValue? {
        guard let kv = attrs.last(where: { $0.key == key }) else { return nil }
        let v = value(kv)
        switch (type, v) {
        case ("any", _): return v
        case ("s", .string?), ("i", .int?), ("b", .bool?): return v
        default: return nil
        }
    }

    static func expectedSpans(_ req: OTLPExportTraceServiceRequest) -> [OwnedSpan] {
        var out: [OwnedSpan] = []
        for rs in req.resourceSpans {
            let res = rs.resource.attributes
            for ss in rs.scopeSpans {
                for s in ss.spans {
                    var m: [String: OwnedValue] = [:]
                    for (k, t) in knownKeys {
                        m[k] = lookup(k, t, in: s.attributes) ?? lookup(k, t, in: res)
                    }
                    let faas = (s.attributes + res).contains { $0.key.utf8.starts(with: "faas.".utf8) }
                    let p = s.parentSpanID
                    out.append(
                        OwnedSpan(
                            traceID: s.traceID.withUnsafeBytes { TraceID(bytes: $0)! },
                            spanID: s.spanID.withUnsafeBytes { SpanID(bytes: $0)! },
                            parent: p.isEmpty ? SpanID(0) : p.withUnsafeBytes { SpanID(bytes: $0)! },
                            name: Array(s.name.utf8), kind: (0...5).contains(s.kind.rawValue) ? UInt8(s.kind.rawValue) : 0,
                            start: s.startTimeUnixNano, end: s.endTimeUnixNano,
                            status: (0...2).contains(s.status.code.rawValue) ? UInt8(s.status.code.rawValue) : 0,
                            traceState: Array(s.traceState.utf8), flags: s.flags, attrs: m, hasFaas: faas))
                }
            }
        }
        return out
    }
}

// MARK: - Random valid requests

enum RequestGen {
    static let keys: [String] = Oracle.knownKeys.map(\.0) + [
        "faas.name", "faas.trigger", "faas.", "cost.usdx", "host.typ", "http.method", "db.system", "service.namespace",
        "gen_ai.usage.input_token", "deployment.environment.nam", "x", "", "agent.depth.max", "cloud.regio",
    ] + nearMisses

    /// Every known key with one byte changed at its first, a middle and its last position: the key
    /// recognizer compares 8-byte words (the last one overlapping), so a difference anywhere must tell.
    static let nearMisses: [String] = Oracle.knownKeys.map(\.0).flatMap { key -> [String] in
        let bytes = Array(key.utf8)
        return [0, bytes.count / 2, bytes.count - 1, max(0, bytes.count - 9)].map { i in
            var b = bytes
            b[i] = b[i] == UInt8(ascii: "q") ? UInt8(ascii: "z") : UInt8(ascii: "q")
            return String(decoding: b, as: UTF8.self)
        }
    }

    /// A string value: mostly short, sometimes 100–20,000 bytes (length prefixes of one, two and three
    /// bytes: the reader's usual-layout path takes the first two only).
    static func value<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        guard rng.chance(0.1) else { return string(&rng) }
        return String(repeating: "v", count: rng.chance(0.8) ? rng.int(100...300) : rng.int(16_000...20_000))
    }

    static func string<R: RandomNumberGenerator>(_ rng: inout R, max: Int = 24) -> String {
        let pool: [Character] = Array("abcdefghijklmnopqrstuvwxyz0123456789-_./ \"\\é中😀\t\n")
        return String((0..<rng.int(0...max)).map { _ in pool.randomElement(using: &rng)! })
    }

    static func anyValue<R: RandomNumberGenerator>(_ rng: inout R, depth: Int = 0) -> OTLPAnyValue {
        var v = OTLPAnyValue()
        switch rng.int(0...(depth < 3 ? 7 : 4)) {
        case 0: v.stringValue = value(&rng)
        case 1: v.boolValue = rng.chance(0.5)
        case 2: v.intValue = rng.chance(0.5) ? Int64(rng.int(0...100_000)) : Int64.random(in: .min ... .max, using: &rng)
        case 3:
            v.doubleValue = rng.chance(0.1)
                ? [Double.nan, .infinity, -.infinity, 0, -0.0].randomElement(using: &rng)!
                : Double.random(in: -1e6...1e6, using: &rng)
        case 4: v.bytesValue = Data((0..<rng.int(0...8)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case 5:
            var a = OTLPArrayValue()
            a.values = (0..<rng.int(0...3)).map { _ in anyValue(&rng, depth: depth + 1) }
            v.arrayValue = a
        case 6:
            var l = OTLPKeyValueList()
            l.values = (0..<rng.int(0...3)).map { _ in keyValue(&rng, depth: depth + 1) }
            v.kvlistValue = l
        default: break  // an empty AnyValue
        }
        return v
    }

    static func keyValue<R: RandomNumberGenerator>(_ rng: inout R, depth: Int = 0) -> OTLPKeyValue {
        var kv = OTLPKeyValue()
        kv.key = rng.chance(0.2) ? string(&rng, max: 12) : keys.randomElement(using: &rng)!
        if rng.chance(0.95) {
            // Bias known keys towards their own type so that the overlay is exercised.
            var v = anyValue(&rng, depth: depth)
            if rng.chance(0.5), let t = Oracle.knownKeys.first(where: { $0.0 == kv.key })?.1 {
                switch t {
                case "s": v.stringValue = value(&rng)
                case "i": v.intValue = Int64(rng.int(0...1_000_000))
                case "b": v.boolValue = rng.chance(0.5)
                default: v.doubleValue = Double.random(in: 0...10, using: &rng)
                }
            }
            kv.value = v
        }
        return kv
    }

    /// Unknown-field bytes (field numbers ≥ 100, unused by every OTLP message here), all wire types.
    static func unknownFields<R: RandomNumberGenerator>(_ rng: inout R) -> [UInt8] {
        var b: [UInt8] = []
        for _ in 0..<rng.int(1...3) {
            let field = UInt64(rng.int(100...5000))
            switch rng.int(0...4) {
            case 0: b += varint(field << 3 | 0) + varint(UInt64.random(in: 0...UInt64.max, using: &rng))
            case 1: b += varint(field << 3 | 1) + (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 2:
                let payload = (0..<rng.int(0...10)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                b += varint(field << 3 | 2) + varint(UInt64(payload.count)) + payload
            case 3: b += varint(field << 3 | 5) + (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            default:  // a group holding a varint and a nested group
                let inner = UInt64(rng.int(100...200))
                b += varint(field << 3 | 3) + varint(7 << 3 | 0) + [5]
                b += varint(inner << 3 | 3) + varint(inner << 3 | 4)
                b += varint(field << 3 | 4)
            }
        }
        return b
    }

    static func inject<M: SwiftProtobuf.Message, R: RandomNumberGenerator>(_ m: inout M, _ rng: inout R, _ p: Double) {
        if rng.chance(p) { try? m.merge(serializedBytes: unknownFields(&rng)) }
    }

    static func nonZero<R: RandomNumberGenerator>(_ n: Int, _ rng: inout R) -> Data {
        var d = Data((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
        d[0] |= 1
        return d
    }

    static func request<R: RandomNumberGenerator>(
        _ rng: inout R, resources: ClosedRange<Int> = 1...3, spans: ClosedRange<Int> = 0...6,
        attributes: ClosedRange<Int> = 0...12, unknownRate: Double = 0.3
    ) -> OTLPExportTraceServiceRequest {
        var req = OTLPExportTraceServiceRequest()
        let traces = (0..<rng.int(1...3)).map { _ in nonZero(16, &rng) }
        for _ in 0..<rng.int(resources) {
            var rs = OTLPResourceSpans()
            if rng.chance(0.9) {
                var r = OTLPResource()
                r.attributes = (0..<rng.int(attributes)).map { _ in keyValue(&rng) }
                inject(&r, &rng, unknownRate)
                rs.resource = r
            }
            rs.schemaURL = rng.chance(0.3) ? "https://opentelemetry.io/schemas/1.21.0" : ""
            for _ in 0..<rng.int(1...2) {
                var ss = OTLPScopeSpans()
                if rng.chance(0.5) {
                    ss.scope.name = "scope"
                    ss.scope.attributes = [keyValue(&rng)]
                }
                for _ in 0..<rng.int(spans) {
                    var s = OTLPSpan()
                    s.traceID = traces.randomElement(using: &rng)!
                    s.spanID = nonZero(8, &rng)
                    if rng.chance(0.7) { s.parentSpanID = nonZero(8, &rng) }
                    s.name = string(&rng)
                    s.kind = OTLPSpan.SpanKind(rawValue: rng.int(0...7)) ?? .unspecified
                    s.startTimeUnixNano = UInt64.random(in: 0...UInt64.max, using: &rng)
                    s.endTimeUnixNano = UInt64.random(in: 0...UInt64.max, using: &rng)
                    if rng.chance(0.3) { s.traceState = rng.chance(0.5) ? "ot=th:8;rv:0123456789abcd" : "vendor=x" }
                    if rng.chance(0.5) { s.flags = UInt32.random(in: 0...UInt32.max, using: &rng) }
                    s.attributes = (0..<rng.int(attributes)).map { _ in keyValue(&rng) }
                    if rng.chance(0.5) {
                        s.status.code = OTLPStatus.StatusCode(rawValue: rng.int(0...4)) ?? .unset
                        s.status.message = string(&rng)
                    }
                    if rng.chance(0.2) {
                        var e = OTLPSpan.Event()
                        e.name = "event"
                        e.attributes = [keyValue(&rng)]
                        s.events = [e]
                    }
                    if rng.chance(0.2) {
                        var l = OTLPSpan.Link()
                        l.traceID = nonZero(16, &rng)
                        l.spanID = nonZero(8, &rng)
                        s.links = [l]
                    }
                    inject(&s, &rng, unknownRate)
                    ss.spans.append(s)
                }
                inject(&ss, &rng, unknownRate)
                rs.scopeSpans.append(ss)
            }
            inject(&rs, &rng, unknownRate)
            req.resourceSpans.append(rs)
        }
        inject(&req, &rng, unknownRate)
        return req
    }
}

func varint(_ v: UInt64) -> [UInt8] {
    var v = v
    var out: [UInt8] = []
    while v >= 0x80 {
        out.append(UInt8(v & 0x7F) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
    return out
}

/// A length-delimited field.
func lenField(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] {
    varint(field << 3 | 2) + varint(UInt64(payload.count)) + payload
}

func serialize(_ m: some SwiftProtobuf.Message) -> [UInt8] {
    // Generated messages always serialize (no required fields).
    (try? m.serializedBytes()) ?? []
}
