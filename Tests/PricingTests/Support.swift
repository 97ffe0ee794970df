import Pricing
import SpanDecoding
import TraceContext

/// Owns copies of strings for the `ByteView`s of test spans; frees them when it goes away. Keep it
/// alive (`withExtendedLifetime`) while the spans are used.
final class ByteArena {
    private var buffers: [UnsafeMutableRawBufferPointer] = []

    func view(_ s: String) -> ByteView {
        let utf8 = Array(s.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, utf8.count), alignment: 1)
        buffer.copyBytes(from: utf8)
        buffers.append(buffer)
        return ByteView(UnsafeRawBufferPointer(rebasing: buffer[0..<utf8.count]))
    }

    deinit { for b in buffers { b.deallocate() } }
}

var emptyView: ByteView { ByteView(UnsafeRawBufferPointer(start: nil, count: 0)) }

/// A `cost.usd` value as a test writes it.
enum TestCost: Sendable {
    case double(Double), int(Int64), string(String), bool
}

/// Attributes of a test span, as plain values (turned into `KnownAttributes` over an arena).
struct TestAttributes: Sendable {
    var host: String?
    var region: String?
    var platform: String?
    var faasMemory: Int64?
    var faas = false
    var requestModel: String?
    var responseModel: String?
    var input: Int64?
    var output: Int64?
    var cacheRead: Int64?
    var cacheWrite: Int64?
    var prompt: Int64?
    var completion: Int64?
    var env: String?
    var envLegacy: String?
    var cost: TestCost?

    func known(_ arena: ByteArena) -> KnownAttributes {
        var k = KnownAttributes()
        k.hostType = host.map(arena.view)
        k.cloudRegion = region.map(arena.view)
        k.cloudPlatform = platform.map(arena.view)
        k.faasMaxMemoryBytes = faasMemory
        k.hasFaasAttribute = faas || faasMemory != nil
        k.requestModel = requestModel.map(arena.view)
        k.responseModel = responseModel.map(arena.view)
        k.inputTokens = input
        k.outputTokens = output
        k.cacheReadInputTokens = cacheRead
        k.cacheCreationInputTokens = cacheWrite
        k.promptTokens = prompt
        k.completionTokens = completion
        k.environmentName = env.map(arena.view)
        k.environmentLegacy = envLegacy.map(arena.view)
        switch cost {
        case nil: k.costUSD = nil
        case .double(let d): k.costUSD = .double(d)
        case .int(let i): k.costUSD = .int(i)
        case .string(let s): k.costUSD = .string(arena.view(s))
        case .bool: k.costUSD = .bool(true)
        }
        return k
    }
}

/// 2026-01-01T00:00:00Z in ns: 20454 days (56 years × 365 + 14 leap days) × 86400 s.
let jan2026: UInt64 = 20_454 * 86_400 * 1_000_000_000
/// 2026-07-01T00:00:00Z: + 181 days (Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 31 + Jun 30).
let jul2026: UInt64 = (20_454 + 181) * 86_400 * 1_000_000_000

func makeSpan(
    _ arena: ByteArena, kind: SpanKind = .server, root: Bool = false,
    start: UInt64 = jan2026, end: UInt64? = nil, durationNanos: UInt64 = 0, attributes: TestAttributes
) -> DecodedSpan {
    DecodedSpan(
        traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), parentSpanID: SpanID(root ? 0 : 4),
        name: emptyView, kind: kind, startTimeUnixNano: start, endTimeUnixNano: end ?? start + durationNanos,
        statusCode: .unset, traceState: emptyView, attributes: attributes.known(arena))
}

/// The catalog the hand-computed tests use. Prices chosen so the arithmetic is easy to do by hand.
let testCatalogYAML = """
    exclude_environments: [ci, staging]
    compute:
      - host_type: m5.large
        usd_per_hour: "0.096"
        regions: { eu-west-1: "0.107" }
      - host_type: g5.xlarge
        usd_per_hour: "2.000"
        from: "2026-07-01T00:00:00Z"
      - host_type: g5.xlarge
        usd_per_hour: "1.006"
    serverless:
      - platform: aws_lambda
        usd_per_gb_second: "0.0000166667"
        usd_per_invocation: "0.0000002"
    llm:
      - model: "gpt-4o-mini*"
        input_usd_per_mtok: "0.15"
        output_usd_per_mtok: "0.60"
        cached_input_usd_per_mtok: "0.075"
      - model: "gpt-4o*"
        input_usd_per_mtok: "2.50"
        output_usd_per_mtok: "10.00"
        cached_input_usd_per_mtok: "1.25"
      - model: "claude-3-5-sonnet*"
        input_usd_per_mtok: "3.00"
        output_usd_per_mtok: "15.00"
        cached_input_usd_per_mtok: "0.30"
        cache_write_usd_per_mtok: "3.75"
      - model: "m?del-x"
        input_usd_per_mtok: "1"
      - model: "*-exact"
        input_usd_per_mtok: "2"
        output_usd_per_mtok: "4"
      - model: "half"
        input_usd_per_mtok: "0.0005"
      - model: "dated*"
        input_usd_per_mtok: "1"
      - model: "dated*"
        input_usd_per_mtok: "3"
        from: "2026-07-01T00:00:00Z"
      - model: "dated-special"
        input_usd_per_mtok: "100"
      - model: "future-only"
        input_usd_per_mtok: "1"
        from: "2030-01-01T00:00:00Z"
    """

