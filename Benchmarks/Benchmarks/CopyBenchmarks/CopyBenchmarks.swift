// COPY encoding: `BinaryCopyEncoder` writing N rows of the `transactions` staging shape (18 fields:
// date, trace id, 4 texts, 9 int8, 2 timestamptz, 1 int8), the bytes `EpochWriter` streams with
// `COPY … FROM STDIN (FORMAT binary)`. Only the encoder's field-level API is used (no epoch row types),
// so the benchmark survives changes to those types; the date is written as its int4 day number.
// Thresholds: Benchmarks/Thresholds (scripts/bench-guard.sh).

import Benchmark
import Ledger

struct Row {
    var days: Int32
    var high: UInt64, low: UInt64
    var transaction: String?, service: String, environment: String, session: String?
    var ints: [Int64]
    var firstMicros: Int64, lastMicros: Int64
}

/// Rows like an epoch of the collector load: one per trace, ~70 % with a session, ~10 % without a root
/// name yet; seeded.
func makeRows(_ n: Int) -> [Row] {
    var state: UInt64 = 42
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    let services = ["checkout", "cart", "search", "agent-runner", "recommender", "billing"]
    let routes = ["POST /api/checkout", "GET /api/cart/{id}", "GET /search", "POST /v1/agents/run", "GET /recommend"]
    return (0..<n).map { _ in
        let first = 1_767_225_600_000_000 + Int64(next() % 86_400_000_000)
        return Row(
            days: 9_497, high: next(), low: next(),
            transaction: next() % 10 == 0 ? nil : routes[Int(next() % 5)], service: services[Int(next() % 6)],
            environment: "production", session: next() % 10 < 7 ? "sess-\(next() % 100_000)" : nil,
            ints: (0..<9).map { _ in Int64(next() % 5_000_000) }, firstMicros: first,
            lastMicros: first + Int64(next() % 30_000_000))
    }
}

func encode(_ rows: [Row]) -> [UInt8] {
    var e = BinaryCopyEncoder(reservingCapacity: rows.count * 200)
    for r in rows {
        e.beginRow(fieldCount: 18)
        e.appendInt4(r.days)
        e.appendBytea16(high: r.high, low: r.low)
        e.appendText(r.transaction)
        e.appendText(r.service)
        e.appendText(r.environment)
        e.appendText(r.session)
        for v in r.ints { e.appendInt8(v) }
        e.appendTimestamptz(unixMicros: r.firstMicros)
        e.appendTimestamptz(unixMicros: r.lastMicros)
        e.appendInt8(0)
    }
    return e.finish()
}

let krowsPerSecond = BenchmarkMetric.custom("krows_per_s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, krowsPerSecond],
        maxDuration: .seconds(3), maxIterations: 1_000,
        thresholds: [
            .wallClock: .init(relative: [.p90: 60]),
            .throughput: .init(relative: [.p90: 35]),
            .mallocCountTotal: .init(absolute: [.p90: 16]),  // a few a run (the output array)
            krowsPerSecond: .init(relative: [.p90: 35]),
        ])
    let rows = makeRows(20_000)
    print("copy corpus: \(rows.count) rows, \(encode(rows).count) bytes")
    Benchmark("copy:_BinaryCopyEncoder,_20k_transaction_rows") { benchmark in
        let clock = ContinuousClock()
        let start = clock.now
        let bytes = encode(rows)
        let d = start.duration(to: clock.now)
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        benchmark.measurement(krowsPerSecond, Int(Double(rows.count) / s / 1000))
        blackHole(bytes)
    }
}
