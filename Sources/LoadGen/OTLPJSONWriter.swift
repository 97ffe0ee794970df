internal import Foundation
internal import OTLPProto
internal import SwiftProtobuf

/// The value encoding of produced records.
public enum RecordEncoding: String, Sendable, Hashable, CaseIterable {
    /// OTLP protobuf (`ExportTraceServiceRequest` bytes), what the generator makes.
    case protobuf
    /// OTLP/JSON (the OTLP spec's JSON mapping: ids as lowercase hex, enums as ints, 64-bit ints as
    /// strings), with a `content-type: application/json` header so the worker decodes it as JSON on any
    /// topic.
    case json
}

extension GeneratedRecord {
    /// This record in `encoding`. OTLP/JSON: an accepted record's value is re-written as OTLP/JSON of the
    /// same message (same spans, same attributes, so the same expected outcome and manifest) and gets a
    /// `content-type: application/json` header; a poison record stays as it is (protobuf, no header), so
    /// its expected reject reason holds.
    public func encoded(as encoding: RecordEncoding) -> GeneratedRecord {
        guard encoding == .json, case .accepted = expected,
            let request = try? OTLPExportTraceServiceRequest(serializedBytes: value)
        else { return self }
        var r = self
        r.value = OTLPJSONWriter.write(request)
        r.headers.append(RecordHeader(name: "content-type", value: Array("application/json".utf8)))
        return r
    }
}

/// Deterministic OTLP/JSON of a generated request (fixed key order, no whitespace).
enum OTLPJSONWriter {
    static func write(_ r: OTLPExportTraceServiceRequest) -> [UInt8] {
        var w = Writer()
        w.raw("{\"resourceSpans\":[")
        for (i, rs) in r.resourceSpans.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"resource\":{\"attributes\":")
            w.attributes(rs.resource.attributes)
            w.raw("},\"scopeSpans\":[")
            for (j, ss) in rs.scopeSpans.enumerated() {
                if j > 0 { w.raw(",") }
                w.raw("{\"scope\":{\"name\":")
                w.string(ss.scope.name)
                w.raw(",\"version\":")
                w.string(ss.scope.version)
                w.raw("},\"spans\":[")
                for (k, s) in ss.spans.enumerated() {
                    if k > 0 { w.raw(",") }
                    w.span(s)
                }
                w.raw("]}")
            }
            w.raw("]")
            if !rs.schemaURL.isEmpty {
                w.raw(",\"schemaUrl\":")
                w.string(rs.schemaURL)
            }
            w.raw("}")
        }
        w.raw("]}")
        return w.out
    }

    struct Writer {
        var out: [UInt8] = []

        mutating func raw(_ s: String) { out.append(contentsOf: s.utf8) }

        mutating func string(_ s: String) {
            out.append(UInt8(ascii: "\""))
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case 0..<0x20: raw(String(format: "\\u%04x", b))
                default: out.append(b)
                }
            }
            out.append(UInt8(ascii: "\""))
        }

        mutating func hex(_ d: Data) {
            let digits = Array("0123456789abcdef".utf8)
            out.append(UInt8(ascii: "\""))
            for b in d {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
            out.append(UInt8(ascii: "\""))
        }

        mutating func span(_ s: OTLPSpan) {
            raw("{\"traceId\":")
            hex(s.traceID)
            raw(",\"spanId\":")
            hex(s.spanID)
            if !s.parentSpanID.isEmpty {
                raw(",\"parentSpanId\":")
                hex(s.parentSpanID)
            }
            if !s.traceState.isEmpty {
                raw(",\"traceState\":")
                string(s.traceState)
            }
            if s.flags != 0 { raw(",\"flags\":\(s.flags)") }
            raw(",\"name\":")
            string(s.name)
            raw(",\"kind\":\(s.kind.rawValue)")
            raw(",\"startTimeUnixNano\":\"\(s.startTimeUnixNano)\",\"endTimeUnixNano\":\"\(s.endTimeUnixNano)\"")
            raw(",\"attributes\":")
            attributes(s.attributes)
            if !s.events.isEmpty {
                raw(",\"events\":[")
                for (i, e) in s.events.enumerated() {
                    if i > 0 { raw(",") }
                    raw("{\"timeUnixNano\":\"\(e.timeUnixNano)\",\"name\":")
                    string(e.name)
                    raw(",\"attributes\":")
                    attributes(e.attributes)
                    raw("}")
                }
                raw("]")
            }
            if s.hasStatus {
                raw(",\"status\":{\"code\":\(s.status.code.rawValue)")
                if !s.status.message.isEmpty {
                    raw(",\"message\":")
                    string(s.status.message)
                }
                raw("}")
            }
            raw("}")
        }

        mutating func attributes(_ kvs: [OTLPKeyValue]) {
            raw("[")
            for (i, kv) in kvs.enumerated() {
                if i > 0 { raw(",") }
                keyValue(kv)
            }
            raw("]")
        }

        mutating func keyValue(_ kv: OTLPKeyValue) {
            raw("{\"key\":")
            string(kv.key)
            raw(",\"value\":")
            anyValue(kv.value)
            raw("}")
        }

        mutating func anyValue(_ v: OTLPAnyValue) {
            switch v.value {
            case nil: raw("{}")
            case .stringValue(let s):
                raw("{\"stringValue\":")
                string(s)
                raw("}")
            case .boolValue(let b): raw(b ? "{\"boolValue\":true}" : "{\"boolValue\":false}")
            case .intValue(let i): raw("{\"intValue\":\"\(i)\"}")
            case .doubleValue(let d):
                if d.isNaN {
                    raw("{\"doubleValue\":\"NaN\"}")
                } else if d.isInfinite {
                    raw(d > 0 ? "{\"doubleValue\":\"Infinity\"}" : "{\"doubleValue\":\"-Infinity\"}")
                } else {
                    raw("{\"doubleValue\":\(d)}")
                }
            case .bytesValue(let d):
                raw("{\"bytesValue\":")
                string(d.base64EncodedString())
                raw("}")
            case .arrayValue(let a):
                raw("{\"arrayValue\":{\"values\":[")
                for (i, x) in a.values.enumerated() {
                    if i > 0 { raw(",") }
                    anyValue(x)
                }
                raw("]}}")
            case .kvlistValue(let l):
                raw("{\"kvlistValue\":{\"values\":")
                attributes(l.values)
                raw("}}")
            }
        }
    }
}
