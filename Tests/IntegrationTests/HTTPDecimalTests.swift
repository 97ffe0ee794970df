import Foundation
import HTTPServer
import PropertyBased
import Testing

/// The API's exact USD text ↔ nano-USD conversion and its window parameter (no network).
@Suite("HTTP API: USD decimals and windows")
struct HTTPDecimalTests {
    @Test("format(nanoUSD:) equals an independent printf rendering for any Int64, and parse inverts it for non-negative amounts")
    func formatMatchesIndependentAndRoundTrips() async {
        await propertyCheck(count: 500, input: Gen.int64(in: Int64.min + 1...Int64.max)) { n in
            let text = USDDecimal.format(nanoUSD: Int128(n))
            #expect(text == independentUSD(n))
            if n >= 0, Int128(n) <= USDDecimal.maxAcceptedNanoUSD {
                #expect((try? USDDecimal.parse(text)) == Int128(n))
            }
        }
    }

    @Test("parse of whole.fraction with 0...9 decimals (trailing zeros trimmed or not) is whole×1e9 + fraction scaled")
    func parseMatchesIndependentComputation() async {
        await propertyCheck(
            count: 500, input: Gen.uint64(in: 0...999_999_999_999), Gen.uint64(in: 0...999_999_999), Gen.int(in: 0...9)
        ) { whole, fraction, decimals in
            // Keep only `decimals` leading digits of the 9-digit fraction.
            let nine = String(format: "%09llu", fraction)
            let kept = String(nine.prefix(decimals))
            let text = decimals == 0 ? "\(whole)" : "\(whole).\(kept)"
            var expected = Int128(whole) * 1_000_000_000
            if decimals > 0, let k = Int128(kept) {
                var scale: Int128 = 1
                for _ in decimals..<9 { scale *= 10 }
                expected += k * scale
            }
            #expect((try? USDDecimal.parse(text)) == expected, "\(text)")
        }
    }

    @Test("parse refuses signs, exponents, 10 decimals, spaces, empty parts and amounts over 1e12 USD")
    func parseRefusesWhatIsNotAPlainAmount() throws {
        for bad in [
            "", "-1", "+1", "1e3", "0.0000000001", " 1", "1 ", ".5", "5.", "1.2.3", "0x10", "NaN", "inf", "1,5",
            "1000000000000.000000001", "99999999999999999999999999999999999999",
        ] {
            #expect(throws: USDDecimal.ParseError.self, "\(bad)") { try USDDecimal.parse(bad) }
        }
        #expect(try USDDecimal.parse("1000000000000") == USDDecimal.maxAcceptedNanoUSD)
        #expect(try USDDecimal.parse("0.000000001") == 1)
        #expect(try USDDecimal.parse("007.50") == 7_500_000_000)
    }

    @Test("format(nanoUSD:) is exact beyond Int64 (Int128 sums)")
    func formatBeyondInt64() {
        let big = Int128(Int64.max) * 1_000_000_000 + 7
        #expect(USDDecimal.format(nanoUSD: big) == "9223372036854775807.000000007")
        #expect(USDDecimal.format(nanoUSD: -big) == "-9223372036854775807.000000007")
        #expect(USDDecimal.format(nanoUSD: 0) == "0.000000000")
    }

    @Test("window: Nm/Nh/Nd from 1 minute to 31 days, hours rounded up; anything else refused")
    func windowParsing() throws {
        #expect(try APIWindow(parsing: "24h").hours == 24)
        #expect(try APIWindow(parsing: "24h").minutes == 1440)
        #expect(try APIWindow(parsing: "90m").hours == 2)
        #expect(try APIWindow(parsing: "1m").hours == 1)
        #expect(try APIWindow(parsing: "31d").hours == 744)
        #expect(try APIWindow(parsing: "744h").minutes == APIWindow.maxMinutes)
        #expect(try APIWindow(parsing: "007h").text == "7h")
        for bad in ["", "h", "0h", "0m", "32d", "745h", "44641m", "24", "24H", "-1h", "1.5h", "1w", " 24h", "9999999d"] {
            #expect(throws: APIWindow.ParseError.self, "\(bad)") { try APIWindow(parsing: bad) }
        }
    }
}
