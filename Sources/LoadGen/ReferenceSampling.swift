internal import Foundation

/// LoadGen's own reading of the OpenTelemetry sampling threshold (`ot=th:<hex>` in `tracestate`), written
/// independently of the worker's TraceContext code so that `verify` checks `transactions.sampled_spans`
/// against a second computation.
///
/// Guarantees: the adjusted count `2^56 / (2^56 − T)` (T = the 1–14 hex digits right-padded to 14) is
/// rounded half to even to millionths of a span, capped at 2^32 spans; 1 span (10^6 micro) when the
/// header has no valid `ot=th`. Only the shapes the generator emits need to be read, but any
/// well-formed `ot` member is.
public enum ReferenceSampling {
    /// The adjusted count of a span under `traceState` in micro-spans (10^6 = one span).
    public static func micro(traceState: String) -> Int64 {
        guard let t = threshold(traceState) else { return 1_000_000 }
        let two56 = Int128(1) << 56
        let denominator = two56 - Int128(t)
        let micro = Exact.divideHalfEven(1_000_000 * two56, by: denominator)
        return Int64(min(micro, 1_000_000 * (Int128(1) << 32)))
    }

    /// T, or nil when there is no valid `th` in an `ot` member.
    static func threshold(_ traceState: String) -> UInt64? {
        for member in traceState.split(separator: ",") {
            let m = member.trimmingCharacters(in: [" ", "\t"])
            guard m.hasPrefix("ot=") else { continue }
            for sub in m.dropFirst(3).split(separator: ";") where sub.hasPrefix("th:") {
                let digits = sub.dropFirst(3)
                guard (1...14).contains(digits.count),
                    digits.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }),
                    let v = UInt64(digits, radix: 16)
                else { return nil }
                return v << (4 * UInt64(14 - digits.count))
            }
            return nil
        }
        return nil
    }

    /// `micro` as the ledger's `numeric(38,6)` prints it (`2.000000`).
    public static func text(micro: Int64) -> String {
        let frac = String(micro % 1_000_000)
        return "\(micro / 1_000_000)." + String(repeating: "0", count: 6 - frac.count) + frac
    }
}
