import Foundation
import OTLPProto

/// Writes OTLP/JSON (ids as hex, enums as ints, 64-bit ints as strings or numbers, bytes as base64)
/// from the generated message — swift-protobuf's own JSON uses base64 ids, so it cannot be used.
/// Randomizes what the format leaves free: key order, whitespace, string escapes, int64 as string or
/// number, enum as int or name, and injects unknown keys.
struct OTLPJSONEmitter<R: RandomNumberGenerator> {
    var rng: R
    var out = ""

    init(rng: R) { self.rng = rng }

    static func emit(_ req: OTLPExportTraceServiceRequest, rng: R) -> [UInt8] {
        var e = OTLPJSONEmitter(rng: rng)
        e.request(req)
        return Array(e.out.utf8)
    }

    mutating func ws() { if rng.chance(0.2) { out += [" ", "\n", "\t", "  "].randomElement(using: &rng)! } }

    mutating func str(_ s: String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += rng.chance(0.5) ? "\\n" : "\\u000a"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else if rng.chance(0.1) {
                    // Escape an ordinary character (surrogate pair above the BMP).
                    for cu in String(u).utf16 { out += String(format: "\\u%04X", cu) }
                } else if rng.chance(0.03), u == "/" {
                    out += "\\/"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    mutating func hex(_ d: Data) -> String { d.map { String(format: rng.chance(0.1) ? "%02X" : "%02x", $0) }.joined() }

    mutating func int64(_ v: Int64) { if rng.chance(0.7) { out += "\"\(v)\"" } else { out += "\(v)" } }
    mutating func uint64(_ v: UInt64) { if rng.chance(0.7) { out += "\"\(v)\"" } else { out += "\(v)" } }

    mutating func double(_ d: Double) {
        if d.isNaN { out += "\"NaN\"" } else if d == .infinity { out += "\"Infinity\"" } else if d == -.infinity {
            out += "\"-Infinity\""
        } else if rng.chance(0.2) {
            out += "\"\(d)\""
        } else {
            out += "\(d)"
        }
    }

    /// An object from (key, writer) members, in random order, with unknown keys sometimes added.
    mutating func object(_ members: [(String, (inout Self) -> Void)]) {
        var ms = members
        if rng.chance(0.15) {
            ms.append(("unknownField", { e in e.junk(depth: 0) }))
        }
        ms.shuffle(using: &rng)
        out += "{"
        for (i, (k, w)) in ms.enumerated() {
            if i > 0 { out += "," }
            ws()
            str(k)
            ws()
            out += ":"
            ws()
            w(&self)
        }
        ws()
        out += "}"
    }

    mutating func array<T>(_ xs: [T], _ w: (inout Self, T) -> Void) {
        out += "["
        for (i, x) in xs.enumerated() {
            if i > 0 { out += "," }
            ws()
            w(&self, x)
        }
        out += "]"
    }

    mutating func junk(depth: Int) {
        switch rng.int(0...(depth < 3 ? 6 : 3)) {
        case 0: out += "null"
        case 1: out += ["true", "false", "-1.5e3", "0", "12345678901234567890"].randomElement(using: &rng)!
        case 2: str("junk\\\"}]")
        case 3: out += "\"\\u00e9\\ud83d\\ude00\""
        case 4: array([0, 1], { e, _ in e.junk(depth: depth + 1) })
        default: object([("a", { e in e.junk(depth: depth + 1) }), ("spans", { e in e.junk(depth: depth + 1) })])
        }
    }

    mutating func request(_ r: OTLPExportTraceServiceRequest) {
        object([("resourceSpans", { e in e.array(r.resourceSpans) { e, rs in e.resourceSpans(rs) } })])
    }

    mutating func resourceSpans(_ rs: OTLPResourceSpans) {
        var m: [(String, (inout Self) -> Void)] = []
        if rs.hasResource {
            m.append(("resource", { e in
                e.object([
                    ("attributes", { e in e.array(rs.resource.attributes) { e, kv in e.keyValue(kv) } }),
                    ("droppedAttributesCount", { e in e.out += "0" }),
                ])
            }))
        }
        m.append(("scopeSpans", { e in e.array(rs.scopeSpans) { e, ss in e.scopeSpans(ss) } }))
        if !rs.schemaURL.isEmpty { m.append(("schemaUrl", { e in e.str(rs.schemaURL) })) }
        object(m)
    }

    mutating func scopeSpans(_ ss: OTLPScopeSpans) {
        var m: [(String, (inout Self) -> Void)] = [("spans", { e in e.array(ss.spans) { e, s in e.span(s) } })]
        if ss.hasScope {
            m.append(("scope", { e in
                e.object([
                    ("name", { e in e.str(ss.scope.name) }),
                    ("attributes", { e in e.array(ss.scope.attributes) { e, kv in e.keyValue(kv) } }),
                ])
            }))
        }
        object(m)
    }

    mutating func span(_ s: OTLPSpan) {
        var m: [(String, (inout Self) -> Void)] = [
            ("traceId", { e in e.str(e.hex(s.traceID)) }),
            ("spanId", { e in e.str(e.hex(s.spanID)) }),
            ("name", { e in e.str(s.name) }),
            ("startTimeUnixNano", { e in e.uint64(s.startTimeUnixNano) }),
            ("endTimeUnixNano", { e in e.uint64(s.endTimeUnixNano) }),
            ("attributes", { e in e.array(s.attributes) { e, kv in e.keyValue(kv) } }),
        ]
        if !s.parentSpanID.isEmpty || rng.chance(0.3) {
            m.append(("parentSpanId", { e in e.str(e.hex(s.parentSpanID)) }))
        }
        if s.kind.rawValue != 0 || rng.chance(0.3) {
            let k = s.kind.rawValue
            m.append(("kind", { e in
                let names = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                             "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]
                if k < names.count, e.rng.chance(0.2) { e.str(names[k]) } else { e.out += "\(k)" }
            }))
        }
        if !s.traceState.isEmpty { m.append(("traceState", { e in e.str(s.traceState) })) }
        if s.flags != 0 { m.append(("flags", { e in e.out += "\(s.flags)" })) }
        if s.hasStatus {
            m.append(("status", { e in
                e.object([("code", { e in e.out += "\(s.status.code.rawValue)" }), ("message", { e in e.str(s.status.message) })])
            }))
        }
        if !s.events.isEmpty {
            m.append(("events", { e in
                e.array(s.events) { e, ev in
                    e.object([("timeUnixNano", { e in e.uint64(ev.timeUnixNano) }), ("name", { e in e.str(ev.name) }),
                              ("attributes", { e in e.array(ev.attributes) { e, kv in e.keyValue(kv) } })])
                }
            }))
        }
        object(m)
    }

    mutating func keyValue(_ kv: OTLPKeyValue) {
        var m: [(String, (inout Self) -> Void)] = [("key", { e in e.str(kv.key) })]
        if kv.hasValue { m.append(("value", { e in e.anyValue(kv.value) })) }
        object(m)
    }

    mutating func anyValue(_ v: OTLPAnyValue) {
        guard let value = v.value else {
            object([])
            return
        }
        switch value {
        case .stringValue(let s): object([("stringValue", { e in e.str(s) })])
        case .boolValue(let b): object([("boolValue", { e in e.out += b ? "true" : "false" })])
        case .intValue(let i): object([("intValue", { e in e.int64(i) })])
        case .doubleValue(let d): object([("doubleValue", { e in e.double(d) })])
        case .bytesValue(let d): object([("bytesValue", { e in e.str(d.base64EncodedString()) })])
        case .arrayValue(let a):
            object([("arrayValue", { e in e.object([("values", { e in e.array(a.values) { e, x in e.anyValue(x) } })]) })])
        case .kvlistValue(let l):
            object([("kvlistValue", { e in e.object([("values", { e in e.array(l.values) { e, x in e.keyValue(x) } })]) })])
        }
    }
}
