// Decode throughput on the SAME bytes: the zero-copy OTLP reader vs swift-protobuf's generated types
// (parse + walk the spans, reading the same fields), and the zero-copy reader followed by pricing every
// span with the real catalog (config/pricing.yaml, one `SpanPricer`). One iteration decodes a corpus of
// exactly `spansPerIteration` spans in records of 50–200 spans, 10–20 attributes per span, 12–14
// resource attributes (see `makeCorpus`). `kspans_per_s` is measured per iteration on the benchmark
// thread (one core).

import Benchmark
import Foundation
import OTLPProto
import Pricing
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

func kv(_ k: String, double d: Double) -> OTLPKeyValue {
    var kv = OTLPKeyValue()
    kv.key = k
    kv.value.doubleValue = d
    return kv
}

/// Compute resources: (host.type, cloud.region), all host types in config/pricing.yaml; the regions
/// include ones with an override there (eu-west-1, eu-central-1, ap-northeast-1) and ones without.
let computeHosts: [(String, String)] = [
    ("m5.large", "eu-west-1"), ("m5.large", "us-east-1"), ("m5.large", "ap-northeast-1"),
    ("m5.xlarge", "eu-central-1"), ("m5.2xlarge", "eu-west-1"), ("m6i.large", "eu-west-1"),
    ("m6i.xlarge", "us-east-1"), ("c5.large", "eu-west-1"), ("c6i.xlarge", "us-east-1"),
    ("c6i.2xlarge", "eu-west-1"), ("r5.large", "us-east-1"), ("t3.medium", "eu-west-1"),
    ("g5.xlarge", "us-east-1"),
]
/// Lambda memory sizes (faas.max_memory is in bytes).
let lambdaMemory: [Int64] = [128 << 20, 512 << 20, 1024 << 20, 1769 << 20, 3008 << 20]
/// (gen_ai.system, gen_ai.request.model, gen_ai.response.model): every pair matches a glob of
/// config/pricing.yaml (first-match-wins cases included: gpt-4o-mini vs gpt-4o, gpt-4o-2024-05-13,
/// o3 dated entries), except the last, which is unpriced (no glob).
let llmModels: [(String, String, String)] = [
    ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("openai", "gpt-4o", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
    ("openai", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
    ("openai", "o3", "o3-2025-04-16"),
    ("openai", "o4-mini", "o4-mini-2025-04-16"),
    ("anthropic", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022"),
    ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-haiku-4-5", "claude-haiku-4-5-20251001"),
    ("anthropic", "claude-opus-4-1", "claude-opus-4-1-20250805"),
    ("gcp.gemini", "gemini-2.5-flash", "gemini-2.5-flash"),
    ("gcp.gemini", "gemini-2.0-flash", "gemini-2.0-flash-001"),
    ("openai", "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"),
]

/// The corpus: records (serialized `ExportTraceServiceRequest`, one resource each) summing to
/// `spansPerIteration` spans, realistic for pricing:
/// - resources: ~70% EC2 (`host.type` + `cloud.region` from the catalog), ~25% AWS Lambda
///   (`cloud.platform=aws_lambda`, `faas.max_memory` bytes), ~5% `staging` (excluded); 12–14 attributes;
/// - spans: one SERVER root per record (entry span: compute or Lambda time), then nested INTERNAL/CLIENT
///   spans whose parent is an earlier span of the record; ~1/3 are LLM calls (models matching catalog
///   globs, input/output tokens, cache-read tokens, Anthropic cache-write tokens, a few with the
///   deprecated prompt/completion names), ~4% of those carry an upstream `cost.usd` double;
/// - 10–20 attributes per span (pricing-relevant ones first, then ordinary instrumentation attributes).
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
    let services = ["checkout", "cart", "search", "agent-runner", "recommender", "billing"]
    var records: [[UInt8]] = []
    for n in sizes {
        var req = OTLPExportTraceServiceRequest()
        var rs = OTLPResourceSpans()
        let svc = services.randomElement(using: &rng)!
        let roll = rng.next() % 100
        let environment = roll < 5 ? "staging" : "production"
        var res: [OTLPKeyValue] = [
            kv("service.name", svc), kv("service.version", "1.4.2"), kv("service.namespace", "shop"),
            kv("deployment.environment.name", environment), kv("cloud.provider", "aws"),
            kv("telemetry.sdk.name", "opentelemetry"), kv("telemetry.sdk.language", "python"),
            kv("telemetry.sdk.version", "1.27.0"), kv("process.pid", Int64.random(in: 1...65535, using: &rng)),
        ]
        if roll < 75 {
            let (host, region) = computeHosts.randomElement(using: &rng)!
            res += [kv("host.type", host), kv("cloud.region", region), kv("cloud.platform", "aws_ec2"),
                    kv("host.name", "ip-10-0-\(rng.next() % 256)-\(rng.next() % 256).\(region).compute.internal"),
                    kv("host.arch", "amd64")]
        } else {
            let region = ["us-east-1", "eu-west-1"].randomElement(using: &rng)!
            res += [kv("cloud.platform", "aws_lambda"), kv("cloud.region", region),
                    kv("faas.max_memory", lambdaMemory.randomElement(using: &rng)!),
                    kv("faas.name", "\(svc)-handler"), kv("faas.version", "$LATEST")]
        }
        rs.resource.attributes = res
        var ss = OTLPScopeSpans()
        ss.scope.name = "opentelemetry.instrumentation.fastapi"
        ss.scope.version = "0.48b0"
        let traceID = Data((0..<16).map { _ in UInt8.random(in: 1...255, using: &rng) })
        var spanIDs: [Data] = []
        let rootStart = 1_767_225_600_000_000_000 + UInt64.random(in: 0...86_400_000_000_000, using: &rng)
        for i in 0..<n {
            var s = OTLPSpan()
            s.traceID = traceID
            s.spanID = Data((0..<8).map { _ in UInt8.random(in: 1...255, using: &rng) })
            if i > 0 { s.parentSpanID = spanIDs[Int.random(in: max(0, i - 8)..<i, using: &rng)] }
            spanIDs.append(s.spanID)
            s.flags = 0x101
            var attrs: [OTLPKeyValue]
            if i == 0 {
                s.name = "POST /api/\(svc)"
                s.kind = .server
                s.startTimeUnixNano = rootStart
                s.endTimeUnixNano = rootStart + UInt64.random(in: 5_000_000...30_000_000_000, using: &rng)
                attrs = [
                    kv("http.request.method", "POST"), kv("url.scheme", "https"), kv("url.path", "/api/\(svc)"),
                    kv("http.route", "/api/\(svc)"), kv("http.response.status_code", 200),
                    kv("server.address", "api.example.com"), kv("server.port", 443),
                    kv("network.protocol.version", "1.1"), kv("client.address", "10.0.\(rng.next() % 256).\(rng.next() % 256)"),
                    kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
                    kv("session.id", "sess-\(rng.next() % 1000)"), kv("enduser.id", "user-\(rng.next() % 100_000)"),
                ]
            } else {
                s.startTimeUnixNano = rootStart + UInt64(i) * 1_000_000
                s.endTimeUnixNano = s.startTimeUnixNano + UInt64.random(in: 1_000...900_000_000, using: &rng)
                if rng.next() % 3 == 0 {
                    let (system, request, response) = llmModels.randomElement(using: &rng)!
                    s.name = "chat \(request)"
                    s.kind = .client
                    let input = Int64.random(in: 10...20_000, using: &rng)
                    let legacy = rng.next() % 10 == 0
                    attrs = [
                        kv("gen_ai.system", system), kv("gen_ai.operation.name", "chat"),
                        kv("gen_ai.request.model", request), kv("gen_ai.response.model", response),
                        kv(legacy ? "gen_ai.usage.prompt_tokens" : "gen_ai.usage.input_tokens", input),
                        kv(legacy ? "gen_ai.usage.completion_tokens" : "gen_ai.usage.output_tokens",
                           Int64.random(in: 1...4_000, using: &rng)),
                        kv("gen_ai.usage.cache_read.input_tokens", Int64.random(in: 0...input, using: &rng)),
                    ]
                    if system == "anthropic" {
                        attrs.append(kv("gen_ai.usage.cache_creation.input_tokens", Int64.random(in: 0...2_000, using: &rng)))
                    }
                    if rng.next() % 25 == 0 {
                        attrs.append(kv("cost.usd", double: Double(Int64.random(in: 1...250_000, using: &rng)) / 1e6))
                    }
                    attrs += [
                        kv("gen_ai.request.temperature", double: 0.2), kv("gen_ai.request.max_tokens", 4096),
                        kv("gen_ai.response.finish_reasons", "stop"), kv("gen_ai.response.id", "resp_\(rng.next() % 1_000_000_000)"),
                        kv("server.address", system == "anthropic" ? "api.anthropic.com" : "api.openai.com"),
                        kv("server.port", 443), kv("agent.depth", Int64.random(in: 0...5, using: &rng)),
                        kv("session.id", "sess-\(rng.next() % 1000)"), kv("code.function", "call_model"),
                        kv("code.namespace", "app.agents.\(svc)"), kv("thread.id", Int64(i % 16)),
                        kv("http.request.method", "POST"), kv("http.response.status_code", 200),
                    ]
                } else if rng.next() % 2 == 0 {
                    s.name = ["SELECT orders", "INSERT order_items", "UPDATE carts"].randomElement(using: &rng)!
                    s.kind = .client
                    attrs = [
                        kv("db.system", "postgresql"), kv("db.namespace", "shop"),
                        kv("db.query.text", "SELECT id, total, currency FROM orders WHERE customer_id = $1 LIMIT 50"),
                        kv("db.operation.name", "SELECT"), kv("db.collection.name", "orders"),
                        kv("server.address", "orders-db.internal"), kv("server.port", 5432),
                        kv("network.peer.address", "10.0.7.12"), kv("db.response.returned_rows", Int64(rng.next() % 50)),
                        kv("code.function", "fetch_orders"), kv("code.namespace", "app.repo.\(svc)"),
                        kv("code.lineno", Int64(rng.next() % 900)), kv("thread.id", Int64(i % 16)),
                        kv("thread.name", "worker-\(i % 16)"), kv("session.id", "sess-\(rng.next() % 1000)"),
                        kv("db.client.connection.pool.name", "primary"), kv("net.transport", "ip_tcp"),
                        kv("otel.scope.name", "psycopg"), kv("db.user", "app"), kv("retry.count", 0),
                    ]
                } else {
                    s.name = ["render", "validate cart", "redis GET", "GET"].randomElement(using: &rng)!
                    s.kind = rng.next() % 2 == 0 ? .internal : .client
                    attrs = [
                        kv("code.function", "handle"), kv("code.namespace", "app.handlers.\(svc)"),
                        kv("code.filepath", "/srv/app/handlers/\(svc).py"), kv("code.lineno", Int64(rng.next() % 900)),
                        kv("thread.id", Int64(i % 16)), kv("thread.name", "worker-\(i % 16)"),
                        kv("session.id", "sess-\(rng.next() % 1000)"), kv("http.request.method", "GET"),
                        kv("url.full", "https://inventory.internal/v1/items?id=\(i)"), kv("http.response.status_code", 200),
                        kv("server.address", "inventory.internal"), kv("server.port", 8080),
                        kv("network.protocol.version", "1.1"), kv("user_agent.original", "python-requests/2.32.3"),
                        kv("cache.hit", Int64(rng.next() % 2)), kv("feature_flag.key", "new-pricing-ui"),
                        kv("feature_flag.variant", "on"), kv("app.tenant", "tenant-\(rng.next() % 40)"),
                        kv("app.items.count", Int64(rng.next() % 30)), kv("retry.count", 0),
                    ]
                }
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

/// What the decoders extract, folded into a checksum so nothing is optimized away.
struct Sink {
    var spans = 0
    var acc: UInt64 = 0
    /// decode+price: the sum of `SpanCost.total` (nano-USD).
    var nanoUSD: Int64 = 0
    mutating func add(_ v: UInt64) { acc = acc &* 31 &+ v }
}

/// What runs on each decoded span after the common field reads: nothing, or pricing.
protocol SpanWork {
    mutating func process(_ span: borrowing DecodedSpan, _ sink: inout Sink)
}

struct DecodeOnly: SpanWork {
    @inline(__always)
    mutating func process(_ span: borrowing DecodedSpan, _ sink: inout Sink) {}
}

/// decode+price: one pricer (as one shard has), its model-name cache kept across iterations.
struct PriceEachSpan: SpanWork {
    var pricer: SpanPricer
    @inline(__always)
    mutating func process(_ span: borrowing DecodedSpan, _ sink: inout Sink) {
        let cost = pricer.price(span)
        sink.nanoUSD &+= cost.total.value
        sink.add(UInt64(bitPattern: cost.total.value) &+ UInt64(cost.outcome.rawValue))
    }
}

func decodeZeroCopy<W: SpanWork>(_ records: [[UInt8]], _ sink: inout Sink, _ work: inout W) {
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
                    work.process(s, &sink)
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

/// config/pricing.yaml of this repository (TRACELEDGER_PRICING overrides).
func catalogPath() -> String {
    if let p = ProcessInfo.processInfo.environment["TRACELEDGER_PRICING"] { return p }
    var url = URL(fileURLWithPath: #filePath)  // <root>/Benchmarks/Benchmarks/DecodeBenchmarks/DecodeBenchmarks.swift
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("config/pricing.yaml").path
}

/// Holds the decode+price benchmark's pricer across iterations (benchmarks run on one thread).
final class PricerBox: @unchecked Sendable {
    var work: PriceEachSpan
    init(_ catalog: PriceCatalog) { work = PriceEachSpan(pricer: SpanPricer(catalog: catalog)) }
}

let benchmarks: @Sendable () -> Void = {
    let corpus = makeCorpus()
    let bytes = corpus.reduce(0) { $0 + $1.count }
    print("corpus: \(corpus.count) records, \(spansPerIteration) spans, \(bytes) bytes per iteration")
    let catalog: PriceCatalog
    do {
        catalog = try PriceCatalog.load(path: catalogPath())
    } catch {
        fatalError("cannot load the price catalog: \(error)")
    }
    // What the corpus looks like to the pricer (uncached `PriceCatalog.price`, once, outside timing).
    var outcomes: [PricingOutcome: Int] = [:]
    var components = (compute: 0, serverless: 0, llm: 0)
    var totalNano: Int64 = 0
    var attributeCounts: [Int] = []
    for r in corpus {
        r.withUnsafeBytes { raw in
            try? OTLPProtobufReader.forEachSpan(in: raw) { s in
                let c = catalog.price(s)
                outcomes[c.outcome, default: 0] += 1
                if c.compute.value > 0 { components.compute += 1 }
                if c.serverless.value > 0 { components.serverless += 1 }
                if c.llm.value > 0 { components.llm += 1 }
                totalNano += c.total.value
            }
        }
        if let req = try? OTLPExportTraceServiceRequest(serializedBytes: r) {
            for s in req.resourceSpans[0].scopeSpans[0].spans { attributeCounts.append(s.attributes.count) }
        }
    }
    print("catalog: \(catalog.sourceName) (\(catalog.compute.count) compute, \(catalog.serverless.count) serverless, \(catalog.llm.count) llm)")
    print("spans: attributes per span \(attributeCounts.min()!)...\(attributeCounts.max()!), mean "
        + String(format: "%.1f", Double(attributeCounts.reduce(0, +)) / Double(attributeCounts.count)))
    print("pricing outcomes: priced \(outcomes[.priced] ?? 0), upstream \(outcomes[.upstream] ?? 0), "
        + "unpriced \(outcomes[.unpriced] ?? 0), excluded \(outcomes[.excluded] ?? 0); spans with compute>0 "
        + "\(components.compute), serverless>0 \(components.serverless), llm>0 \(components.llm); "
        + "total \(NanoUSD(totalNano)) USD per iteration")

    // Tolerances for the stored thresholds (scripts/bench-guard.sh): wide on time (a shared, noisy 2-core
    // machine), tight on allocations.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, kspansPerSecond],
        maxDuration: .seconds(5), maxIterations: 1_000,
        thresholds: [
            .wallClock: .init(relative: [.p90: 60]),
            .throughput: .init(relative: [.p90: 35]),
            .mallocCountTotal: .init(relative: [.p90: 5]),
            kspansPerSecond: .init(relative: [.p90: 35]),
        ])

    func run(_ benchmark: Benchmark, _ decode: ([[UInt8]], inout Sink) -> Void) -> Sink {
        var sink = Sink()
        let clock = ContinuousClock()
        let start = clock.now
        decode(corpus, &sink)
        let elapsed = start.duration(to: clock.now)
        precondition(sink.spans == spansPerIteration, "decoder lost spans")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        benchmark.measurement(kspansPerSecond, Int(Double(spansPerIteration) / seconds / 1000))
        blackHole(sink.acc)
        return sink
    }

    Benchmark("decode_10k_spans:_zero-copy_OTLPProtobufReader") { benchmark in
        var work = DecodeOnly()
        _ = run(benchmark) { decodeZeroCopy($0, &$1, &work) }
    }
    Benchmark("decode_10k_spans:_swift-protobuf_parse_+_walk") { benchmark in
        _ = run(benchmark, decodeSwiftProtobuf)
    }
    let box = PricerBox(catalog)
    let expectedNanoUSD = totalNano
    Benchmark("decode+price_(zero-copy)_10k_spans:_OTLPProtobufReader_+_SpanPricer") { benchmark in
        let sink = run(benchmark) { decodeZeroCopy($0, &$1, &box.work) }
        precondition(sink.nanoUSD == expectedNanoUSD, "SpanPricer disagrees with PriceCatalog.price")
    }
}
