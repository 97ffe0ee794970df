public import Foundation
internal import Yams

/// The price catalog (`config/pricing.yaml`, docs/pricing.md) read into LoadGen's own simple structures,
/// independently of the `Pricing` module. Prices are kept as exact decimals; `scale` is the largest number
/// of fractional digits of any price (at most 12), and `scaled(_:)` turns a price into an exact integer
/// count of 10^-scale USD.
///
/// Guarantees: every price is a non-negative decimal string; every `from` is a valid RFC 3339 instant;
/// entries keep file order (LLM matching is "first glob in file order").
public struct ReferenceCatalog: Sendable {
    // Prices below are exact integer counts of 10^-`scale` USD.
    struct Compute: Sendable {
        var hostType: String
        var usdPerHour: Int128
        var regions: [String: Int128]
        var fromNanos: Int64?
    }
    struct Serverless: Sendable {
        var platform: String
        var usdPerGBSecond: Int128
        var usdPerInvocation: Int128
        var fromNanos: Int64?
    }
    struct LLM: Sendable {
        var glob: String
        var input: Int128
        var output: Int128
        var cachedInput: Int128
        var cacheWrite: Int128
        var fromNanos: Int64?
    }

    /// Largest count of fractional digits among all prices (0...12).
    public private(set) var scale: Int

    /// Environments whose spans are excluded (default `ci`, `staging`).
    public private(set) var excludedEnvironments: Set<String>
    var compute: [Compute]
    var serverless: [Serverless]
    var llm: [LLM]
    /// Entries per key, in file order.
    var computeByHostType: [String: [Compute]] = [:]
    var serverlessByPlatform: [String: [Serverless]] = [:]

    private struct RawFile: Decodable {
        var exclude_environments: [String]?
        var compute: [RawCompute]?
        var serverless: [RawServerless]?
        var llm: [RawLLM]?
    }
    private struct RawCompute: Decodable {
        var host_type: String
        var usd_per_hour: String
        var regions: [String: String]?
        var from: String?
    }
    private struct RawServerless: Decodable {
        var platform: String
        var usd_per_gb_second: String?
        var usd_per_invocation: String?
        var from: String?
    }
    private struct RawLLM: Decodable {
        var model: String
        var input_usd_per_mtok: String
        var output_usd_per_mtok: String?
        var cached_input_usd_per_mtok: String?
        var cache_write_usd_per_mtok: String?
        var from: String?
    }

    /// Parses and validates catalog YAML text.
    /// - Throws: `LoadGenError.Code.catalogInvalid` with the reason (YAML error, bad price, bad date).
    public init(yaml: String) throws(LoadGenError) {
        let raw: RawFile
        do {
            raw = try YAMLDecoder().decode(RawFile.self, from: yaml)
        } catch {
            throw LoadGenError(.catalogInvalid, "YAML: \(error)")
        }
        excludedEnvironments = Set(raw.exclude_environments ?? ["ci", "staging"])
        // Pass 1: every price must be a non-negative decimal string; find the common scale.
        var texts: [(String, String)] = []
        for e in raw.compute ?? [] {
            texts.append((e.usd_per_hour, "compute \(e.host_type)"))
            for (region, p) in e.regions ?? [:] { texts.append((p, "compute \(e.host_type) region \(region)")) }
        }
        for e in raw.serverless ?? [] {
            texts += [(e.usd_per_gb_second ?? "0", "serverless \(e.platform)"), (e.usd_per_invocation ?? "0", "serverless \(e.platform)")]
        }
        for e in raw.llm ?? [] {
            for p in [e.input_usd_per_mtok, e.output_usd_per_mtok, e.cached_input_usd_per_mtok, e.cache_write_usd_per_mtok] {
                if let p { texts.append((p, "llm \(e.model)")) }
            }
        }
        var maxScale = 0
        for (text, what) in texts { maxScale = max(maxScale, try Self.price(text, what).fractionDigits) }
        guard maxScale <= 12 else {
            throw LoadGenError(.catalogInvalid, "a price has \(maxScale) fractional digits; at most 12 are supported")
        }
        scale = maxScale
        // Pass 2: build the entries with integer prices at that scale.
        func p(_ text: String, _ what: String) throws(LoadGenError) -> Int128 {
            guard let v = try Self.price(text, what).scaled(by: maxScale) else {
                throw LoadGenError(.catalogInvalid, "\(what): price \"\(text)\" is too large")
            }
            return v
        }
        compute = []
        for e in raw.compute ?? [] {
            let what = "compute \(e.host_type)"
            var regions: [String: Int128] = [:]
            for (region, price) in e.regions ?? [:] { regions[region] = try p(price, what) }
            compute.append(
                Compute(
                    hostType: e.host_type, usdPerHour: try p(e.usd_per_hour, what), regions: regions,
                    fromNanos: try Self.from(e.from, what)))
        }
        serverless = []
        for e in raw.serverless ?? [] {
            let what = "serverless \(e.platform)"
            serverless.append(
                Serverless(
                    platform: e.platform, usdPerGBSecond: try p(e.usd_per_gb_second ?? "0", what),
                    usdPerInvocation: try p(e.usd_per_invocation ?? "0", what), fromNanos: try Self.from(e.from, what)))
        }
        llm = []
        for e in raw.llm ?? [] {
            let what = "llm \(e.model)"
            let input = try p(e.input_usd_per_mtok, what)
            // A price the entry leaves out falls back to the input price.
            func orInput(_ text: String?) throws(LoadGenError) -> Int128 {
                guard let text else { return input }
                return try p(text, what)
            }
            llm.append(
                LLM(
                    glob: e.model, input: input, output: try orInput(e.output_usd_per_mtok),
                    cachedInput: try orInput(e.cached_input_usd_per_mtok),
                    cacheWrite: try orInput(e.cache_write_usd_per_mtok), fromNanos: try Self.from(e.from, what)))
        }
        computeByHostType = Dictionary(grouping: compute, by: \.hostType)
        serverlessByPlatform = Dictionary(grouping: serverless, by: \.platform)
    }

