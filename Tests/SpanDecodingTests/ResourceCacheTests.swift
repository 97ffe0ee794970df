import Foundation
import OTLPProto
@testable import SpanDecoding
import Testing
import TestSupport

/// Decoding with a `ResourceCache` (resources repeated across records, as SDK exporters send them)
/// against swift-protobuf's reading of the same bytes (the `Oracle`), record after record through one
/// cache. Spans are read only after the whole record was decoded, as `RecordProcessor` does.
@Suite("resources decoded once per distinct resource")
struct ResourceCacheTests {
    /// Decodes one record through `cache`, keeping the spans (views) until the record is done.
    static func decodeCached(_ bytes: [UInt8], _ cache: ResourceCache) throws -> [OwnedSpan] {
        var kept: [DecodedSpan] = []
        var out: [OwnedSpan] = []
        try bytes.withUnsafeBytes { raw in
            try OTLPProtobufReader.forEachSpan(in: raw, cache: cache) { kept.append(copy $0) }
            out = kept.map { OwnedSpan($0) }
        }
        return out
    }

    static func resource(service: String, extra: Int) -> OTLPResource {
        var r = OTLPResource()
        r.attributes = [
            kv("service.name", s: service), kv("host.type", s: "m5.large"), kv("cloud.region", s: "eu-west-\(extra)"),
            kv("deployment.environment.name", s: "production"),
        ]
        return r
    }

    @Test("random records whose resources come from a pool larger than the cache: the same spans as swift-protobuf reads, and the cache answers most resources")
    func agreesWithOracleAcrossRecords() throws {
        var rng = SplitMix64(seed: 0xC0FFEE)
        // 100 resources for 64 slots: slots are shared, replaced, and some records use two resources of one slot.
        let pool: [OTLPResource] = (0..<100).map { i in
            var r = RequestGen.request(&rng, resources: 1...1).resourceSpans.first?.resource ?? OTLPResource()
            r.attributes.append(kv("service.name", s: "svc-\(i)"))
            return r
        }
        let cache = ResourceCache()
        var spans = 0
        for n in 0..<2000 {
            var req = RequestGen.request(&rng)
            for i in req.resourceSpans.indices where req.resourceSpans[i].hasResource {
                req.resourceSpans[i].resource = pool[rng.int(0...(n < 1000 ? 19 : 99))]
            }
            let bytes = serialize(req)
            let oracle = try OTLPExportTraceServiceRequest(serializedBytes: bytes)
            let got = try Self.decodeCached(bytes, cache)
            #expect(got == Oracle.expectedSpans(oracle), "record \(n)")
            spans += got.count
        }
        #expect(spans > 2000)
        #expect(cache.lookups > 2000)
        #expect(cache.hits * 2 > cache.lookups, "most resources came from the cache (\(cache.hits) of \(cache.lookups))")
    }

    @Test("a record whose second resource maps to the slot its first resource was answered from: the first one's spans keep their own attributes")
    func slotInUseByTheRecordIsNotReplaced() throws {
        // Two resources that share a slot.
        let a = Self.resource(service: "alpha", extra: 0)
        let aBytes = serialize(a)
        let slotA = ByteHash.of(aBytes.withUnsafeBytes { $0 }) % UInt64(ResourceCache.slotCount)
        var b = a
        for i in 1... {
            b = Self.resource(service: "beta", extra: i)
            let h = serialize(b).withUnsafeBytes { ByteHash.of($0) }
            if h % UInt64(ResourceCache.slotCount) == slotA { break }
        }
        func record(_ resources: [OTLPResource]) -> [UInt8] {
            var req = OTLPExportTraceServiceRequest()
            for (i, r) in resources.enumerated() {
                var s = OTLPSpan()
                s.traceID = Data((0..<16).map { UInt8($0 + 1) })
                s.spanID = Data((0..<8).map { UInt8($0 + 1 + i) })
                s.name = "op-\(i)"
                var ss = OTLPScopeSpans()
                ss.spans = [s, s]
                var rs = OTLPResourceSpans()
                rs.resource = r
                rs.scopeSpans = [ss]
                req.resourceSpans.append(rs)
            }
            return serialize(req)
        }
        let cache = ResourceCache()
        _ = try Self.decodeCached(record([a]), cache)  // a is stored
        let bytes = record([a, b])  // a answered from its slot, then b (same slot) must not replace it
        let got = try Self.decodeCached(bytes, cache)
        let services = got.map { $0.attrs["service.name"] }
        #expect(services == [.string(Array("alpha".utf8)), .string(Array("alpha".utf8)), .string(Array("beta".utf8)), .string(Array("beta".utf8))])
        #expect(got == Oracle.expectedSpans(try OTLPExportTraceServiceRequest(serializedBytes: bytes)))
        // The next record may replace it.
        let again = try Self.decodeCached(record([b]), cache)
        #expect(again.map { $0.attrs["service.name"] } == [.string(Array("beta".utf8)), .string(Array("beta".utf8))])
    }

    @Test("a malformed resource is refused with its offset in the record, cache or not")
    func malformedResourceFailsTheSame() throws {
        let good = serialize(Self.resource(service: "alpha", extra: 0))
        let truncated = Array(good.dropLast(3))
        var span = OTLPSpan()
        span.traceID = Data((0..<16).map { UInt8($0 + 1) })
        span.spanID = Data((0..<8).map { UInt8($0 + 1) })
        let spans = lenField(2, lenField(2, serialize(span)))
        let bytes = lenField(1, lenField(1, truncated) + spans)
        let plain = #expect(throws: SpanDecodingError.self) { try decodeProto(bytes) }
        let cached = #expect(throws: SpanDecodingError.self) { try Self.decodeCached(bytes, ResourceCache()) }
        #expect(plain?.description == cached?.description)
    }
}
