internal import Foundation
internal import OTLPProto
internal import SwiftProtobuf
internal import TraceContext

/// A second, independent reading of generated records: decodes each value with the swift-protobuf
/// generated OTLP types, classifies it by docs/ledger.md (reason codes) and §2 rule 5 (time window),
/// reads every span's attributes back (span first, then resource) and prices it with the
/// `ReferencePricer`. Used by tests to check that the bytes say what the generator's manifest says; the
/// CLI can use it to build a manifest for captured traffic.
public enum ReferenceIngest {
    /// Record-level checks' parameters (docs/configuration.md defaults).
    public struct Limits: Sendable, Hashable {
        public var maxAgeNanos: UInt64 = 35 * 86_400 * 1_000_000_000
        public var maxFutureSkewNanos: UInt64 = 2 * 3_600 * 1_000_000_000
        /// nil: no size limit.
        public var maxRecordBytes: Int? = nil
        public init(maxRecordBytes: Int? = nil) { self.maxRecordBytes = maxRecordBytes }
    }

    /// The outcome of one record and, when accepted, its spans.
    public struct Reading: Sendable {
        public var outcome: ExpectedOutcome
        public var spans: [SpanFacts]
        /// Each span's own `trace_state` (parallel to `spans`).
        public var traceStates: [String] = []
    }

    /// Classifies and reads one record value.
    public static func read(value: [UInt8], recordTimeMilliseconds: Int64, limits: Limits = Limits()) -> Reading {
        if let max = limits.maxRecordBytes, value.count > max { return Reading(outcome: .rejected(.tooLarge), spans: []) }
        if value.isEmpty { return Reading(outcome: .rejected(.empty), spans: []) }
        let request: OTLPExportTraceServiceRequest
        do {
            request = try OTLPExportTraceServiceRequest(serializedBytes: value)
        } catch {
            return Reading(outcome: .rejected(.undecodable), spans: [])
        }
        let now = UInt64(max(0, recordTimeMilliseconds)) * 1_000_000
        let earliest = now >= limits.maxAgeNanos ? now - limits.maxAgeNanos : 0
        let latest = now + limits.maxFutureSkewNanos
        var spans: [SpanFacts] = []
        var traceStates: [String] = []
        var badIDs = false
        var outOfRange = false
        for rs in request.resourceSpans {
            let resourceAttributes = rs.resource.attributes.map(attribute)
            for ss in rs.scopeSpans {
                for s in ss.spans {
                    guard s.traceID.count == 16, let id = s.traceID.withUnsafeBytes({ TraceID(bytes: $0) }), !id.isZero
                    else {
                        badIDs = true
                        continue
                    }
                    if s.startTimeUnixNano < earliest || s.startTimeUnixNano > latest { outOfRange = true }
                    spans.append(
                        SpanFacts(
                            traceID: id, isRoot: s.parentSpanID.isEmpty, name: s.name,
                            kind: SpanKind(rawValue: s.kind.rawValue) ?? .unspecified,
                            startTimeNanos: s.startTimeUnixNano, endTimeNanos: s.endTimeUnixNano,
                            isError: s.status.code == .error, spanAttributes: s.attributes.map(attribute),
                            resourceAttributes: resourceAttributes))
                    traceStates.append(s.traceState)
                }
            }
        }
        if badIDs { return Reading(outcome: .rejected(.badIDs), spans: []) }
        if spans.isEmpty { return Reading(outcome: .rejected(.empty), spans: []) }
        if outOfRange { return Reading(outcome: .rejected(.timestampOutOfRange), spans: []) }
        return Reading(outcome: .accepted(spans: spans.count), spans: spans, traceStates: traceStates)
    }

    /// Rebuilds a manifest from record values alone.
    public static func manifest(
        of records: [GeneratedRecord], pricer: ReferencePricer, limits: Limits = Limits(),
        generator: Manifest.GeneratorInfo? = nil
    ) throws(LoadGenError) -> Manifest {
        var builder = ManifestBuilder(generator: generator)
        for r in records {
            let reading = read(value: r.value, recordTimeMilliseconds: r.timestampMilliseconds, limits: limits)
            switch reading.outcome {
            case .rejected(let reason):
                builder.recordRejected(reason)
            case .accepted:
                builder.recordAccepted()
                // A span's own `ot=th` wins; else the record's `tracestate` header applies.
                let header = r.headers.last(where: { $0.name == "tracestate" }).map { String(decoding: $0.value, as: UTF8.self) } ?? ""
                for (i, s) in reading.spans.enumerated() {
                    let own = reading.traceStates[i]
                    let state = ReferenceSampling.threshold(own) != nil ? own : header
                    builder.add(span: s, price: try pricer.price(s), sampledMicro: ReferenceSampling.micro(traceState: state))
                }
            }
        }
        return builder.manifest
    }

    static func attribute(_ kv: OTLPKeyValue) -> Attribute {
        let value: AttributeValue
        switch kv.value.value {
        case .stringValue(let s)?: value = .string(s)
        case .boolValue(let b)?: value = .bool(b)
        case .intValue(let i)?: value = .int(i)
        case .doubleValue(let d)?: value = .double(d)
        default: value = .other
        }
        return Attribute(kv.key, value)
    }
}
