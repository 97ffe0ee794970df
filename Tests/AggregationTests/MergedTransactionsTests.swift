import Aggregation
import Testing
import TraceContext
import TestSupport

@Suite("merging the transactions rows of several slices")
struct MergedTransactionsTests {
    static let month: Month = {
        guard let month = Month(checkedYear: 2026, month: 11) else { preconditionFailure("valid month") }
        return month
    }()

    /// `count` slices whose rows draw their traces from a pool of `traces` (so keys repeat across slices),
    /// with random sums, times and names (a root row names its trace and service; any row may carry an
    /// environment or a session).
    static func randomSlices(seed: UInt64, count: Int, rows: Int, traces: UInt64) -> [EpochDelta] {
        var rng = SplitMix64(seed: seed)
        func name(_ prefix: String, _ n: UInt64) -> String? { n == 0 ? nil : "\(prefix)\(n)" }
        return (0..<count).map { _ in
            var slice = EpochDelta()
            for _ in 0..<rows {
                let key = TransactionKey(month: month, traceID: TraceID(high: 7, low: rng.below(traces)))
                var d = TransactionDelta()
                if rng.below(4) == 0 {
                    d.transaction = "root\(rng.below(3))"
                    d.service = name("svc", rng.below(3))
                }
                d.environment = name("env", rng.below(3))
                d.sessionID = name("s", rng.below(2))
                d.costNanoUSD = Int64(rng.below(1 << 40)) - (1 << 39)
                d.computeNanoUSD = Int64(rng.below(1000))
                d.serverlessNanoUSD = Int64(rng.below(1000))
                d.llmNanoUSD = Int64(rng.below(1000))
                d.spanCount = Int64(rng.below(5) + 1)
                d.errorCount = Int64(rng.below(2))
                d.unpricedCount = Int64(rng.below(2))
                d.inputTokens = Int64(rng.below(10_000))
                d.outputTokens = Int64(rng.below(10_000))
                d.sampledSpansMicro = Int64(rng.below(5_000_000))
                d.firstStartUnixNanos = rng.below(1_000_000)
                d.lastEndUnixNanos = d.firstStartUnixNanos + rng.below(1_000_000)
                // A slice holds one row per key (it is a dictionary); a repeat within a slice replaces.
                slice.transactions[key] = d
            }
            return slice
        }
    }

    @Test("each key appears once, its sums the Int128 sums of its rows, its root and names as the upsert keeps them")
    func mergeMatchesAnIndependentSum() throws {
        for seed in UInt64(1)...20 {
            let slices = Self.randomSlices(seed: seed, count: Int(seed % 4) + 2, rows: 300, traces: 400)
            let merged = try #require(EpochDelta.mergedTransactions(of: slices))
            // The oracle: every row of every slice, in slice order, summed in Int128.
            var rowsByKey: [TransactionKey: [TransactionDelta]] = [:]
            for slice in slices {
                for (key, d) in slice.transactions { rowsByKey[key, default: []].append(d) }
            }
            #expect(Set(merged.keys) == Set(rowsByKey.keys), "seed \(seed)")
            for (key, rows) in rowsByKey {
                let m = try #require(merged[key])
                #expect(Int128(m.costNanoUSD) == rows.reduce(Int128(0)) { $0 + Int128($1.costNanoUSD) }, "seed \(seed)")
                #expect(m.computeNanoUSD == rows.reduce(0) { $0 + $1.computeNanoUSD })
                #expect(m.llmNanoUSD == rows.reduce(0) { $0 + $1.llmNanoUSD })
                #expect(m.serverlessNanoUSD == rows.reduce(0) { $0 + $1.serverlessNanoUSD })
                #expect(m.spanCount == rows.reduce(0) { $0 + $1.spanCount })
                #expect(m.errorCount == rows.reduce(0) { $0 + $1.errorCount })
                #expect(m.unpricedCount == rows.reduce(0) { $0 + $1.unpricedCount })
                #expect(m.inputTokens == rows.reduce(0) { $0 + $1.inputTokens })
                #expect(m.outputTokens == rows.reduce(0) { $0 + $1.outputTokens })
                #expect(m.sampledSpansMicro == rows.reduce(0) { $0 + $1.sampledSpansMicro })
                #expect(m.firstStartUnixNanos == rows.map(\.firstStartUnixNanos).min())
                #expect(m.lastEndUnixNanos == rows.map(\.lastEndUnixNanos).max())
                // The first root wins; its service and environment win when it has them; else the first
                // non-null in slice order (what `ON CONFLICT DO UPDATE` keeps, one slice after another).
                let root = rows.first { $0.transaction != nil }
                #expect(m.transaction == root?.transaction)
                #expect(m.service == root?.service ?? rows.lazy.compactMap(\.service).first)
                #expect(m.environment == root?.environment ?? rows.lazy.compactMap(\.environment).first)
                #expect(m.sessionID == rows.lazy.compactMap(\.sessionID).first)
            }
        }
    }

    @Test("one slice comes back as it is; no slice gives no rows")
    func oneOrNoSlice() throws {
        let slices = Self.randomSlices(seed: 99, count: 1, rows: 50, traces: 1000)
        #expect(try #require(EpochDelta.mergedTransactions(of: slices)) == slices[0].transactions)
        #expect(try #require(EpochDelta.mergedTransactions(of: [])).isEmpty)
        #expect(try #require(EpochDelta.mergedTransactions(of: [EpochDelta(), EpochDelta()])).isEmpty)
    }

    @Test("a key whose sum would pass Int64 in any column gives nil (the ledger adds such rows in numeric), without trapping")
    func overflowGivesNil() {
        let key = TransactionKey(month: Self.month, traceID: TraceID(high: 1, low: 2))
        let columns: [WritableKeyPath<TransactionDelta, Int64>] = [
            \.costNanoUSD, \.computeNanoUSD, \.serverlessNanoUSD, \.llmNanoUSD, \.spanCount, \.errorCount,
            \.unpricedCount, \.inputTokens, \.outputTokens, \.sampledSpansMicro,
        ]
        for column in columns {
            for extreme in [Int64.max, Int64.min] {
                var a = EpochDelta()
                var b = EpochDelta()
                var d = TransactionDelta()
                d[keyPath: column] = extreme
                a.transactions[key] = d
                b.transactions[key] = d
                #expect(EpochDelta.mergedTransactions(of: [a, b]) == nil, "\(column) \(extreme)")
                // Other keys alone never overflow.
                var c = EpochDelta()
                c.transactions[TransactionKey(month: Self.month, traceID: TraceID(high: 3, low: 4))] = d
                #expect(EpochDelta.mergedTransactions(of: [a, c])?.count == 2)
            }
        }
    }
}
