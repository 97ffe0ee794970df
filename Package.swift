// swift-tools-version: 6.2
// traceledger: Kafka OpenTelemetry spans → exact cost ledger in PostgreSQL.
// Module map and dependency order: docs/architecture.md (Sources/ mirrors it).
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "traceledger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "traceledger", targets: ["traceledger"]),
        .library(name: "TraceContext", targets: ["TraceContext"]),
        .library(name: "SpanDecoding", targets: ["SpanDecoding"]),
        .library(name: "OTLPProto", targets: ["OTLPProto"]),
        .library(name: "Pricing", targets: ["Pricing"]),
        .library(name: "Aggregation", targets: ["Aggregation"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "LoadGen", targets: ["LoadGen"]),
        .library(name: "Telemetry", targets: ["Telemetry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // C fences: module maps only. Only Kafka imports CRdKafka, only Ledger CLibPQ.
        .systemLibrary(
            name: "CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        // glibc's <malloc.h> (mallopt): part of the worker's memory bound, see Pipeline/MallocTuning.swift.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // No I/O: parsing, decoding, pricing.
        .target(name: "DurationUnits", swiftSettings: strict),
        // Named dedicated threads (the OS name too).
        .target(name: "DedicatedThread", swiftSettings: strict),
        .target(name: "TraceContext", swiftSettings: strict),
        .target(name: "SpanDecoding", dependencies: ["TraceContext"], swiftSettings: strict),
        // swift-protobuf generated OTLP types (generated once, committed): the decoder's oracle and the
        // load generator's encoder.
        .target(
            name: "OTLPProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["proto"],
            swiftSettings: [.swiftLanguageMode(.v6)]),
        .target(
            name: "Pricing",
            dependencies: ["SpanDecoding", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .target(
            name: "Aggregation",
            dependencies: ["TraceContext", "SpanDecoding", "Pricing"],
            swiftSettings: strict),

        // I/O wrappers.
        .target(
            name: "Kafka",
            dependencies: ["CRdKafka", "DedicatedThread", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(
            name: "Ledger",
            dependencies: ["CLibPQ", "Aggregation", "DedicatedThread", "DurationUnits", "TraceContext", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),

        // The process's metrics registry and its exposition (Prometheus text / OpenMetrics).
        .target(
            name: "Telemetry",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),

        // Wiring.
        .target(
            name: "Pipeline",
            dependencies: [
                "Aggregation", "DedicatedThread", "DurationUnits", "Kafka", "Ledger", "Pricing", "SpanDecoding", "TraceContext", "Telemetry",
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict),
        .target(
            name: "Budgets",
            dependencies: [
                "DurationUnits", "Ledger",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .target(
            name: "HTTPServer",
            dependencies: [
                "Ledger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .target(
            name: "LoadGen",
            dependencies: [
                "OTLPProto", "TraceContext",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict),
        // Load, verify and the one-machine `dev` run: LoadGen driven into Kafka, the ledger read back.
        .target(
            name: "DevHarness",
            dependencies: [
                "DedicatedThread", "DurationUnits", "LoadGen", "Kafka", "Ledger", "Pipeline", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "traceledger",
            dependencies: [
                "Aggregation", "DedicatedThread", "DurationUnits", "Kafka", "Ledger", "Pricing", "Pipeline", "LoadGen", "DevHarness", "Budgets", "HTTPServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),

        // Tests (swift-testing). Unit tests do no network; Kafka/Ledger/Integration tests use a real
        // PostgreSQL (DATABASE_URL, started by scripts/test.sh) and librdkafka's mock cluster.
        // TestSupport: what more than one test target needs (the seeded RNG, the test database and
        // scratch schemas, child processes and waits, the mock-cluster + ledger scenario). Not a test
        // target: test targets depend on it.
        .target(
            name: "TestSupport",
            dependencies: [
                "Aggregation", "DevHarness", "Kafka", "Ledger", "LoadGen", "Pipeline", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"),
        .testTarget(
            name: "TraceContextTests",
            dependencies: [
                "TraceContext",
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "SpanDecodingTests",
            dependencies: [
                "SpanDecoding", "TraceContext", "OTLPProto", "Aggregation", "Pricing", "TestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "PricingTests",
            dependencies: [
                "Pricing", "SpanDecoding", "OTLPProto", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "AggregationTests", dependencies: ["Aggregation", "Pricing", "SpanDecoding", "TraceContext", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Aggregation", "Telemetry", "TraceContext", "TestSupport"]),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "Aggregation", "TraceContext", "TestSupport"]),
        .testTarget(
            name: "TelemetryTests",
            dependencies: [
                "Telemetry",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "DevHarness", "LoadGen", "Kafka", "Ledger", "Pipeline", "OTLPProto", "HTTPServer", "TestSupport", "Aggregation",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                "Budgets", .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "LoadGenTests",
            dependencies: [
                "LoadGen", "OTLPProto", "TraceContext",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .testTarget(
            name: "BudgetsTests",
            dependencies: [
                "Budgets",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        // Static checks of docker/ and deploy/ (no container engine here): compose, Collector, Prometheus,
        // Kubernetes and the Grafana dashboard agree with the configuration keys, ports and metric names.
        .testTarget(
            name: "DeployTests",
            dependencies: ["Pipeline", "TestSupport", .product(name: "Yams", package: "Yams")]),
    ]
)
