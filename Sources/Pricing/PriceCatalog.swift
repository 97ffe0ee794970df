internal import Foundation

/// A validated price catalog (docs/pricing.md, `config/pricing.yaml`), precompiled for the hot path.
///
/// Immutable and `Sendable`: one instance is shared by every shard; a reload builds a new one (see
/// `PriceCatalogSource`). Lookups by host type, region, platform and environment hash the span's
/// borrowed bytes against tables built here, without allocating. Model names are matched against the
/// globs in file order; `SpanPricer` adds a per-shard cache in front of that scan.
public final class PriceCatalog: Sendable {
    /// docs/pricing.md: environments excluded when the file does not say.
    public static let defaultExcludedEnvironments = ["ci", "staging"]

    /// The path or name the catalog was read from (for messages).
    public let sourceName: String
    /// FNV-1a 64 of the file's bytes: identifies a catalog version in logs and metrics.
    public let contentHash: UInt64
    public let excludedEnvironments: [String]
    /// Entries in file order.
    public let compute: [ComputePrice]
    public let serverless: [ServerlessPrice]
    public let llm: [LLMPrice]

    // Compiled lookup structures (hot path).
    let excludedTable: ByteKeyTable
    let hostTable: ByteKeyTable          // host_type → compute group
    let computeGroups: [DatedGroup]
    let computeHot: [ComputeHot]
    let regionArena: [UInt8]
    let regionHot: [RegionHot]
    let platformTable: ByteKeyTable      // platform → serverless group
    let serverlessGroups: [DatedGroup]
    let serverlessHot: [ServerlessHot]
    /// Distinct globs in order of first appearance; `globGroups[i]` holds that glob's entries.
    let globs: [Glob]
    let globGroups: [DatedGroup]
    let llmHot: [LLMHot]
    let datedRefs: [DatedRef]

    /// Parses and validates YAML text. `sourceName` is used in errors (a path, or e.g. `<test>`).
    public convenience init(yaml: String, sourceName: String) throws(PricingCatalogError) {
        let content = try CatalogParser(file: sourceName).parse(yaml)
        var copy = yaml
        let hash = copy.withUTF8 { fnv1a64(UnsafeRawBufferPointer($0)) }
        self.init(content: content, sourceName: sourceName, contentHash: hash)
    }

    /// Reads and parses a catalog file.
    public static func load(path: String) throws(PricingCatalogError) -> PriceCatalog {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PricingCatalogError(code: .unreadable, file: path, line: 0, reason: "cannot read the file: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PricingCatalogError(code: .unreadable, file: path, line: 0, reason: "the file is not UTF-8")
        }
        return try PriceCatalog(yaml: text, sourceName: path)
    }

    init(content: CatalogContent, sourceName: String, contentHash: UInt64) {
        self.sourceName = sourceName
        self.contentHash = contentHash
        self.excludedEnvironments = content.excludedEnvironments
        self.compute = content.compute
        self.serverless = content.serverless
        self.llm = content.llm
        excludedTable = ByteKeyTable(content.excludedEnvironments.enumerated().map { (Array($0.element.utf8), Int32($0.offset)) })

        var refs: [DatedRef] = []
        // Groups entries by key (first appearance order), each group's refs sorted by `from` (none first).
        func group(_ keys: [String], _ froms: [EffectiveInstant?]) -> (order: [String], groups: [DatedGroup]) {
            var order: [String] = []
            var members: [String: [Int]] = [:]
            for (i, k) in keys.enumerated() {
                if members[k] == nil { order.append(k) }
                members[k, default: []].append(i)
            }
            var groups: [DatedGroup] = []
            for k in order {
                let start = refs.count
                let sorted = members[k]!.map { DatedRef(from: froms[$0]?.nanosSinceEpoch ?? DatedRef.always, entry: Int32($0)) }
                    .sorted { $0.from < $1.from }
                refs.append(contentsOf: sorted)
                groups.append(DatedGroup(start: Int32(start), count: Int32(sorted.count)))
            }
            return (order, groups)
        }

        let (hosts, hostGroups) = group(content.compute.map(\.hostType), content.compute.map(\.from))
        hostTable = ByteKeyTable(hosts.enumerated().map { (Array($0.element.utf8), Int32($0.offset)) })
        computeGroups = hostGroups
        var arena: [UInt8] = []
        var regionHot: [RegionHot] = []
        computeHot = content.compute.map { entry in
            let start = regionHot.count
            for r in entry.regions {
                regionHot.append(RegionHot(start: Int32(arena.count), length: Int32(r.region.utf8.count), picoPerHour: r.usdPerHour.picoUSD))
                arena.append(contentsOf: r.region.utf8)
            }
            return ComputeHot(picoPerHour: entry.usdPerHour.picoUSD, regionStart: Int32(start), regionCount: Int32(entry.regions.count))
        }
        regionArena = arena
        self.regionHot = regionHot

        let (platforms, platformGroups) = group(content.serverless.map(\.platform), content.serverless.map(\.from))
        platformTable = ByteKeyTable(platforms.enumerated().map { (Array($0.element.utf8), Int32($0.offset)) })
        serverlessGroups = platformGroups
        serverlessHot = content.serverless.map { ServerlessHot(picoPerGBSecond: $0.usdPerGBSecond.picoUSD, picoPerInvocation: $0.usdPerInvocation.picoUSD) }

        let (globTexts, globGroups) = group(content.llm.map(\.model), content.llm.map(\.from))
        globs = globTexts.map(Glob.init)
        self.globGroups = globGroups
        llmHot = content.llm.map {
            LLMHot(input: $0.inputUSDPerMtok.picoUSD, output: $0.effectiveOutput.picoUSD,
                   cachedInput: $0.effectiveCachedInput.picoUSD, cacheWrite: $0.effectiveCacheWrite.picoUSD)
        }
        datedRefs = refs
    }

