/// The one seeded random number generator of the tests: SplitMix64 (Steele, Lea & Flood 2014).
///
/// Guarantees: the same seed gives the same sequence on every platform, toolchain and run (no stdlib
/// algorithm in between), so a failure reproduces from the seed it prints. `init(seed:)` starts the
/// state at the seed itself, which is what every former copy of this generator did: sequences that
/// tests were written against are unchanged.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `next() % n` (n > 0): slightly biased for large n, but fixed per seed, which is what tests need.
    public mutating func below(_ n: UInt64) -> UInt64 { next() % n }
}
