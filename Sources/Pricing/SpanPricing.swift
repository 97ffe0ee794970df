public import SpanDecoding

/// Maps a model name to the index of the first matching glob (−1: none). Lets `SpanPricer` put a
/// cache in front of the catalog's glob scan while `PriceCatalog.price` stays cache-free.
protocol ModelResolving {
    mutating func globIndex(in catalog: PriceCatalog, model: UnsafeRawBufferPointer) -> Int32
}

struct UncachedModelResolver: ModelResolving {
    func globIndex(in catalog: PriceCatalog, model: UnsafeRawBufferPointer) -> Int32 {
        catalog.globIndex(matching: model)
    }
}

/// A small open-addressing cache from model-name bytes to glob index: linear probing over at most
/// `probeMax` slots from the name's home slot, so names whose hashes collide do not evict each other
/// (a direct-mapped cache thrashed on a 13-model mix: two models sharing a slot re-scanned the globs
/// and re-copied the name on every alternation). Hits do not allocate; a miss copies the name once
/// (bounded: `slotsCount` names at most; when the window is full the home slot is overwritten).
/// Slots only become empty again in `removeAll`, so a name stored in its window is always found
/// before the first empty slot.
struct ModelCache: ModelResolving, Sendable {
    static let slotsCount = 64
    static let probeMax = 8
    private var names = [[UInt8]](repeating: [], count: slotsCount)
    private var hashes = [UInt64](repeating: 0, count: slotsCount)
    private var values = [Int32](repeating: -2, count: slotsCount)  // −2 = empty slot

    mutating func globIndex(in catalog: PriceCatalog, model: UnsafeRawBufferPointer) -> Int32 {
        let h = fnv1a64(model)
        let mask = Self.slotsCount - 1
        let home = Int(truncatingIfNeeded: h) & mask
        var slot = home
        var probes = 0
        while true {
            if values[slot] == -2 { break }  // empty: not cached; store here
            if hashes[slot] == h && names[slot].withUnsafeBytes({ bytesEqual($0, model) }) {
                return values[slot]
            }
            probes += 1
            if probes == Self.probeMax { slot = home; break }  // window full: overwrite the home slot
            slot = (slot + 1) & mask
        }
        let value = catalog.globIndex(matching: model)
        names[slot] = Array(model)
        hashes[slot] = h
        values[slot] = value
        return value
    }

    mutating func removeAll() {
        for i in 0..<Self.slotsCount { values[i] = -2; names[i] = [] }
    }
}

/// A shard's pricer: the catalog in force plus a small model-name cache. Same results as
/// `PriceCatalog.price(_:)` (the cache only memoizes the glob scan). Not shared: one per shard.
public struct SpanPricer: Sendable {
    public private(set) var catalog: PriceCatalog
    private var cache = ModelCache()

    public init(catalog: PriceCatalog) { self.catalog = catalog }

    /// Switches to another catalog (a reload); the cache is cleared.
    public mutating func use(_ catalog: PriceCatalog) {
        guard catalog !== self.catalog else { return }
        self.catalog = catalog
        cache.removeAll()
    }

    /// The cost of one span (docs/pricing.md). Does not allocate except on a model-cache miss.
    public mutating func price(_ span: DecodedSpan) -> SpanCost {
        catalog.price(span, resolver: &cache)
    }
}

extension PriceCatalog {
    /// 1e9 USD in nano-USD: the largest cost one span can have. A computed cost above it (absurd
    /// durations or token counts) is not charged: the span is `unpriced` with `outOfRange` set.
    public static let spanCostMaxNanoUSD: Int64 = 1_000_000_000_000_000_000

    /// The cost of one span (docs/pricing.md): a pure function of the span (attributes already merged
    /// span-over-resource) and this catalog. No allocation (beyond formatting a `cost.usd` double whose
    /// shortest form is over 15 characters).
    ///
    /// Order: rule 3 (excluded environment) first, then rule 1 (`cost.usd`), then rule 2; rule 4
    /// (`clamped`) is reported for every span that is not excluded.
    public func price(_ span: DecodedSpan) -> SpanCost {
        var resolver = UncachedModelResolver()
        return price(span, resolver: &resolver)
    }

