// Pricing alone and the shard's per-record work (decode + price + fold into an epoch delta), on records
// made by LoadGen's `TrafficGenerator` (the records `traceledger loadgen` produces; seeded, no poison,
// fixed record time), with the real catalog (config/pricing.yaml). `kspans_per_s` is per iteration on
// the benchmark thread (one core). Thresholds: Benchmarks/Thresholds (scripts/bench-guard.sh).
//
// Kept small on purpose: the fold benchmark touches the epoch types only through `foldRecords` below
// (`RecordProcessor.process(_:into:)` and a fresh `EpochDelta()`), so a rename there is a one-line change.

import Aggregation
import Benchmark
import Foundation
import LoadGen
import Pricing
import SpanDecoding

/// The record bytes of one traffic shape, copied into memory that is never freed (so the spans decoded
/// once for the pricing benchmark may keep pointing into it).
struct Corpus: @unchecked Sendable {
    var values: [UnsafeRawBufferPointer] = []
    var traceparents: [UnsafeRawBufferPointer?] = []
    var timestampsMillis: [Int64] = []
    var spans = 0
    var bytes = 0

    init(
        shape: TrafficConfiguration.Shape, spans target: Int, catalog: URL, sdkSpansPerRecordMax: Int = 8,
        encoding: RecordEncoding = .protobuf
    ) {
        var c = TrafficConfiguration(seed: 7, shape: shape, recordTimeNanos: 1_767_225_600_000_000_000)
        c.poisonFraction = 0
        c.sdkSpansPerRecordMax = sdkSpansPerRecordMax
        var generator: TrafficGenerator
        do {
            generator = try TrafficGenerator(configuration: c, pricer: ReferencePricer(catalog: ReferenceCatalog(contentsOf: catalog)))
        } catch {
            fatalError("TrafficGenerator: \(error)")
        }
        func pinned(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            p.copyBytes(from: bytes)
            return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(p)[0..<bytes.count])
        }
        while generator.spansGenerated < target {
            for generated in (try? generator.generate(traces: 1)) ?? [] {
                let r = generated.encoded(as: encoding)
                values.append(pinned(r.value))
                traceparents.append(r.headers.first { $0.name == "traceparent" }.map { pinned($0.value) })
                timestampsMillis.append(r.timestampMilliseconds)
                bytes += r.value.count
            }
        }
        spans = generator.spansGenerated
    }
}

/// The one place that names the epoch types (see the header).
func foldRecords(_ corpus: Corpus, _ processor: inout RecordProcessor) -> Int {
    var delta = EpochDelta()
    var spans = 0
    for i in corpus.values.indices {
        let view = RecordView(
            topic: "otlp_spans", partition: Int32(i & 15), offset: Int64(i), timestampUnixMillis: corpus.timestampsMillis[i],
            value: corpus.values[i], isJSON: false, traceparent: corpus.traceparents[i])
        if case .counted(let n) = processor.process(view, into: &delta) { spans += n }
    }
    blackHole(delta)
    return spans
}

/// Holds a benchmark's mutable state across iterations (benchmarks run on one thread).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

let kspansPerSecond = BenchmarkMetric.custom("kspans_per_s", polarity: .prefersLarger, useScalingFactor: false)

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

