/// What `traceledger pricing import` would change in a catalog: one line per imported price (added,
/// changed, unchanged or skipped) and the catalog's new text.
///
/// Guarantees (checked by ``PriceImporter/plan(catalogText:catalogName:compute:defaultRegion:models:from:)``
/// before it returns, by parsing ``updatedText`` with the same parser as `pricing check`):
/// - the new text is a valid catalog;
/// - at `from`, every imported price is what the new catalog charges (compute: for the price's region;
///   llm: through the first glob matching the model name, as the pricer looks it up);
/// - just before `from`, every key the import touched is charged exactly as the old catalog charged it
///   (new entries are dated, so a replay of older spans gives the same totals);
/// - the rest of the file (comments, order, other entries) is kept byte for byte: entries are inserted
///   as text, never re-serialized.
public struct PriceImportPlan: Sendable {
    /// What the import does with one price: a new entry, a new dated entry, nothing (same effective
    /// price), or nothing because a rule says it cannot (the line says why).
    public enum Change: String, Sendable { case added, changed, unchanged, skipped }

    /// One imported price and what happens to it.
    public struct Line: Sendable, Equatable, CustomStringConvertible {
        public var change: Change
        public var text: String

        public var description: String {
            let mark = switch change {
            case .added: "+"
            case .changed: "~"
            case .unchanged: "="
            case .skipped: "!"
            }
            return "\(mark) \(text)"
        }
    }

    public var lines: [Line]
    /// The catalog after the import (equal to the input text when nothing was added or changed).
    public var updatedText: String

    public func count(_ change: Change) -> Int { lines.filter { $0.change == change }.count }

    /// `added 3, changed 1, unchanged 12, skipped 2`.
    public var summary: String {
        "added \(count(.added)), changed \(count(.changed)), unchanged \(count(.unchanged)), skipped \(count(.skipped))"
    }
}

