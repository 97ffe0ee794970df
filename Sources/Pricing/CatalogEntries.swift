/// The instant from which a catalog entry applies (`from:`), in nanoseconds since the Unix epoch.
/// An entry without `from` applies always (`nil` where this type is optional).
public struct EffectiveInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let nanosSinceEpoch: Int128
    public init(nanosSinceEpoch: Int128) { self.nanosSinceEpoch = nanosSinceEpoch }
    /// Parses an RFC 3339 date-time (`2026-07-01T00:00:00Z`, offsets allowed).
    public init?(rfc3339 text: String) {
        guard let n = try? RFC3339.parse(text) else { return nil }
        nanosSinceEpoch = n
    }
    public static func < (a: Self, b: Self) -> Bool { a.nanosSinceEpoch < b.nanosSinceEpoch }
    /// RFC 3339 in UTC.
    public var description: String { RFC3339.format(nanosSinceEpoch) }
}

/// One `compute:` entry: USD per instance-hour for a `host.type`, optionally per `cloud.region`.
public struct ComputePrice: Sendable, Equatable {
    public var hostType: String
    public var usdPerHour: DecimalPrice
    /// Region overrides, in file order.
    public var regions: [RegionPrice]
    public var from: EffectiveInstant?
    /// Line of the entry in its file (1-based).
    public var line: Int

    /// One region override of a compute entry.
    public struct RegionPrice: Sendable, Equatable {
        public var region: String
        public var usdPerHour: DecimalPrice
    }
}

/// One `serverless:` entry: prices for a `cloud.platform`.
public struct ServerlessPrice: Sendable, Equatable {
    public var platform: String
    public var usdPerGBSecond: DecimalPrice
    public var usdPerInvocation: DecimalPrice
    public var from: EffectiveInstant?
    public var line: Int
}

/// One `llm:` entry: prices per million tokens for model names matching `model` (a glob).
public struct LLMPrice: Sendable, Equatable {
    /// The glob: `*` any run of characters, `?` one character.
    public var model: String
    public var inputUSDPerMtok: DecimalPrice
    /// nil = left out: the input price applies (docs/pricing.md).
    public var outputUSDPerMtok: DecimalPrice?
    public var cachedInputUSDPerMtok: DecimalPrice?
    public var cacheWriteUSDPerMtok: DecimalPrice?
    public var from: EffectiveInstant?
    public var line: Int

    public var effectiveOutput: DecimalPrice { outputUSDPerMtok ?? inputUSDPerMtok }
    public var effectiveCachedInput: DecimalPrice { cachedInputUSDPerMtok ?? inputUSDPerMtok }
    public var effectiveCacheWrite: DecimalPrice { cacheWriteUSDPerMtok ?? inputUSDPerMtok }
}
