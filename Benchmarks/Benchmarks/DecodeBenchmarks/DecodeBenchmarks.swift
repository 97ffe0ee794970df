// Decode throughput on the SAME bytes: the zero-copy OTLP reader vs swift-protobuf's generated types
// (parse + walk the spans, reading the same fields). One iteration decodes a corpus of exactly
// `spansPerIteration` spans in records of 50–200 spans, 10–20 attributes per span, ~12 resource
// attributes. `kspans_per_s` is measured per iteration on the benchmark thread (one core).
//
// Hook for decode + price: when the Pricing module lands, add a benchmark "decode+price (zero-copy)"
// that calls the pricer inside `decodeZeroCopy`'s closure (see `priceHook`), and add
// `.product(name: "Pricing", package: "traceledger")` to Benchmarks/Package.swift.

import Benchmark
import Foundation
import OTLPProto
import SpanDecoding
import SwiftProtobuf
import TraceContext

let spansPerIteration = 10_000

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func kv(_ k: String, _ s: String) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = k
    kv.value.stringValue = s
    return kv
}

func kv(_ k: String, _ i: Int64) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = k
    kv.value.intValue = i
    return kv
}

/// The corpus: records (serialized `ExportTraceServiceRequest`) summing to `spansPerIteration` spans.
func makeCorpus() -> [[UInt8]] {
    var rng = SplitMix64(state: 42)
    var sizes: [Int] = []
    var left = spansPerIteration
    while left > 0 {
        var n = Int.random(in: 50...200, using: &rng)
        if left - n < 50 { n = left }
        sizes.append(n)
        left -= n
    }
    let models = ["gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20241022", "gpt-4o"]
    let services = ["checkout", "cart", "search", "agent-runner"]
    var records: [[UInt8]] = []
    for n in sizes {
        var req = OTLPExportTraceServiceRequest()
        var rs = OTLPResourceSpans()
        let svc = services.randomElement(using: &rng)!
        rs.resource.attributes = [
            kv("service.name", svc), kv("service.version", "1.4.2"), kv("service.namespace", "shop"),
            kv("deployment.environment.name", "production"), kv("host.type", "m5.large"),
            kv("host.name", "ip-10-0-3-17.eu-west-1.compute.internal"), kv("cloud.provider", "aws"),
            kv("cloud.region", "eu-west-1"), kv("cloud.platform", "aws_ec2"),
            kv("telemetry.sdk.name", "opentelemetry"), kv("telemetry.sdk.language", "python"),
            kv("telemetry.sdk.version", "1.27.0"), kv("process.pid", Int64.random(in: 1...65535, using: &rng)),
        ]
        var ss = OTLPScopeSpans()
        ss.scope.name = "opentelemetry.instrumentation.fastapi"
        ss.scope.version = "0.48b0"
        let traceID = Data((0..<16).map { _ in UInt8.random(in: 1...255, using: &rng) })
        for i in 0..<n {
            var s = OTLPSpan()
            s.traceID = traceID
            s.spanID = Data((0..<8).map { _ in UInt8.random(in: 1...255, using: &rng) })
            if i > 0 { s.parentSpanID = Data((0..<8).map { _ in UInt8.random(in: 1...255, using: &rng) }) }
            s.name = i == 0 ? "POST /api/\(svc)" : ["SELECT orders", "chat gpt-4o-mini", "GET", "redis GET"].randomElement(using: &rng)!
            s.kind = i == 0 ? .server : [.internal, .client].randomElement(using: &rng)!
            s.startTimeUnixNano = 1_767_225_600_000_000_000 + UInt64(i) * 1_000_000
            s.endTimeUnixNano = s.startTimeUnixNano + UInt64.random(in: 1_000...900_000_000, using: &rng)
            s.flags = 0x101
            var attrs: [OTLPKeyValue] = [
                kv("http.request.method", "POST"), kv("url.full", "https://api.example.com/v1/\(svc)/items?id=\(i)"),
                kv("http.response.status_code", 200), kv("server.address", "api.example.com"),
                kv("network.protocol.version", "1.1"), kv("user_agent.original", "python-requests/2.32.3"),
                kv("code.function", "handle_request"), kv("code.namespace", "app.handlers.\(svc)"),
                kv("thread.id", Int64(i % 16)), kv("session.id", "sess-\(i % 7)"),
            ]
            if rng.next() % 3 == 0 {
                attrs += [
                    kv("gen_ai.system", "openai"), kv("gen_ai.operation.name", "chat"),
                    kv("gen_ai.request.model", models.randomElement(using: &rng)!),
                    kv("gen_ai.response.model", models.randomElement(using: &rng)!),
                    kv("gen_ai.usage.input_tokens", Int64.random(in: 10...20_000, using: &rng)),
                    kv("gen_ai.usage.output_tokens", Int64.random(in: 1...4_000, using: &rng)),
                    kv("gen_ai.usage.cache_read.input_tokens", Int64.random(in: 0...5_000, using: &rng)),
                    kv("agent.depth", Int64.random(in: 0...5, using: &rng)),
                ]
            } else {
                attrs += [kv("db.system", "postgresql"), kv("db.statement", "SELECT * FROM orders WHERE id = $1"),
                          kv("db.name", "shop")]
            }
            s.attributes = Array(attrs.prefix(Int.random(in: 10...20, using: &rng)))
            if rng.next() % 20 == 0 { s.status.code = .error }
            ss.spans.append(s)
        }
        rs.scopeSpans = [ss]
        req.resourceSpans = [rs]
        records.append((try? req.serializedBytes()) ?? [])
    }
    return records
}

