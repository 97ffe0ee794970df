extension PriceCatalog {
    /// A human-readable listing of the catalog: every entry with its effective date and prices, in
    /// file order (what `traceledger pricing check` prints).
    public var summary: String {
        func when(_ from: EffectiveInstant?) -> String { from.map { "from \($0)" } ?? "always" }
        var out: [String] = []
        out.append("catalog \(sourceName) (content hash \(String(contentHash, radix: 16)))")
        out.append("exclude_environments: \(excludedEnvironments.isEmpty ? "(none)" : excludedEnvironments.joined(separator: ", "))")
        out.append("compute: \(compute.count) entries (USD per instance-hour)")
        for e in compute {
            var line = "  \(e.hostType)  \(e.usdPerHour)/h  \(when(e.from))  [line \(e.line)]"
            if !e.regions.isEmpty {
                line += "\n    regions: " + e.regions.map { "\($0.region) \($0.usdPerHour)/h" }.joined(separator: ", ")
            }
            out.append(line)
        }
        out.append("serverless: \(serverless.count) entries")
        for e in serverless {
            out.append("  \(e.platform)  \(e.usdPerGBSecond)/GB-s + \(e.usdPerInvocation)/invocation  \(when(e.from))  [line \(e.line)]")
        }
        out.append("llm: \(llm.count) entries (USD per million tokens; first matching glob wins)")
        for e in llm {
            func opt(_ p: DecimalPrice?) -> String { p.map(\.description) ?? "=input" }
            out.append("  \(e.model)  input \(e.inputUSDPerMtok)  output \(opt(e.outputUSDPerMtok))  cached_input \(opt(e.cachedInputUSDPerMtok))  cache_write \(opt(e.cacheWriteUSDPerMtok))  \(when(e.from))  [line \(e.line)]")
        }
        return out.joined(separator: "\n")
    }
}
