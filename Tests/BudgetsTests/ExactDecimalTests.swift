import Budgets
import Foundation
import PropertyBased
import Testing

@Suite("exact decimal amounts")
struct ExactDecimalTests {
    @Test("known texts convert to the exact nano count")
    func knownTexts() {
        #expect(ExactDecimal.billionths("15.00") == 15_000_000_000)
        #expect(ExactDecimal.billionths("0.1") == 100_000_000)
        #expect(ExactDecimal.billionths("0.000000001") == 1)
        #expect(ExactDecimal.billionths("1000000000") == 1_000_000_000_000_000_000)
        #expect(ExactDecimal.billionths("007.5") == 7_500_000_000)
        for bad in ["", ".", "1.", ".5", "+1", "-1", "1e3", "1.0000000001", "1 ", " 1", "1,5", "0x10", "1000000001", "NaN", "１"] {
            #expect(ExactDecimal.billionths(bad) == nil, "\(bad.debugDescription) must be refused")
        }
    }

    @Test("any decimal text of at most 9 decimals converts to what Foundation's Decimal computes × 10⁹")
    func matchesIndependentDecimal() async {
        await propertyCheck(count: 500, input: Gen.int64(in: 0...1_000_000_000_000_000_000), Gen.int(in: 0...9)) { nano, dropped in
            // Text built independently of the parser: the integer's digits with a point 9 places from the
            // right, then up to `dropped` trailing fractional zeros removed only when they are zeros.
            var digits = String(nano)
            if digits.count < 10 { digits = String(repeating: "0", count: 10 - digits.count) + digits }
            var text = String(digits.dropLast(9)) + "." + String(digits.suffix(9))
            for _ in 0..<dropped where text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            let parsed = ExactDecimal.billionths(text)
            #expect(parsed == nano, "\(text)")
            let oracle = (Decimal(string: text) ?? .nan) * Decimal(1_000_000_000)
            #expect(parsed.map { Decimal($0) } == oracle, "\(text)")
            #expect(ExactDecimal.text(billionths: Int128(nano)) == String(digits.dropLast(9)) + "." + String(digits.suffix(9)))
        }
    }

    @Test("numeric sums as PostgreSQL prints them read exactly, saturating past Int128")
    func integers() {
        #expect(ExactDecimal.integer("0") == 0)
        #expect(ExactDecimal.integer("-42") == -42)
        #expect(ExactDecimal.integer("123456789012345678901234567890") == Int128("123456789012345678901234567890"))
        #expect(ExactDecimal.integer(String(repeating: "9", count: 60)) == Int128.max)
        #expect(ExactDecimal.integer("-" + String(repeating: "9", count: 60)) == Int128.min)
        #expect(ExactDecimal.integer("1.5") == nil)
        #expect(ExactDecimal.integer("") == nil)
    }
}
