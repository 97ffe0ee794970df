import DedicatedThread
import DurationUnits
public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Ledger
import LoadGen
import Synchronization

/// The HTTP API measurements of `scripts/bench-api.sh`, run while a worker (started by `LocalRun`) and an
/// HTTP server (started by the caller at `baseURL`) are up:
/// (a) freshness: produce time of a record → its session visible through `GET /v1/sessions/{id}`, under a
///     background load at `backgroundRate` spans/s;
/// (b) `GET /v1/transactions/{id}` latency while the worker ingests at full speed;
/// (c) full-speed ingest rate without and with ~`apiRate` requests/s against the API.
///
/// Bounded: every phase has a span count and a deadline; the HTTP client keeps at most `concurrency`
/// requests in flight. Producing runs on its own threads (librdkafka blocks), never the cooperative pool.
public struct APIBench: Sendable {
    public struct Settings: Sendable {
        public var bootstrapServers: String
        public var topic: String
        public var group: String
        public var schema: String
        public var conninfo: String
        public var baseURL: String
        public var catalogURL: URL
        /// Trace ids known to the ledger (for `GET /v1/transactions/{id}`).
        public var traceIDs: [String]
        public var sessionIDs: [String]
        /// The worker's max ingest rate measured before (spans/s).
        public var maxRate: Double
        public var freshnessSeconds = 30
        public var fullSpeedSpans = 200_000
        public var apiRate = 1000
        public var concurrency = 16
        public init(
            bootstrapServers: String, topic: String, group: String, schema: String, conninfo: String, baseURL: String,
            catalogURL: URL, traceIDs: [String], sessionIDs: [String], maxRate: Double
        ) {
            self.bootstrapServers = bootstrapServers
            self.topic = topic
            self.group = group
            self.schema = schema
            self.conninfo = conninfo
            self.baseURL = baseURL
            self.catalogURL = catalogURL
            self.traceIDs = traceIDs
            self.sessionIDs = sessionIDs
            self.maxRate = maxRate
        }
    }

    public struct Latencies: Sendable {
        public var samplesMs: [Double]
        public var errors: Int
        public func percentile(_ p: Double) -> Double {
            guard !samplesMs.isEmpty else { return .nan }
            let sorted = samplesMs.sorted()
            let index = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
            return sorted[index]
        }
    }

