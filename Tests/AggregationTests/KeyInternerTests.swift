import Aggregation
import Testing
import TestSupport

@Suite("key interner")
struct KeyInternerTests {
    /// Values a shard sees: a pool of repeated ones (so that slots are hit, and, with more values than
    /// slots, overwritten and collided), some invalid UTF-8, NULs, over-long values and near-misses that
    /// differ from a pooled value in one byte.
    static func value(_ rng: inout SplitMix64, pool: [[UInt8]]) -> [UInt8] {
        switch rng.below(10) {
        case 0..<6:
            return pool[Int(rng.below(UInt64(pool.count)))]
        case 6:
            var v = pool[Int(rng.below(UInt64(pool.count)))]
            v[Int(rng.below(UInt64(v.count)))] ^= UInt8(1 + rng.below(255))
            return v
        case 7:
            return (0..<Int(rng.below(40))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 8:
            return [UInt8](repeating: UInt8(ascii: "x"), count: 200 + Int(rng.below(200)))
        default:
            var v = Array("session-with-a-nul-".utf8)
            v.append(0)
            v += Array("-inside".utf8)
            return v
        }
    }

    @Test("every key is exactly BoundedText.key of the bytes, whatever was stored before; repeats are hits")
    func sameAsBoundedText() {
        for seed in UInt64(1)...8 {
            var rng = SplitMix64(seed: seed)
            let pool: [[UInt8]] = (0..<600).map { i in
                Array("sess-\(i)-\(rng.next())".utf8) + (i % 7 == 0 ? Array("é".utf8) : [])
            }
            let interner = KeyInterner()
            for _ in 0..<20_000 {
                let v = Self.value(&rng, pool: pool)
                let got = v.withUnsafeBytes { interner.key($0) }
                let want = v.withUnsafeBytes { BoundedText.key($0) }
                #expect(got == want, "seed \(seed): \(v)")
                if got != want { return }
            }
            #expect(interner.hits > 0 && interner.hits < interner.lookups)
        }
    }

    @Test("short values (Swift's inline strings) and empty ones bypass the slots")
    func shortValuesBypass() {
        let interner = KeyInterner()
        for v in ["", "a", "fifteen-bytes!!"] {
            let got = Array(v.utf8).withUnsafeBytes { interner.key($0) }
            #expect(got == v)
        }
        #expect(interner.lookups == 0)
    }
}
