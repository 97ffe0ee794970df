import Aggregation
import Foundation
import OTLPProto
import Pricing
import SpanDecoding
import SwiftProtobuf
import Testing
import TestSupport

/// The decoder, the pricer and the fold together, on random and mutated records whose numeric
/// attributes take extreme values (token counts near Int64.max, `cost.usd` at ±1e9, NaN, durations of
/// centuries, Kafka timestamps anywhere): no input may trap, every record is counted or rejected whole,
/// and the delta's invariants hold.
///
/// Default: `TRACELEDGER_FUZZ_ITERATIONS` (20 000) inputs from `TRACELEDGER_FUZZ_SEED`. The long run:
/// `TRACELEDGER_FUZZ_ITERATIONS=10000000 scripts/test.sh --filter DecodeFoldFuzz` (in release:
/// `swift test -c release --filter DecodeFoldFuzz` with the same variable).
@Suite struct DecodeFoldFuzzTests {
    static let catalog: PriceCatalog? = try? PriceCatalog.load(path: shippedPricingFile.path)

    static func extremeInt<R: RandomNumberGenerator>(_ rng: inout R) -> Int64 {
        [Int64.max, .max - 1, .min, .min + 1, -1, 0, 1, 5_000_000_000_000_000_000, 1 << 62, 999_999_999_999]
            .randomElement(using: &rng)!
    }

    /// A request whose pricing-relevant attributes are extreme, as protobuf or (with `json`) as
    /// OTLP/JSON with random key order and escapes, then (half the time) mutated bytes.
    static func hostileRecord<R: RandomNumberGenerator>(_ rng: inout R, now: UInt64, json: Bool) -> [UInt8] {
        let req = hostileRequest(&rng, now: now)
        let bytes = json ? OTLPJSONEmitter.emit(req, rng: SplitMix64(seed: rng.next())) : serialize(req)
        return rng.chance(0.5) ? FuzzTests.mutate(bytes, &rng) : bytes
    }