/// What both decoders extract, folded into a checksum so nothing is optimized away.
struct Sink {
    var spans = 0
    var acc: UInt64 = 0
    mutating func add(_ v: UInt64) { acc = acc &* 31 &+ v }
}

/// Where decode+price goes once Pricing lands: price `span` and add its cost to the sink.
@inline(__always)
func priceHook(_ span: borrowing DecodedSpan, _ sink: inout Sink) {}

func decodeZeroCopy(_ records: [[UInt8]], _ sink: inout Sink) {
    for r in records {
        r.withUnsafeBytes { raw in
            do {
                try OTLPProtobufReader.forEachSpan(in: raw) { s in
                    sink.spans += 1
                    sink.add(s.traceID.low ^ s.spanID.value ^ s.parentSpanID.value)
                    sink.add(UInt64(s.name.count) &+ UInt64(s.kind.rawValue) &+ UInt64(s.statusCode.rawValue))
                    sink.add(s.endTimeUnixNano &- s.startTimeUnixNano)
                    let a = s.attributes
                    sink.add(UInt64(bitPattern: (a.inputTokens ?? 0) &+ (a.outputTokens ?? 0) &+ (a.agentDepth ?? 0)))
                    sink.add(UInt64((a.serviceName?.count ?? 0) &+ (a.hostType?.count ?? 0) &+ (a.sessionID?.count ?? 0)
                        &+ (a.responseModel?.count ?? 0) &+ (a.cloudRegion?.count ?? 0)))
                    priceHook(s, &sink)
                }
            } catch {
                sink.add(0xDEAD)
            }
        }
    }
}

/// swift-protobuf: parse, then walk the spans and read the same fields (key lookup by `String` ==,
/// span first, then resource), as a consumer of the generated types would.
func decodeSwiftProtobuf(_ records: [[UInt8]], _ sink: inout Sink) {
    for r in records {
        guard let req = try? OTLPExportTraceServiceRequest(serializedBytes: r) else {
            sink.add(0xDEAD)
            continue
        }
        for rs in req.resourceSpans {
            var resService = 0, resHost = 0, resRegion = 0, resSession = 0
            for a in rs.resource.attributes {
                switch a.key {
                case "service.name": resService = a.value.stringValue.utf8.count
                case "host.type": resHost = a.value.stringValue.utf8.count
                case "cloud.region": resRegion = a.value.stringValue.utf8.count
                case "session.id": resSession = a.value.stringValue.utf8.count
                default: break
                }
            }
            for ss in rs.scopeSpans {
                for s in ss.spans {
                    sink.spans += 1
                    let tid = s.traceID.withUnsafeBytes { TraceID(bytes: $0) } ?? TraceID(high: 0, low: 0)
                    let sid = s.spanID.withUnsafeBytes { SpanID(bytes: $0) } ?? SpanID(0)
                    let pid = s.parentSpanID.withUnsafeBytes { SpanID(bytes: $0) } ?? SpanID(0)
                    sink.add(tid.low ^ sid.value ^ pid.value)
                    sink.add(UInt64(s.name.utf8.count) &+ UInt64(s.kind.rawValue) &+ UInt64(s.status.code.rawValue))
                    sink.add(s.endTimeUnixNano &- s.startTimeUnixNano)
                    var inTok: Int64 = 0, outTok: Int64 = 0, depth: Int64 = 0
                    var service = resService, host = resHost, region = resRegion, session = resSession, model = 0
                    for a in s.attributes {
                        switch a.key {
                        case "gen_ai.usage.input_tokens": inTok = a.value.intValue
                        case "gen_ai.usage.output_tokens": outTok = a.value.intValue
                        case "agent.depth": depth = a.value.intValue
                        case "service.name": service = a.value.stringValue.utf8.count
                        case "host.type": host = a.value.stringValue.utf8.count
                        case "cloud.region": region = a.value.stringValue.utf8.count
                        case "session.id": session = a.value.stringValue.utf8.count
                        case "gen_ai.response.model": model = a.value.stringValue.utf8.count
                        default: break
                        }
                    }
                    sink.add(UInt64(bitPattern: inTok &+ outTok &+ depth))
                    sink.add(UInt64(service &+ host &+ session &+ model &+ region))
                }
            }
        }
    }
}

let kspansPerSecond = BenchmarkMetric.custom("kspans_per_s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let corpus = makeCorpus()
    let bytes = corpus.reduce(0) { $0 + $1.count }
    print("corpus: \(corpus.count) records, \(spansPerIteration) spans, \(bytes) bytes per iteration")

    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, kspansPerSecond],
        maxDuration: .seconds(5), maxIterations: 1_000)

    func run(_ benchmark: Benchmark, _ decode: ([[UInt8]], inout Sink) -> Void) {
        var sink = Sink()
        let clock = ContinuousClock()
        let start = clock.now
        decode(corpus, &sink)
        let elapsed = start.duration(to: clock.now)
        precondition(sink.spans == spansPerIteration, "decoder lost spans")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        benchmark.measurement(kspansPerSecond, Int(Double(spansPerIteration) / seconds / 1000))
        blackHole(sink.acc)
    }

    Benchmark("decode 10k spans: zero-copy OTLPProtobufReader") { benchmark in
        run(benchmark, decodeZeroCopy)
    }
    Benchmark("decode 10k spans: swift-protobuf parse + walk") { benchmark in
        run(benchmark, decodeSwiftProtobuf)
    }
}