    public struct Report: Sendable {
        public var backgroundRate: Double
        public var freshness: Latencies
        public var transactionsDuringIngest: Latencies
        public var ingestWithoutAPI: Double
        public var ingestWithAPI: Double
        public var apiRequestsPerSecond: Double
        public var apiLatencies: Latencies
    }

    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        let s = settings
        progress("ingest \(s.fullSpeedSpans) spans at full speed without API load (the worker's max rate) …")
        let (_, without, _) = try await ingest(spans: s.fullSpeedSpans, seed: 1003, apiRate: nil, queryTransactions: false)
        let background = max(100, min(s.maxRate, without) / 2)
        progress("freshness at \(Int(background)) spans/s background for \(s.freshnessSeconds) s …")
        let freshness = try await measureFreshness(backgroundRate: Int(background), seed: 1001)
        progress("GET /v1/transactions/{id} while ingesting \(s.fullSpeedSpans) spans at full speed …")
        let (txLatencies, _, _) = try await ingest(spans: s.fullSpeedSpans, seed: 1002, apiRate: nil)
        progress("ingest with ~\(s.apiRate) API requests/s …")
        let (apiLatencies, with, achieved) = try await ingest(spans: s.fullSpeedSpans, seed: 1004, apiRate: s.apiRate)
        return Report(
            backgroundRate: background, freshness: freshness, transactionsDuringIngest: txLatencies,
            ingestWithoutAPI: without, ingestWithAPI: with, apiRequestsPerSecond: achieved, apiLatencies: apiLatencies)
    }

    // MARK: phases

    /// Markers (one span with its own session id) produced one after another under a paced background load.
    func measureFreshness(backgroundRate: Int, seed: UInt64) async throws -> Latencies {
        let s = settings
        let stop = StopFlag()
        let load = startLoad(spans: backgroundRate * (s.freshnessSeconds + 5), rate: backgroundRate, seed: seed, stop: stop)
        let markers = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: s.bootstrapServers, properties: ["linger.ms": "0", "message.max.bytes": "104857600"]),
            logger: .init(label: "bench.markers"))
        let deadline = ContinuousClock.now + .seconds(s.freshnessSeconds)
        let run = UInt32.random(in: 0...UInt32.max)
        // A few marker streams at once (more samples per second; each polls every 20 ms).
        let all = try await withThrowingTaskGroup(of: Latencies.self) { group in
            for stream in 0..<Self.freshnessStreams {
                group.addTask {
                    var out = Latencies(samplesMs: [], errors: 0)
                    var n = stream
                    while ContinuousClock.now < deadline {
                        n += Self.freshnessStreams
                        let session = "bench-fresh-\(run)-\(n)"
                        let started = ContinuousClock.now
                        try self.produceMarker(markers, session: session, n: n, run: run)
                        var visible = false
                        while ContinuousClock.now - started < .seconds(15) {
                            if let r = try? await Self.get(s.baseURL + "/v1/sessions/\(session)"), r == 200 {
                                visible = true
                                break
                            }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        if visible { out.samplesMs.append((ContinuousClock.now - started).inMilliseconds) } else { out.errors += 1 }
                        try await Task.sleep(for: .milliseconds(Int64.random(in: 50...250)))
                    }
                    return out
                }
            }
            var all = Latencies(samplesMs: [], errors: 0)
            for try await part in group {
                all.samplesMs += part.samplesMs
                all.errors += part.errors
            }
            return all
        }
        stop.set()
        _ = try await load.value
        return all
    }

    static let freshnessStreams = 4


    /// Produces `spans` at full speed (kept within the mock cluster's retention by a lag gate) and returns
    /// API latencies during it, the ingest rate (spans committed per second), and the API request rate.
    func ingest(spans: Int, seed: UInt64, apiRate: Int?, queryTransactions: Bool = true) async throws -> (Latencies, Double, Double) {
        let s = settings
        let baseline = try Self.offsets(s)
        let stop = StopFlag()
        let started = ContinuousClock.now
        let load = startLoad(spans: spans, rate: nil, seed: seed, stop: stop)
        let done = StopFlag()
        async let latencies: Latencies =
            queryTransactions ? hammer(rate: apiRate, done: done) : Latencies(samplesMs: [], errors: 0)
        let records = try await load.value
        // Wait until the worker committed every record of this phase.
        let c = try PGConnection.connect(conninfo: s.conninfo)
        let reader = LedgerReader(schema: try SchemaName(s.schema))
        let timeout = ContinuousClock.now + .seconds(600)
        while try reader.offsetsTotal(group: s.group, on: c) < baseline + Int64(records), ContinuousClock.now < timeout {
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = ContinuousClock.now - started
        done.set()
        let l = await latencies
        let seconds = (elapsed).inMilliseconds / 1000
        return (l, Double(spans) / seconds, Double(l.samplesMs.count + l.errors) / seconds)
    }

    /// GETs of known transactions and sessions until `done`: as fast as `concurrency` clients go, or paced
    /// to `rate` requests/s in all.
    func hammer(rate: Int?, done: StopFlag) async -> Latencies {
        let s = settings
        let clients = max(1, s.concurrency)
        let perClientInterval: Duration? = rate.map { .nanoseconds(Int64(1e9) * Int64(clients) / Int64(max(1, $0))) }
        let ids = s.traceIDs.isEmpty ? ["00000000000000000000000000000001"] : s.traceIDs
        let stopFlag = done
        return await withTaskGroup(of: Latencies.self) { group in
            for k in 0..<clients {
                group.addTask {
                    var out = Latencies(samplesMs: [], errors: 0)
                    var i = k
                    var next = ContinuousClock.now
                    while !stopFlag.isDone {
                        let url = s.baseURL + "/v1/transactions/\(ids[i % ids.count])"
                        i += clients
                        let t0 = ContinuousClock.now
                        if let status = try? await Self.get(url), status == 200 {
                            out.samplesMs.append((ContinuousClock.now - t0).inMilliseconds)
                        } else {
                            out.errors += 1
                        }
                        if let interval = perClientInterval {
                            next = next + interval
                            // A slow answer is made up by the next requests (no sleep while behind);
                            // only a client a whole second behind its schedule starts afresh.
                            let now = ContinuousClock.now
                            if next > now { try? await Task.sleep(until: next) } else if now - next > .seconds(1) { next = now }
                        }
                    }
                    return out
                }
            }
            var all = Latencies(samplesMs: [], errors: 0)
            for await part in group {
                all.samplesMs += part.samplesMs
                all.errors += part.errors
            }
            return all
        }
    }

    // MARK: helpers

    /// A `LoadProducer` on its own thread; a lag gate keeps it within ~4000 records of the worker.
    func startLoad(spans: Int, rate: Int?, seed: UInt64, stop: StopFlag) -> Task<Int, any Error> {
        let s = settings
        let stopFlag = stop
        return Task {
            try await Self.onThread {
                let producer = try KafkaProducer(
                    configuration: KafkaProducerConfiguration(
                        bootstrapServers: s.bootstrapServers, properties: LoadProducer.producerProperties),
                    logger: .init(label: "bench.load"))
                let plan = LoadPlan(spans: spans, poisonFraction: 0, seed: seed, topic: s.topic, spansPerSecond: rate)
                let c = try PGConnection.connect(conninfo: s.conninfo)
                let reader = LedgerReader(schema: try SchemaName(s.schema))
                let baseline = try reader.offsetsTotal(group: s.group, on: c)
                let (_, records) = try LoadProducer(producer: producer, catalogURL: s.catalogURL, plan: plan).run { produced in
                    while !stopFlag.isDone {
                        let committed = (try? reader.offsetsTotal(group: s.group, on: c)) ?? baseline
                        if Int64(produced) - (committed - baseline) <= 4_000 { break }
                        Thread.sleep(forTimeInterval: 0.005)
                    }
                    return !stopFlag.isDone
                }
                try producer.flush(timeout: .seconds(60))
                return records
            }
        }
    }

    func produceMarker(_ producer: KafkaProducer, session: String, n: Int, run: UInt32) throws {
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        let trace = String(format: "b0b0%08x%020x", run, n)
        let span = String(format: "%016x", n + 1)
        let json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bench"}}]},\
            "scopeSpans":[{"spans":[{"traceId":"\(trace)","spanId":"\(span)","name":"bench.fresh","kind":2,\
            "startTimeUnixNano":"\(now - 1_000_000)","endTimeUnixNano":"\(now)","attributes":[\
            {"key":"session.id","value":{"stringValue":"\(session)"}},\
            {"key":"cost.usd","value":{"stringValue":"0.000000001"}}]}]}]}]}
            """
        try producer.produce(
            topic: settings.topic, key: nil, value: Array(json.utf8),
            headers: [(name: "content-type", value: Array("application/json".utf8))],
            timestampMilliseconds: Int64(now / 1_000_000))
        try producer.flush(timeout: .seconds(10))
    }

    static func offsets(_ s: Settings) throws -> Int64 {
        let c = try PGConnection.connect(conninfo: s.conninfo)
        return try LedgerReader(schema: try SchemaName(s.schema)).offsetsTotal(group: s.group, on: c)
    }


    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 30
        c.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: c)
    }()

    /// The status of a GET.
    static func get(_ url: String) async throws -> Int {
        guard let u = URL(string: url) else { throw LocalRun.Failure(description: "bad URL \(url)") }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            session.dataTask(with: u) { _, response, error in
                if let error { continuation.resume(throwing: error) } else {
                    continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode ?? 0)
                }
            }.resume()
        }
    }

    /// Runs blocking work on a new thread (librdkafka and libpq block; the cooperative pool must not).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            DedicatedThread.start(name: "tl.api-bench") {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}

/// A stop flag shared by the bench's threads and tasks.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isDone: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
