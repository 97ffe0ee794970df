import DurationUnits
public import Foundation
public import Kafka
public import LoadGen

/// What to send: how many spans of which shape, how much poison, how fast.
public struct LoadPlan: Sendable {
    public var spans: Int
    public var shape: TrafficConfiguration.Shape
    public var poisonFraction: Double
    public var seed: UInt64
    public var topic: String
    /// Spans per second; nil = as fast as possible.
    public var spansPerSecond: Int?
    /// Enables `too_large` poison records bigger than this (must match the worker's `records.max_bytes`).
    public var tooLargeLimitBytes: Int?
    /// Share of spans with an upstream `cost.usd` (some of them credits: negative costs); nil = the
    /// generator's default. 0 makes every cost non-negative.
    public var upstreamCostFraction: Double?

    public init(
        spans: Int, shape: TrafficConfiguration.Shape = .collector, poisonFraction: Double = 0.01, seed: UInt64 = 42,
        topic: String = "otlp_spans", spansPerSecond: Int? = nil, tooLargeLimitBytes: Int? = nil,
        upstreamCostFraction: Double? = nil
    ) {
        self.spans = spans
        self.shape = shape
        self.poisonFraction = poisonFraction
        self.seed = seed
        self.topic = topic
        self.spansPerSecond = spansPerSecond
        self.tooLargeLimitBytes = tooLargeLimitBytes
        self.upstreamCostFraction = upstreamCostFraction
    }
}

/// Drives `LoadGen.TrafficGenerator` into Kafka: generates records in chunks, produces them (key,
/// value, headers, record timestamp), and returns the manifest of what it sent, computed by LoadGen's
/// independent reference pricer. Bounded memory: one chunk of records at a time.
public struct LoadProducer: Sendable {
    public let producer: KafkaProducer
    public let catalogURL: URL
    public let plan: LoadPlan

    public init(producer: KafkaProducer, catalogURL: URL, plan: LoadPlan) {
        self.producer = producer
        self.catalogURL = catalogURL
        self.plan = plan
    }

    /// Producer properties that suit load generation: lz4 batches, a little linger.
    public static let producerProperties: [String: String] = [
        "compression.codec": "lz4", "linger.ms": "5", "batch.num.messages": "10000",
        "queue.buffering.max.messages": "200000", "message.max.bytes": "104857600",
    ]

    /// Sends the plan. `pace(recordsProduced)` is called between chunks and may block to keep the
    /// consumer close behind (the mock cluster keeps only ~5 MiB per partition); returning false stops
    /// the load early. Returns the manifest of what was sent and how many records were produced.
    public func run(
        recordTimeNanos: UInt64 = UInt64(Date().timeIntervalSince1970 * 1e9),
        pace: (_ recordsProduced: Int) -> Bool = { _ in true }
    ) throws -> (manifest: Manifest, records: Int) {
        let catalog = try ReferenceCatalog(contentsOf: catalogURL)
        var config = TrafficConfiguration(seed: plan.seed, shape: plan.shape, recordTimeNanos: recordTimeNanos)
        config.poisonFraction = plan.poisonFraction
        config.tooLargeLimitBytes = plan.tooLargeLimitBytes
        if let f = plan.upstreamCostFraction { config.upstreamCostFraction = f }
        var generator = try TrafficGenerator(configuration: config, pricer: ReferencePricer(catalog: catalog))
        let start = ContinuousClock.now
        var produced = 0
        while generator.spansGenerated < plan.spans {
            let records = try generator.generate(traces: 200)
            for r in records {
                try producer.produce(
                    topic: plan.topic, key: r.key, value: r.value, headers: r.headers.map { ($0.name, $0.value) },
                    timestampMilliseconds: r.timestampMilliseconds)
            }
            produced += records.count
            if !pace(produced) { break }
            if let rate = plan.spansPerSecond, rate > 0 {
                let due = Duration.seconds(Double(generator.spansGenerated) / Double(rate))
                let elapsed = ContinuousClock.now - start
                if due > elapsed { Thread.sleep(forTimeInterval: (due - elapsed).inSeconds) }
            }
        }
        try producer.flush(timeout: .seconds(120))
        return (generator.manifest, produced)
    }
}