/// Turns imported prices into a ``PriceImportPlan`` against a catalog's text.
///
/// Rules (README "pricing import"):
/// - Every new entry carries `from:` (the import's date). The entry in force at that date is compared
///   with the import; equal effective prices are `unchanged` and add nothing.
/// - compute: a changed host type gets a copy of its entry in force (regions kept) with the imported
///   region's price replaced (`usd_per_hour` for the default region, else `regions:`). A host type the
///   catalog lacks is added only from the default region (a default price is never guessed from
///   another region's).
/// - llm: a model whose first matching glob is its exact name gets a new dated entry in that group. A
///   model priced so far by a broader glob (`gpt-4o*`) gets its own exact entries inserted just before
///   that glob: copies of the glob's entries (so older spans keep their price) and then the new dated
///   one. An unknown model is appended. Prices the import file leaves out keep the catalog's values.
/// - A key whose catalog already has an entry dated after the import's date is skipped.
/// - An entry with the same key and the same `from` as the new one is replaced in place.
public enum PriceImporter {
    public static func plan(
        catalogText: String, catalogName: String,
        compute: [ImportedComputePrice], defaultRegion: String,
        models: [ImportedModelPrice], from: EffectiveInstant
    ) throws(PriceImportError) -> PriceImportPlan {
        let content = try parse(catalogText, name: catalogName)
        var lines = catalogText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.count == 1 && lines[0].isEmpty { lines = [] }
        var layout = TextLayout(lines: lines, file: catalogName)
        var out: [PriceImportPlan.Line] = []
        var checks: [Check] = []
        let when = "from \(from)"

        // compute
        for price in compute {
            let key = "compute \(price.hostType) \(price.region)"
            let group = content.compute.indices.filter { content.compute[$0].hostType == price.hostType }
            guard let current = latest(group.map { ($0, content.compute[$0].from) }) else {
                guard price.region == defaultRegion else {
                    out.append(.init(change: .skipped, text: "\(key) \(price.usdPerHour)/h: host type not in the catalog and \(price.region) is not the default region (\(defaultRegion)); import \(defaultRegion) first"))
                    continue
                }
                let entry = ComputePrice(hostType: price.hostType, usdPerHour: price.usdPerHour, regions: [], from: from, line: 0)
                try layout.append(section: "compute", lastEntryLine: content.compute.last?.line) { dash in render(entry, dash: dash) }
                out.append(.init(change: .added, text: "\(key) \(price.usdPerHour)/h \(when)"))
                checks.append(.compute(host: price.hostType, region: price.region, price: price.usdPerHour))
                continue
            }
            let entry = content.compute[current]
            if let later = entry.from, later > from {
                out.append(.init(change: .skipped, text: "\(key): the catalog has an entry from \(later), after \(from)"))
                continue
            }
            let old = effective(entry, region: price.region, defaultRegion: defaultRegion)
            guard old != price.usdPerHour else {
                out.append(.init(change: .unchanged, text: "\(key) \(price.usdPerHour)/h"))
                continue
            }
            var updated = entry
            updated.from = from
            if price.region == defaultRegion {
                updated.usdPerHour = price.usdPerHour
            } else if let i = updated.regions.firstIndex(where: { $0.region == price.region }) {
                updated.regions[i].usdPerHour = price.usdPerHour
            } else {
                updated.regions.append(.init(region: price.region, usdPerHour: price.usdPerHour))
            }
            if entry.from == from {
                try layout.replace(entryLine: entry.line) { dash in render(updated, dash: dash) }
            } else {
                let lastInFile = group.map { content.compute[$0].line }.max() ?? entry.line
                try layout.insert(afterEntryLine: lastInFile) { dash in render(updated, dash: dash) }
            }
            out.append(.init(change: .changed, text: "\(key) \(old)/h -> \(price.usdPerHour)/h \(when)"))
            checks.append(.compute(host: price.hostType, region: price.region, price: price.usdPerHour))
        }

        // llm
        for price in models {
            let key = "llm \(price.model)"
            guard let first = firstMatch(content.llm, model: price.model) else {
                let entry = LLMPrice(
                    model: price.model, inputUSDPerMtok: price.inputUSDPerMtok, outputUSDPerMtok: price.outputUSDPerMtok,
                    cachedInputUSDPerMtok: price.cachedInputUSDPerMtok, cacheWriteUSDPerMtok: price.cacheWriteUSDPerMtok,
                    from: from, line: 0)
                try layout.append(section: "llm", lastEntryLine: content.llm.last?.line) { dash in render(entry, dash: dash) }
                out.append(.init(change: .added, text: "\(key) \(describe(entry)) \(when)"))
                checks.append(.llm(model: price.model, prices: Effective(entry)))
                continue
            }
            let glob = content.llm[first].model
            let group = content.llm.indices.filter { content.llm[$0].model == glob }
            let current = content.llm[latest(group.map { ($0, content.llm[$0].from) }) ?? first]
            if let later = current.from, later > from {
                out.append(.init(change: .skipped, text: "\(key): the catalog has an entry for \(glob) from \(later), after \(from)"))
                continue
            }
            var updated = current
            updated.model = price.model
            updated.inputUSDPerMtok = price.inputUSDPerMtok
            updated.outputUSDPerMtok = price.outputUSDPerMtok ?? current.outputUSDPerMtok
            updated.cachedInputUSDPerMtok = price.cachedInputUSDPerMtok ?? current.cachedInputUSDPerMtok
            updated.cacheWriteUSDPerMtok = price.cacheWriteUSDPerMtok ?? current.cacheWriteUSDPerMtok
            updated.from = from
            guard Effective(updated) != Effective(current) else {
                out.append(.init(change: .unchanged, text: "\(key) \(describe(updated))" + (glob == price.model ? "" : " (by glob \(glob))")))
                continue
            }
            if glob == price.model {
                if current.from == from {
                    try layout.replace(entryLine: current.line) { dash in render(updated, dash: dash) }
                } else {
                    let lastInFile = group.map { content.llm[$0].line }.max() ?? current.line
                    try layout.insert(afterEntryLine: lastInFile) { dash in render(updated, dash: dash) }
                }
                out.append(.init(change: .changed, text: "\(key) \(describe(current)) -> \(describe(updated)) \(when)"))
            } else {
                // Own exact entries before the glob: the glob's history, then the new price.
                let history = group.map { content.llm[$0] }.filter { $0.from != from }.map { entry -> LLMPrice in
                    var copy = entry
                    copy.model = price.model
                    return copy
                }
                try layout.insert(beforeEntryLine: content.llm[first].line) { dash in
                    (history + [updated]).flatMap { render($0, dash: dash) }
                }
                out.append(.init(change: .changed, text: "\(key) \(describe(current)) (by glob \(glob)) -> \(describe(updated)) \(when); own entries before \(glob)"))
            }
            checks.append(.llm(model: price.model, prices: Effective(updated)))
        }

        let updatedText = layout.apply().joined(separator: "\n")
        try verify(old: content, newText: updatedText, name: catalogName, checks: checks, from: from, defaultRegion: defaultRegion)
        return PriceImportPlan(lines: out, updatedText: updatedText)
    }

    // MARK: - Lookups (the pricer's rules, on the parsed entries)

    /// The four prices a span is charged with, fallbacks applied.
    struct Effective: Equatable {
        var input, output, cachedInput, cacheWrite: DecimalPrice
        init(_ e: LLMPrice) {
            input = e.inputUSDPerMtok
            output = e.effectiveOutput
            cachedInput = e.effectiveCachedInput
            cacheWrite = e.effectiveCacheWrite
        }
    }

    enum Check {
        case compute(host: String, region: String, price: DecimalPrice)
        case llm(model: String, prices: Effective)
    }

    /// The index with the latest `from` (none counts as earliest); ties keep the first.
    static func latest(_ items: [(Int, EffectiveInstant?)]) -> Int? {
        var best: (Int, EffectiveInstant?)?
        for item in items {
            guard let b = best else { best = item; continue }
            if let f = item.1, b.1 == nil || f > b.1! { best = item }
        }
        return best?.0
    }

    /// The entry in force at `instant`: the latest `from` not after it.
    static func inForce(_ items: [(Int, EffectiveInstant?)], at instant: Int128) -> Int? {
        latest(items.filter { ($0.1?.nanosSinceEpoch ?? Int128.min) <= instant })
    }