    /// A request whose pricing-relevant attributes are extreme.
    static func hostileRequest<R: RandomNumberGenerator>(_ rng: inout R, now: UInt64) -> OTLPExportTraceServiceRequest {
        var req = RequestGen.request(&rng, resources: 1...2, spans: 1...6, attributes: 0...6)
        let models = ["gpt-4o-mini", "claude-3-5-sonnet-20241022", "gpt-4o", "no-such-model"]
        for r in req.resourceSpans.indices {
            if rng.chance(0.5) { req.resourceSpans[r].resource.attributes.append(attr("host.type", "m5.large")) }
            if rng.chance(0.3) {
                req.resourceSpans[r].resource.attributes.append(attr("cloud.platform", "aws_lambda"))
                req.resourceSpans[r].resource.attributes.append(attr("faas.max_memory", int: extremeInt(&rng)))
            }
            for s in req.resourceSpans[r].scopeSpans.indices {
                for i in req.resourceSpans[r].scopeSpans[s].spans.indices {
                    var span = req.resourceSpans[r].scopeSpans[s].spans[i]
                    // Most spans inside the record-time window, some anywhere.
                    if rng.chance(0.8) {
                        span.startTimeUnixNano = now &- UInt64(rng.int(0...1_000_000_000))
                        span.endTimeUnixNano = rng.chance(0.2) ? .max : span.startTimeUnixNano &+ UInt64(rng.int(0...10_000_000_000))
                    }
                    var attrs = span.attributes
                    attrs.append(attr("gen_ai.request.model", models.randomElement(using: &rng)!))
                    for key in ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
                                "gen_ai.usage.cache_creation.input_tokens", "agent.depth"] where rng.chance(0.6) {
                        attrs.append(attr(key, int: extremeInt(&rng)))
                    }
                    switch rng.int(0...5) {
                    case 0: attrs.append(attr("cost.usd", int: rng.chance(0.5) ? 1_000_000_000 : -1_000_000_000))
                    case 1: attrs.append(attr("cost.usd", double: [.nan, .infinity, 1e9, -1e9, 1e300, Double.leastNonzeroMagnitude].randomElement(using: &rng)!))
                    case 2: attrs.append(attr("cost.usd", ["999999999.999999999", "-1e9", "1e-400", "x"].randomElement(using: &rng)!))
                    default: break
                    }
                    if rng.chance(0.3) { attrs.append(attr("session.id", String(repeating: "s\u{0}é", count: rng.int(0...400)))) }
                    span.attributes = attrs
                    req.resourceSpans[r].scopeSpans[s].spans[i] = span
                }
            }
        }
        return req
    }

    @Test("decode + price + fold never trap on mutated records with extreme values; every record is counted or rejected whole")
    func decodeFoldNeverTraps() throws {
        let catalog = try #require(Self.catalog)
        var rng = SplitMix64(seed: FuzzTests.seed ^ 0xF01D)
        var processor = RecordProcessor(pricer: SpanPricer(catalog: catalog), limits: RecordLimits())
        let nowMillis: Int64 = 1_795_000_000_000
        var delta = EpochDelta()
        var counted = 0
        var rejected = 0
        for n in 0..<FuzzTests.iterations {
            let json = n % 40 == 39  // one in 40 as OTLP/JSON (its writer is slow in debug builds)
            let value = Self.hostileRecord(&rng, now: UInt64(nowMillis) * 1_000_000, json: json)
            let stamp = rng.chance(0.9) ? nowMillis : Self.extremeInt(&rng)
            let before = delta.counters
            let outcome = value.withUnsafeBytes { bytes in
                processor.process(
                    RecordView(topic: "t", partition: 0, offset: Int64(n), timestampUnixMillis: stamp, value: bytes, isJSON: json),
                    into: &delta)
            }
            switch outcome {
            case .counted(let spans):
                counted += 1
                let excluded = delta.counters.spansExcluded.values.reduce(0, +) - before.spansExcluded.values.reduce(0, +)
                #expect(Int64(spans) == delta.counters.spansCounted - before.spansCounted + excluded, "iteration \(n)")
            case .rejected:
                rejected += 1
                #expect(delta.counters.spansCounted == before.spansCounted, "a rejected record folds nothing (iteration \(n))")
            }
            // Start a new epoch now and then, as the pipeline does.
            if n % 500 == 499 {
                #expect(delta.invariantViolations().isEmpty, "seed \(FuzzTests.seed) iteration \(n): \(delta.invariantViolations())")
                delta = EpochDelta()
            }
        }
        #expect(delta.invariantViolations().isEmpty)
        #expect(counted > 0 && rejected > 0, "the corpus exercises both outcomes (\(counted) counted, \(rejected) rejected)")
    }

    /// The two readers are independent implementations of one format each; on the same requests (extreme
    /// values, strings with NUL and non-ASCII bytes, JSON with random key order and escapes) they must
    /// fold to the same rows. The rows hold strings read after the decode, so this also checks that
    /// what the spans point at outlives the decode.
    @Test("the same hostile requests as protobuf and as OTLP/JSON fold to the same rows")
    func protobufAndJSONFoldAlike() throws {
        let catalog = try #require(Self.catalog)
        var rng = SplitMix64(seed: FuzzTests.seed ^ 0x150A)
        var viaProto = RecordProcessor(pricer: SpanPricer(catalog: catalog), limits: RecordLimits())
        var viaJSON = RecordProcessor(pricer: SpanPricer(catalog: catalog), limits: RecordLimits())
        let nowMillis: Int64 = 1_795_000_000_000
        var proto = EpochDelta(), json = EpochDelta()
        var counted = 0
        func process(_ p: inout RecordProcessor, _ value: [UInt8], isJSON: Bool, _ n: Int, _ d: inout EpochDelta) -> RecordOutcome {
            value.withUnsafeBytes { bytes in
                p.process(
                    RecordView(topic: "t", partition: 0, offset: Int64(n), timestampUnixMillis: nowMillis, value: bytes, isJSON: isJSON),
                    into: &d)
            }
        }
        for n in 0..<max(200, FuzzTests.iterations / 40) {
            let req = Self.hostileRequest(&rng, now: UInt64(nowMillis) * 1_000_000)
            let a = process(&viaProto, serialize(req), isJSON: false, n, &proto)
            let b = process(&viaJSON, OTLPJSONEmitter.emit(req, rng: SplitMix64(seed: rng.next())), isJSON: true, n, &json)
            #expect(a == b, "iteration \(n)")
            if case .counted = a { counted += 1 }
            if n % 100 == 99 {
                #expect(proto.transactions == json.transactions, "iteration \(n)")
                #expect(proto.traceHours == json.traceHours, "iteration \(n)")
                #expect(proto.sessions == json.sessions, "iteration \(n)")
                #expect(proto.models == json.models, "iteration \(n)")
                #expect(proto.counters == json.counters, "iteration \(n)")
                proto = EpochDelta()
                json = EpochDelta()
            }
        }
        #expect(counted > 0)
    }
}

private func attr(_ key: String, _ value: String) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = key
    kv.value.stringValue = value
    return kv
}

private func attr(_ key: String, int value: Int64) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = key
    kv.value.intValue = value
    return kv
}

private func attr(_ key: String, double value: Double) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = key
    kv.value.doubleValue = value
    return kv
}
