internal import Yams

/// The validated content of a catalog file, before compilation into lookup tables.
struct CatalogContent {
    var excludedEnvironments: [String] = PriceCatalog.defaultExcludedEnvironments
    var compute: [ComputePrice] = []
    var serverless: [ServerlessPrice] = []
    var llm: [LLMPrice] = []
}

/// YAML text → `CatalogContent`, refusing anything outside docs/pricing.md's format with the line,
/// column and reason.
struct CatalogParser {
    let file: String

    private func error(_ code: PricingCatalogError.Code, _ node: Node?, _ reason: String) -> PricingCatalogError {
        PricingCatalogError(code: code, file: file, line: node?.mark?.line ?? 0, column: node?.mark?.column, reason: reason)
    }

    func parse(_ yaml: String) throws(PricingCatalogError) -> CatalogContent {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let e as YamlError {
            throw translate(e)
        } catch {
            throw PricingCatalogError(code: .yamlSyntax, file: file, line: 0, reason: "\(error)")
        }
        guard let root else {
            throw PricingCatalogError(code: .invalidStructure, file: file, line: 1, reason: "empty catalog (expected a mapping with compute, serverless, llm)")
        }
        guard let top = root.mapping else {
            throw error(.invalidStructure, root, "the catalog must be a mapping with keys exclude_environments, compute, serverless, llm")
        }
        var content = CatalogContent()
        for (keyNode, value) in top {
            switch try key(keyNode) {
            case "exclude_environments":
                content.excludedEnvironments = try stringList(value, "exclude_environments")
            case "compute":
                content.compute = try entries(value, "compute").map { node throws(PricingCatalogError) in try computeEntry(node) }
            case "serverless":
                content.serverless = try entries(value, "serverless").map { node throws(PricingCatalogError) in try serverlessEntry(node) }
            case "llm":
                content.llm = try entries(value, "llm").map { node throws(PricingCatalogError) in try llmEntry(node) }
            case let other:
                throw error(.invalidStructure, keyNode, "unknown key '\(other)' (expected exclude_environments, compute, serverless, llm)")
            }
        }
        try checkDuplicates(content)
        return content
    }