    static func effective(_ entry: ComputePrice, region: String, defaultRegion: String) -> DecimalPrice {
        if region != defaultRegion, let r = entry.regions.first(where: { $0.region == region }) { return r.usdPerHour }
        return entry.usdPerHour
    }

    static func firstMatch(_ entries: [LLMPrice], model: String) -> Int? {
        let name = Array(model.utf8)
        return entries.firstIndex { entry in name.withUnsafeBytes { Glob(entry.model).matches($0) } }
    }

    static func computePrice(_ c: CatalogContent, host: String, region: String, defaultRegion: String, at instant: Int128) -> DecimalPrice? {
        let group = c.compute.indices.filter { c.compute[$0].hostType == host }.map { ($0, c.compute[$0].from) }
        return inForce(group, at: instant).map { effective(c.compute[$0], region: region, defaultRegion: defaultRegion) }
    }

    static func llmPrice(_ c: CatalogContent, model: String, at instant: Int128) -> Effective? {
        guard let first = firstMatch(c.llm, model: model) else { return nil }
        let glob = c.llm[first].model
        let group = c.llm.indices.filter { c.llm[$0].model == glob }.map { ($0, c.llm[$0].from) }
        return inForce(group, at: instant).map { Effective(c.llm[$0]) }
    }

    // MARK: - Parsing and verification

    static func parse(_ text: String, name: String) throws(PriceImportError) -> CatalogContent {
        let meaningful = text.split(whereSeparator: \.isNewline).contains { line in
            let t = line.drop { $0 == " " || $0 == "\t" }
            return !t.isEmpty && !t.hasPrefix("#") && t != "---"
        }
        guard meaningful else { return CatalogContent() }
        do {
            return try CatalogParser(file: name).parse(text)
        } catch {
            throw PriceImportError(file: name, reason: "the current catalog is invalid: \(error)")
        }
    }

    static func verify(old: CatalogContent, newText: String, name: String, checks: [Check], from: EffectiveInstant, defaultRegion: String) throws(PriceImportError) {
        let new: CatalogContent
        do {
            new = try CatalogParser(file: name).parse(newText)
        } catch {
            throw PriceImportError(file: name, reason: "internal error: the edited catalog is refused (\(error)); nothing written")
        }
        let at = from.nanosSinceEpoch
        let before = at - 1
        for check in checks {
            switch check {
            case let .compute(host, region, price):
                guard computePrice(new, host: host, region: region, defaultRegion: defaultRegion, at: at) == price,
                      computePrice(new, host: host, region: region, defaultRegion: defaultRegion, at: before)
                        == computePrice(old, host: host, region: region, defaultRegion: defaultRegion, at: before)
                else {
                    throw PriceImportError(file: name, reason: "internal error: the edited catalog does not price compute \(host) \(region) as imported; nothing written")
                }
            case let .llm(model, prices):
                guard llmPrice(new, model: model, at: at) == prices,
                      llmPrice(new, model: model, at: before) == llmPrice(old, model: model, at: before)
                else {
                    throw PriceImportError(file: name, reason: "internal error: the edited catalog does not price llm \(model) as imported; nothing written")
                }
            }
        }
    }

    // MARK: - Rendering

    static func describe(_ e: LLMPrice) -> String {
        var parts = ["input \(e.inputUSDPerMtok)"]
        if let p = e.outputUSDPerMtok { parts.append("output \(p)") }
        if let p = e.cachedInputUSDPerMtok { parts.append("cached_input \(p)") }
        if let p = e.cacheWriteUSDPerMtok { parts.append("cache_write \(p)") }
        return parts.joined(separator: " ")
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func render(_ e: ComputePrice, dash: Int) -> [String] {
        let item = String(repeating: " ", count: dash)
        let field = String(repeating: " ", count: dash + 2)
        var out = ["\(item)- host_type: \(quoted(e.hostType))", "\(field)usd_per_hour: \(quoted(e.usdPerHour.description))"]
        if !e.regions.isEmpty {
            out.append("\(field)regions: { " + e.regions.map { "\(quoted($0.region)): \(quoted($0.usdPerHour.description))" }.joined(separator: ", ") + " }")
        }
        if let from = e.from { out.append("\(field)from: \(quoted(from.description))") }
        return out
    }

    static func render(_ e: LLMPrice, dash: Int) -> [String] {
        let item = String(repeating: " ", count: dash)
        let field = String(repeating: " ", count: dash + 2)
        var out = ["\(item)- model: \(quoted(e.model))", "\(field)input_usd_per_mtok: \(quoted(e.inputUSDPerMtok.description))"]
        if let p = e.outputUSDPerMtok { out.append("\(field)output_usd_per_mtok: \(quoted(p.description))") }
        if let p = e.cachedInputUSDPerMtok { out.append("\(field)cached_input_usd_per_mtok: \(quoted(p.description))") }
        if let p = e.cacheWriteUSDPerMtok { out.append("\(field)cache_write_usd_per_mtok: \(quoted(p.description))") }
        if let from = e.from { out.append("\(field)from: \(quoted(from.description))") }
        return out
    }
}