/// config/pricing.yaml of this repository (TRACELEDGER_PRICING overrides).
func catalogURL() -> URL {
    if let p = ProcessInfo.processInfo.environment["TRACELEDGER_PRICING"] { return URL(fileURLWithPath: p) }
    var url = URL(fileURLWithPath: #filePath)  // <root>/Benchmarks/Benchmarks/PipelineBenchmarks/PipelineBenchmarks.swift
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("config/pricing.yaml")
}

/// Tolerances for `swift package benchmark thresholds check` (scripts/bench-guard.sh): wide on time and
/// throughput (a shared, noisy 2-core machine), tight on allocations: ±5 %, or ±16 when a benchmark
/// allocates only a few dozen times an iteration (where ±5 % would be ±1).
func guardThresholds(fewMallocs: Bool = false) -> [BenchmarkMetric: BenchmarkThresholds] {
    [
        .wallClock: .init(relative: [.p90: 60]),
        .throughput: .init(relative: [.p90: 35]),
        .mallocCountTotal: fewMallocs ? .init(absolute: [.p90: 16]) : .init(relative: [.p90: 5]),
        kspansPerSecond: .init(relative: [.p90: 35]),
    ]
}

let benchmarks: @Sendable () -> Void = {
    let url = catalogURL()
    let catalog: PriceCatalog
    do {
        catalog = try PriceCatalog.load(path: url.path)
    } catch {
        fatalError("cannot load the price catalog: \(error)")
    }
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, kspansPerSecond],
        maxDuration: .seconds(3), maxIterations: 1_000, thresholds: guardThresholds())

    // Pricing alone: the spans of a collector-shaped load, decoded once (outside timing), priced by one
    // `SpanPricer` (its model-name cache kept across iterations, as a shard's is).
    let collector = Corpus(shape: .collector, spans: 10_000, catalog: url)
    var decoded: [DecodedSpan] = []
    for v in collector.values {
        try? OTLPProtobufReader.forEachSpan(in: v) { decoded.append(copy $0) }
    }
    let spans = Box(decoded)
    print("price corpus: \(decoded.count) spans; fold corpora: collector \(collector.values.count) records")
    let pricer = Box(SpanPricer(catalog: catalog))
    let few = Benchmark.Configuration(thresholds: guardThresholds(fewMallocs: true))
    Benchmark("price:_SpanPricer,_10k_collector_spans", configuration: few) { benchmark in
        let clock = ContinuousClock()
        let start = clock.now
        var total: Int64 = 0
        for s in spans.value { total &+= pricer.value.price(s).total.value }
        benchmark.measurement(kspansPerSecond, Int(Double(spans.value.count) / seconds(start.duration(to: clock.now)) / 1000))
        blackHole(total)
    }

    // Fold: `RecordProcessor.process` (decode + validate + price + fold) of every record into a fresh
    // epoch delta, per shape: collector (one trace a record) and collector-split (issue #12 shape b).
    // sdk: 1-3 spans a record, each record with its service's whole resource (issue #12 shape c).
    let sdk = Corpus(shape: .sdk, spans: 10_000, catalog: url, sdkSpansPerRecordMax: 3)
    for (name, corpus) in [
        ("collector", collector), ("collector-split", Corpus(shape: .collectorSplit, spans: 10_000, catalog: url)), ("sdk", sdk),
    ] {
        let processor = Box(RecordProcessor(pricer: SpanPricer(catalog: catalog), limits: RecordLimits()))
        Benchmark("fold:_RecordProcessor.process,_10k_\(name)_spans") { benchmark in
            let clock = ContinuousClock()
            let start = clock.now
            let n = foldRecords(corpus, &processor.value)
            benchmark.measurement(kspansPerSecond, Int(Double(n) / seconds(start.duration(to: clock.now)) / 1000))
            precondition(n == corpus.spans, "fold lost spans: \(n) of \(corpus.spans)")
        }
    }

    // Decode alone on the sdk corpus, without and with the resource cache (`ResourceCache`: a record
    // repeating a recent resource does not decode it again).
    let cache = Box(ResourceCache())
    do {
        let probe = ResourceCache()
        for v in sdk.values { try? OTLPProtobufReader.forEachSpan(in: v, cache: probe) { _ in } }
        print("sdk corpus: \(sdk.values.count) records, \(sdk.spans) spans, resource cache \(probe.hits) hits of \(probe.lookups)")
    }
    for (name, cached) in [("zero-copy", false), ("zero-copy_+_resource_cache", true)] {
        Benchmark("decode:_\(name),_10k_sdk_spans") { benchmark in
            let clock = ContinuousClock()
            let start = clock.now
            var n = 0
            for v in sdk.values {
                if cached {
                    try? OTLPProtobufReader.forEachSpan(in: v, cache: cache.value) { _ in n += 1 }
                } else {
                    try? OTLPProtobufReader.forEachSpan(in: v) { _ in n += 1 }
                }
            }
            benchmark.measurement(kspansPerSecond, Int(Double(n) / seconds(start.duration(to: clock.now)) / 1000))
            precondition(n == sdk.spans, "decode lost spans: \(n) of \(sdk.spans)")
        }
    }

    // Decode alone of the collector shape as OTLP/JSON (issue #12's JSON row): the same spans as the
    // collector corpus, re-written by loadgen's OTLP/JSON writer.
    let json = Corpus(shape: .collector, spans: 10_000, catalog: url, encoding: .json)
    print("json corpus: \(json.values.count) records, \(json.spans) spans, \(json.bytes) bytes")
    Benchmark("decode:_OTLPJSONReader,_10k_collector_spans", configuration: few) { benchmark in
        let clock = ContinuousClock()
        let start = clock.now
        var n = 0
        let scratch = JSONScratch()
        var spans: [DecodedSpan] = []
        spans.reserveCapacity(1024)
        for v in json.values {
            spans.removeAll(keepingCapacity: true)
            try? OTLPJSONReader.appendSpans(in: v, scratch: scratch, to: &spans)
            n += spans.count
        }
        benchmark.measurement(kspansPerSecond, Int(Double(n) / seconds(start.duration(to: clock.now)) / 1000))
        precondition(n == json.spans, "decode lost spans: \(n) of \(json.spans)")
    }
}