    private func translate(_ e: YamlError) -> PricingCatalogError {
        func problem(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> PricingCatalogError {
            let ctx = context.map { "\($0.text): " } ?? ""
            return PricingCatalogError(code: .yamlSyntax, file: file, line: mark.line, column: mark.column, reason: "YAML: \(ctx)\(problem)")
        }
        switch e {
        case let .scanner(context, p, mark, _), let .parser(context, p, mark, _), let .composer(context, p, mark, _):
            return problem(context, p, mark)
        case let .duplicatedKeysInMapping(duplicates, context):
            return PricingCatalogError(
                code: .invalidStructure, file: file, line: context.mark.line, column: context.mark.column,
                reason: "duplicate key '\(duplicates.joined(separator: "', '"))' in one mapping (first occurrence here)")
        case let .reader(p, offset, _, _):
            return PricingCatalogError(code: .yamlSyntax, file: file, line: 1, reason: "YAML: \(p)" + (offset.map { " at byte \($0)" } ?? ""))
        default:
            return PricingCatalogError(code: .yamlSyntax, file: file, line: 1, reason: "YAML: \(e)")
        }
    }

    private func key(_ node: Node) throws(PricingCatalogError) -> String {
        guard let s = node.scalar else { throw error(.invalidStructure, node, "a key must be a plain string") }
        return s.string
    }

    private func scalarString(_ node: Node, _ what: String) throws(PricingCatalogError) -> String {
        guard let s = node.scalar else { throw error(.invalidStructure, node, "\(what) must be a string") }
        guard !s.string.isEmpty else { throw error(.invalidStructure, node, "\(what) must not be empty") }
        return s.string
    }

    private func stringList(_ node: Node, _ what: String) throws(PricingCatalogError) -> [String] {
        guard let seq = node.sequence else { throw error(.invalidStructure, node, "\(what) must be a list of strings") }
        var out: [String] = []
        for item in seq { out.append(try scalarString(item, "an item of \(what)")) }
        return out
    }

    private func entries(_ node: Node, _ section: String) throws(PricingCatalogError) -> [Node.Mapping] {
        // `compute:` with nothing after it is an empty list.
        if let s = node.scalar, s.style == .plain, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        guard let seq = node.sequence else { throw error(.invalidStructure, node, "\(section) must be a list of entries") }
        var out: [Node.Mapping] = []
        for item in seq {
            guard let m = item.mapping else { throw error(.invalidStructure, item, "each \(section) entry must be a mapping") }
            out.append(m)
        }
        return out
    }

    private func price(_ node: Node, _ what: String) throws(PricingCatalogError) -> DecimalPrice {
        guard let s = node.scalar else { throw error(.invalidPrice, node, "\(what) must be a quoted decimal string") }
        guard s.style == .singleQuoted || s.style == .doubleQuoted else {
            throw error(.invalidPrice, node, "\(what) must be a quoted decimal string, e.g. \"0.096\" (an unquoted YAML number is a float, not exact): got \(s.string.isEmpty ? "nothing" : s.string)")
        }
        do {
            return try DecimalPrice(parsing: s.string)
        } catch {
            throw self.error(.invalidPrice, node, "\(what) \"\(s.string)\": \(error)")
        }
    }

    private func instant(_ node: Node) throws(PricingCatalogError) -> EffectiveInstant {
        guard let s = node.scalar else { throw error(.invalidDate, node, "from must be an RFC 3339 date-time string") }
        do {
            return EffectiveInstant(nanosSinceEpoch: try RFC3339.parse(s.string))
        } catch {
            guard case let .malformed(why) = error else { throw self.error(.invalidDate, node, "bad from") }
            throw self.error(.invalidDate, node, "from \"\(s.string)\" is not an RFC 3339 date-time (e.g. 2026-07-01T00:00:00Z): \(why)")
        }
    }

    /// The entry's keys, refusing unknown ones; each key's key node is kept for error positions.
    private func fields(_ m: Node.Mapping, _ section: String, allowed: [String]) throws(PricingCatalogError) -> [String: (key: Node, value: Node)] {
        var out: [String: (key: Node, value: Node)] = [:]
        for (k, v) in m {
            let name = try key(k)
            guard allowed.contains(name) else {
                throw error(.invalidStructure, k, "unknown key '\(name)' in a \(section) entry (expected \(allowed.joined(separator: ", ")))")
            }
            out[name] = (k, v)
        }
        return out
    }

    private func required(_ f: [String: (key: Node, value: Node)], _ name: String, _ m: Node.Mapping, _ section: String) throws(PricingCatalogError) -> Node {
        guard let v = f[name]?.value else {
            throw PricingCatalogError(code: .invalidStructure, file: file, line: m.mark?.line ?? 0, column: m.mark?.column, reason: "\(section) entry without \(name)")
        }
        return v
    }

    private func computeEntry(_ m: Node.Mapping) throws(PricingCatalogError) -> ComputePrice {
        let f = try fields(m, "compute", allowed: ["host_type", "usd_per_hour", "regions", "from"])
        let host = try scalarString(try required(f, "host_type", m, "compute"), "host_type")
        let perHour = try price(try required(f, "usd_per_hour", m, "compute"), "usd_per_hour")
        var regions: [ComputePrice.RegionPrice] = []
        if let r = f["regions"]?.value {
            guard let rm = r.mapping else { throw error(.invalidStructure, r, "regions must be a mapping of region to price, e.g. { eu-west-1: \"0.107\" }") }
            for (k, v) in rm {
                let region = try scalarString(k, "a region name")
                regions.append(.init(region: region, usdPerHour: try price(v, "the price of region \(region)")))
            }
        }
        let from = try f["from"].map { pair throws(PricingCatalogError) in try instant(pair.value) }
        return ComputePrice(hostType: host, usdPerHour: perHour, regions: regions, from: from, line: m.mark?.line ?? 0)
    }

    private func serverlessEntry(_ m: Node.Mapping) throws(PricingCatalogError) -> ServerlessPrice {
        let f = try fields(m, "serverless", allowed: ["platform", "usd_per_gb_second", "usd_per_invocation", "from"])
        let platform = try scalarString(try required(f, "platform", m, "serverless"), "platform")
        let gbs = try price(try required(f, "usd_per_gb_second", m, "serverless"), "usd_per_gb_second")
        let inv = try price(try required(f, "usd_per_invocation", m, "serverless"), "usd_per_invocation")
        let from = try f["from"].map { pair throws(PricingCatalogError) in try instant(pair.value) }
        return ServerlessPrice(platform: platform, usdPerGBSecond: gbs, usdPerInvocation: inv, from: from, line: m.mark?.line ?? 0)
    }

    private func llmEntry(_ m: Node.Mapping) throws(PricingCatalogError) -> LLMPrice {
        let f = try fields(m, "llm", allowed: [
            "model", "input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok", "cache_write_usd_per_mtok", "from",
        ])
        let model = try scalarString(try required(f, "model", m, "llm"), "model")
        let input = try price(try required(f, "input_usd_per_mtok", m, "llm"), "input_usd_per_mtok")
        func optionalPrice(_ name: String) throws(PricingCatalogError) -> DecimalPrice? {
            guard let v = f[name]?.value else { return nil }
            return try price(v, name)
        }
        return LLMPrice(
            model: model, inputUSDPerMtok: input,
            outputUSDPerMtok: try optionalPrice("output_usd_per_mtok"),
            cachedInputUSDPerMtok: try optionalPrice("cached_input_usd_per_mtok"),
            cacheWriteUSDPerMtok: try optionalPrice("cache_write_usd_per_mtok"),
            from: try f["from"].map { pair throws(PricingCatalogError) in try instant(pair.value) },
            line: m.mark?.line ?? 0)
    }

    private func checkDuplicates(_ c: CatalogContent) throws(PricingCatalogError) {
        struct Key: Hashable { var key: String; var from: EffectiveInstant? }
        func check(_ section: String, _ keyName: String, _ items: [(key: String, from: EffectiveInstant?, line: Int)]) throws(PricingCatalogError) {
            var seen: [Key: Int] = [:]
            for item in items {
                let k = Key(key: item.key, from: item.from)
                if let first = seen[k] {
                    let when = item.from.map { "from \($0)" } ?? "no from"
                    throw PricingCatalogError(
                        code: .duplicateEntry, file: file, line: item.line,
                        reason: "duplicate \(section) entry for \(keyName) \(item.key) with \(when) (first at line \(first))")
                }
                seen[k] = item.line
            }
        }
        try check("compute", "host_type", c.compute.map { ($0.hostType, $0.from, $0.line) })
        try check("serverless", "platform", c.serverless.map { ($0.platform, $0.from, $0.line) })
        try check("llm", "model", c.llm.map { ($0.model, $0.from, $0.line) })
        for entry in c.compute {
            var regions: Set<String> = []
            for r in entry.regions where !regions.insert(r.region).inserted {
                throw PricingCatalogError(code: .duplicateEntry, file: file, line: entry.line, reason: "region \(r.region) listed twice for host_type \(entry.hostType)")
            }
        }
    }
}
