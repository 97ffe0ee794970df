// swift-tools-version: 6.1
// traceledger benchmarks (ordo-one/benchmark), kept out of the root package so that a normal build
// does not fetch or compile the benchmark tooling. Run: scripts/bench-decode.sh (decode only) or
// scripts/bench-guard.sh (every benchmark, checked against the stored thresholds in Thresholds/).
import PackageDescription

let package = Package(
    name: "traceledger-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "traceledger", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "DecodeBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SpanDecoding", package: "traceledger"),
                .product(name: "TraceContext", package: "traceledger"),
                .product(name: "OTLPProto", package: "traceledger"),
                .product(name: "Pricing", package: "traceledger"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/DecodeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Pricing alone and the fold (RecordProcessor.process into an epoch delta) on LoadGen records.
        .executableTarget(
            name: "PipelineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SpanDecoding", package: "traceledger"),
                .product(name: "Pricing", package: "traceledger"),
                .product(name: "Aggregation", package: "traceledger"),
                .product(name: "LoadGen", package: "traceledger"),
            ],
            path: "Benchmarks/PipelineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // COPY encoding (BinaryCopyEncoder's field-level API only).
        .executableTarget(
            name: "CopyBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Ledger", package: "traceledger"),
            ],
            path: "Benchmarks/CopyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