func testCatalog() throws -> PriceCatalog {
    try PriceCatalog(yaml: testCatalogYAML, sourceName: "<test>")
}

/// A minimal arbitrary-precision unsigned integer (32-bit limbs, little-endian): just enough for the
/// rounding oracle to work in exact arithmetic without any bound, independently of Pricing's code.
struct BigUInt: Comparable, CustomStringConvertible {
    var limbs: [UInt32]

    init(_ v: UInt64) {
        limbs = [UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)]
        normalize()
    }

    private init(limbs: [UInt32]) {
        self.limbs = limbs
        normalize()
    }

    private mutating func normalize() {
        while let last = limbs.last, last == 0 { limbs.removeLast() }
    }

    static func + (a: BigUInt, b: BigUInt) -> BigUInt {
        var out: [UInt32] = []
        var carry: UInt64 = 0
        for i in 0..<max(a.limbs.count, b.limbs.count) {
            let s = UInt64(i < a.limbs.count ? a.limbs[i] : 0) + UInt64(i < b.limbs.count ? b.limbs[i] : 0) + carry
            out.append(UInt32(truncatingIfNeeded: s))
            carry = s >> 32
        }
        if carry > 0 { out.append(UInt32(carry)) }
        return BigUInt(limbs: out)
    }

    static func * (a: BigUInt, b: BigUInt) -> BigUInt {
        if a.limbs.isEmpty || b.limbs.isEmpty { return BigUInt(0) }
        var out = [UInt32](repeating: 0, count: a.limbs.count + b.limbs.count)
        for i in 0..<a.limbs.count {
            var carry: UInt64 = 0
            for j in 0..<b.limbs.count {
                let t = UInt64(a.limbs[i]) * UInt64(b.limbs[j]) + UInt64(out[i + j]) + carry
                out[i + j] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
            }
            var k = i + b.limbs.count
            while carry > 0 {
                let t = UInt64(out[k]) + carry
                out[k] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
                k += 1
            }
        }
        return BigUInt(limbs: out)
    }

    static func < (a: BigUInt, b: BigUInt) -> Bool {
        if a.limbs.count != b.limbs.count { return a.limbs.count < b.limbs.count }
        for i in stride(from: a.limbs.count - 1, through: 0, by: -1) where a.limbs[i] != b.limbs[i] {
            return a.limbs[i] < b.limbs[i]
        }
        return false
    }

    var description: String { "0x" + limbs.reversed().map { String($0, radix: 16) }.joined(separator: "_") }
}

/// An exact non-negative rational as a BigUInt fraction (not reduced).
struct BigRational {
    var numerator: BigUInt
    var denominator: BigUInt

    static let zero = BigRational(numerator: BigUInt(0), denominator: BigUInt(1))

    static func + (a: BigRational, b: BigRational) -> BigRational {
        BigRational(numerator: a.numerator * b.denominator + b.numerator * a.denominator,
                    denominator: a.denominator * b.denominator)
    }

    /// A decimal string like "0.0000166667" as digits / 10^fractionDigits (the test's own parser).
    init(decimal: String) {
        let parts = decimal.split(separator: ".", omittingEmptySubsequences: false)
        let digits = parts.joined()
        let fractionDigits = parts.count > 1 ? parts[1].count : 0
        var n = BigUInt(0)
        for c in digits { n = n * BigUInt(10) + BigUInt(UInt64(String(c))!) }
        var d = BigUInt(1)
        for _ in 0..<fractionDigits { d = d * BigUInt(10) }
        numerator = n
        denominator = d
    }

    init(numerator: BigUInt, denominator: BigUInt) {
        self.numerator = numerator
        self.denominator = denominator
    }

    func times(_ v: UInt64) -> BigRational { BigRational(numerator: numerator * BigUInt(v), denominator: denominator) }
    func over(_ v: UInt64) -> BigRational { BigRational(numerator: numerator, denominator: denominator * BigUInt(v)) }

    /// True when `k` is this value rounded half to even: |x − k| < 1/2, or = 1/2 with k even.
    /// Checked with multiplications and comparisons only (no division): with x = N/D,
    /// (2k − 1)·D <= 2N <= (2k + 1)·D, equality only when k is even.
    func isRoundedHalfEven(to k: UInt64) -> Bool {
        let twoN = numerator * BigUInt(2)
        let low = k == 0 ? BigUInt(0) : BigUInt(2 * k - 1) * denominator  // (2k − 1)·D; x >= 0 so k = 0 has no lower bound
        let high = BigUInt(2 * k + 1) * denominator
        if k > 0 {
            if twoN < low { return false }
            if twoN == low && k % 2 == 1 { return false }
        }
        if high < twoN { return false }
        if twoN == high && k % 2 == 1 { return false }
        return true
    }
}