    // MARK: Lookups

    /// The entry of `group` in force at `start`: the latest `from` not after it (no `from` = always).
    @inline(__always)
    func entry(in group: DatedGroup, at start: UInt64) -> Int? {
        var i = Int(group.start) + Int(group.count) - 1
        let s = Int128(start)
        while i >= Int(group.start) {
            let ref = datedRefs[i]
            if ref.from <= s { return Int(ref.entry) }
            i -= 1
        }
        return nil
    }

    /// Index into `globs` of the first glob (file order) matching the whole model name, or −1.
    func globIndex(matching model: UnsafeRawBufferPointer) -> Int32 {
        for (i, g) in globs.enumerated() where g.matches(model) { return Int32(i) }
        return -1
    }

    /// The compute entry (index into `compute`) for a host type at a span start, or nil.
    func computeEntry(hostType: UnsafeRawBufferPointer, at start: UInt64) -> Int? {
        guard let g = hostTable.value(for: hostType) else { return nil }
        return entry(in: computeGroups[Int(g)], at: start)
    }

    /// Price per hour in pico-USD of compute entry `index` in `region` (its default when not listed).
    @inline(__always)
    func picoPerHour(entry index: Int, region: UnsafeRawBufferPointer?) -> Int64 {
        let hot = computeHot[index]
        guard let region, hot.regionCount > 0 else { return hot.picoPerHour }
        return regionArena.withUnsafeBytes { arena in
            for r in regionHot[Int(hot.regionStart)..<Int(hot.regionStart + hot.regionCount)] {
                let key = UnsafeRawBufferPointer(rebasing: arena[Int(r.start)..<Int(r.start + r.length)])
                if bytesEqual(key, region) { return r.picoPerHour }
            }
            return hot.picoPerHour
        }
    }

    func serverlessEntry(platform: UnsafeRawBufferPointer, at start: UInt64) -> Int? {
        guard let g = platformTable.value(for: platform) else { return nil }
        return entry(in: serverlessGroups[Int(g)], at: start)
    }

    func isExcluded(environment: UnsafeRawBufferPointer) -> Bool {
        excludedTable.value(for: environment) != nil
    }
}

/// A key's entries: `datedRefs[start ..< start + count]`, sorted by `from` ascending.
struct DatedGroup: Sendable {
    var start: Int32
    var count: Int32
}

struct DatedRef: Sendable {
    /// `always` for an entry without `from`.
    var from: Int128
    var entry: Int32
    static let always = Int128.min
}

struct ComputeHot: Sendable {
    var picoPerHour: Int64
    var regionStart: Int32
    var regionCount: Int32
}

struct RegionHot: Sendable {
    var start: Int32
    var length: Int32
    var picoPerHour: Int64
}

struct ServerlessHot: Sendable {
    var picoPerGBSecond: Int64
    var picoPerInvocation: Int64
}

/// Pico-USD per million tokens, fallbacks to the input price already applied.
struct LLMHot: Sendable {
    var input: Int64
    var output: Int64
    var cachedInput: Int64
    var cacheWrite: Int64
}