    func price<R: ModelResolving>(_ span: DecodedSpan, resolver: inout R) -> SpanCost {
        // KnownAttributes holds only trivial values (pointers, integers): this copy is a memcpy.
        let attributes = span.attributes
        // Rule 3: excluded environments.
        if let env = attributes.environmentName ?? attributes.environmentLegacy, isExcluded(environment: env.bytes) {
            return SpanCost(outcome: .excluded)
        }
        let start = span.startTimeUnixNano
        let clamped = span.endTimeUnixNano < start
        // Rule 4. Safe: end >= start on this branch.
        let durationNanos: UInt64 = clamped ? 0 : span.endTimeUnixNano - start

        // Tokens as read (negative values count as 0; deprecated names when the new ones are absent).
        let inputTokens = max(0, attributes.inputTokens ?? attributes.promptTokens ?? 0)
        let outputTokens = max(0, attributes.outputTokens ?? attributes.completionTokens ?? 0)

        // Rule 1: upstream cost.
        var invalidUpstream = false
        if let upstream = attributes.costUSD {
            let nano: Int64?
            switch upstream {
            case .double(let d): nano = UpstreamCost.nanoUSD(double: d)
            case .int(let i): nano = UpstreamCost.nanoUSD(int: i)
            case .string(let s): nano = UpstreamCost.nanoUSD(decimalText: s.bytes)
            case .bool, .other: nano = nil
            }
            if let nano {
                return SpanCost(total: NanoUSD(nano), outcome: .upstream, clamped: clamped,
                                inputTokens: inputTokens, outputTokens: outputTokens)
            }
            invalidUpstream = true
        }

        // Rule 2: compute + serverless + LLM.
        let isEntry = span.kind == .server || span.kind == .consumer || span.parentSpanID.isZero
        var resourceMatched = false
        var llmMatched = false
        var modelPresent = false
        var compute = ExactNano.zero
        var serverless = ExactNano.zero
        var llm = ExactNano.zero

        let platform = attributes.cloudPlatform
        let isServerless = attributes.hasFaasAttribute
            || (platform.map { $0.equals("aws_lambda") || $0.equals("gcp_cloud_functions") || $0.equals("azure_functions") } ?? false)
        if isServerless {
            // A serverless resource gets no compute charge.
            if let platform, let e = serverlessEntry(platform: platform.bytes, at: start) {
                resourceMatched = true
                if isEntry {
                    let hot = serverlessHot[e]
                    let memoryBytes = UInt128(UInt64(max(0, attributes.faasMaxMemoryBytes ?? 0)))
                    // Safe: memoryBytes < 2^63 and durationNanos < 2^64, so x < 2^127.
                    let x = memoryBytes * UInt128(durationNanos)
                    let g = UInt128(UInt64(hot.picoPerGBSecond))
                    let (product, overflow) = x.multipliedReportingOverflow(by: g)
                    if !overflow {
                        serverless = ExactNano(numerator: product, divisor: ExactNano.gbSecondDivisor)
                    } else {
                        // x = a·D + b with b < D = 2^30·1e12 ≈ 1.07e21, so g·x/D = g·a + g·b/D.
                        // Safe: g <= 1e17 (DecimalPrice bound), a < 2^127 / 1.07e21 < 1.6e17, so
                        // g·a < 1.6e34; g·b < 1e17 · 1.07e21 = 1.07e38 < 2^128 (3.4e38).
                        let (a, b) = x.quotientAndRemainder(dividingBy: ExactNano.gbSecondDivisor)
                        serverless = ExactNano(whole: g * a, fraction: 0)
                            + ExactNano(numerator: g * b, divisor: ExactNano.gbSecondDivisor)
                    }
                    serverless = serverless
                        + ExactNano(numerator: UInt128(UInt64(hot.picoPerInvocation)), divisor: ExactNano.invocationDivisor)
                }
            }
        } else if let host = attributes.hostType, let e = computeEntry(hostType: host.bytes, at: start) {
            resourceMatched = true
            if isEntry {
                let perHour = picoPerHour(entry: e, region: attributes.cloudRegion?.bytes)
                // Safe: perHour <= 1e17 (DecimalPrice bound) and durationNanos < 2^64 ≈ 1.85e19, so the
                // product < 1.85e36 < 2^128.
                compute = ExactNano(numerator: UInt128(UInt64(perHour)) * UInt128(durationNanos), divisor: ExactNano.computeDivisor)
            }
        }

        if let model = attributes.responseModel ?? attributes.requestModel {
            modelPresent = true
            let glob = resolver.globIndex(in: self, model: model.bytes)
            if glob >= 0, let e = entry(in: globGroups[Int(glob)], at: start) {
                llmMatched = true
                let hot = llmHot[e]
                let read = UInt128(UInt64(max(0, attributes.cacheReadInputTokens ?? 0)))
                let write = UInt128(UInt64(max(0, attributes.cacheCreationInputTokens ?? 0)))
                let input = UInt128(UInt64(inputTokens))
                // Safe: each token count < 2^63, so read + write < 2^64.
                let rest = input > read + write ? input - read - write : 0
                // Safe: each count < 2^63 ≈ 9.3e18 and each price <= 1e17, so each product < 9.3e35
                // and the sum of four < 3.7e36 < 2^128.
                let numerator = rest * UInt128(UInt64(hot.input))
                    + read * UInt128(UInt64(hot.cachedInput))
                    + write * UInt128(UInt64(hot.cacheWrite))
                    + UInt128(UInt64(outputTokens)) * UInt128(UInt64(hot.output))
                llm = ExactNano(numerator: numerator, divisor: ExactNano.llmDivisor)
            }
        }

        // Unpriced = the catalog could not price what the span is charged for: no LLM price for a span
        // that names a model and nothing else charged it, or no entry for its resource at all. A nested
        // span whose resource has an entry is priced at 0 (its time is paid by its entry span).
        let matched = llmMatched || (resourceMatched && (isEntry || !modelPresent))
        guard matched else {
            return SpanCost(outcome: .unpriced, clamped: clamped, invalidUpstreamCost: invalidUpstream,
                            inputTokens: inputTokens, outputTokens: outputTokens)
        }
        // Safe: the wholes are < 5.2e20 (compute), < 1.7e34 (serverless), < 3.7e27 (LLM): no wrap.
        let total = (compute + serverless + llm).roundedHalfEven
        guard total <= UInt128(UInt64(Self.spanCostMaxNanoUSD)) else {
            return SpanCost(outcome: .unpriced, clamped: clamped, invalidUpstreamCost: invalidUpstream,
                            inputTokens: inputTokens, outputTokens: outputTokens, outOfRange: true)
        }
        // Each component <= the exact total, and rounding is monotone, so each fits too.
        return SpanCost(
            total: NanoUSD(Int64(total)),
            compute: NanoUSD(Int64(compute.roundedHalfEven)),
            serverless: NanoUSD(Int64(serverless.roundedHalfEven)),
            llm: NanoUSD(Int64(llm.roundedHalfEven)),
            outcome: .priced, clamped: clamped, invalidUpstreamCost: invalidUpstream,
            inputTokens: inputTokens, outputTokens: outputTokens)
    }
}