    /// Reads and parses a catalog file.
    public init(contentsOf url: URL) throws(LoadGenError) {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw LoadGenError(.catalogInvalid, "\(url.path): \(error)")
        }
        do {
            try self.init(yaml: text)
        } catch {
            throw LoadGenError(error.code, "\(url.path): \(error.detail)")
        }
    }

    private static func price(_ text: String, _ what: String) throws(LoadGenError) -> ExactDecimal {
        guard let d = ExactDecimal(text), !d.negative, !text.contains("e"), !text.contains("E") else {
            throw LoadGenError(.catalogInvalid, "\(what): price \"\(text)\" is not a non-negative decimal string")
        }
        return d
    }

    private static func from(_ text: String?, _ what: String) throws(LoadGenError) -> Int64? {
        guard let text else { return nil }
        guard let ns = RFC3339.nanoseconds(text) else {
            throw LoadGenError(.catalogInvalid, "\(what): from \"\(text)\" is not an RFC 3339 instant")
        }
        return ns
    }

    /// Among `entries` (already filtered to one key), the one with the latest `from` not after `start`;
    /// an entry without `from` applies always. Ties keep the earlier entry in file order.
    static func effective<E>(_ entries: [E], from: (E) -> Int64?, at start: Int64) -> E? {
        var best: E?
        var bestFrom = Int64.min
        for e in entries {
            let f = from(e) ?? Int64.min
            guard f <= start else { continue }
            if best == nil || f > bestFrom {
                best = e
                bestFrom = f
            }
        }
        return best
    }
}

/// RFC 3339 instants (`2026-07-01T00:00:00Z`, `2026-07-01T02:00:00.5+02:00`) to Unix nanoseconds.
enum RFC3339 {
    static func nanoseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func num(_ i: Int, _ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in i..<(i + n) {
                guard b[k] >= 48, b[k] <= 57 else { return nil }
                v = v * 10 + Int(b[k] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
            b[10] == 84 || b[10] == 116 || b[10] == 32, let h = num(11, 2), b[13] == 58, let mi = num(14, 2),
            b[16] == 58, let s = num(17, 2)
        else { return nil }
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var i = 19
        var fracNanos = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 9 { fracNanos = fracNanos * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { fracNanos *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (mo + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let seconds = days * 86400 + h * 3600 + mi * 60 + s - offsetSeconds
        return Int64(seconds) * 1_000_000_000 + Int64(fracNanos)
    }
}

/// Whole-string glob with `*` (any run, possibly empty) and `?` (one character), over Unicode scalars.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let t = Array(text.unicodeScalars)
        var pi = 0
        var ti = 0
        var star = -1
        var mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || (p[pi] != "*" && p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
